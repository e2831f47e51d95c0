using System.Text.Json;
using Virtuoso.Contracts.Agent;
using Virtuoso.EndToEnd.Tests.Support;

namespace Virtuoso.EndToEnd.Tests.Migration;

/// <summary>
/// Issue 4 items 2 and 4 on real parts: the real front-end's migration agent and VMMP listener, two real agents with their
/// VMMP servers, real QEMU (TCG) and the project's Linux guest, driven by the real CLI. A suspended machine moves with SCP
/// from alpha to beta, resumes there with its memory and disk, and every version agrees.
/// </summary>
[Collection(RealQemu.Name)]
public sealed class MigrationJourneyTests
{
    private static readonly TimeSpan Boot = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Buyer_SuspendsOnAlpha_MigratesWithScpThroughTheCli_ResumesOnBeta_VersionsAgree_OneArrivalCharge()
    {
        Assert.True(Repo.GuestImageBuilt, $"the guest image is not built in {Repo.Images}: run guest/build-image.sh (./test does)");
        await using var m = await Marketplace.StartAsync("alpha", "beta");
        (await m.CliAsync("p", "signup", "mig-provider", "--password", "provider-pass", "--email", "p@example.com", "--provider")).Ok();
        (await m.CliAsync("p", "login", "mig-provider", "--password", "provider-pass")).Ok();
        foreach (var (name, memoryPrice, storagePrice) in new[] { ("alpha", "0.00001", "0.01"), ("beta", "0.000001", "0.1") })
        {
            (await m.CliAsync("p", "host", "add", name, "--address", "127.0.0.1", "--port", m.Agents[name].Port.ToString(), "--processor", "x86_64",
                "--speed", "10000", "--speed-unit", "1000", "--speed-price", "0.00001", "--memory", "4096", "--memory-unit", "4",
                "--memory-price", memoryPrice, "--running-period", "3600", "--storage", "20000", "--storage-unit", "100",
                "--storage-price", storagePrice, "--storage-period", "30", "--connect-speed", "1Gbps", "--secret", m.Agents[name].Secret)).Ok();
        }
        // Issue 19: /metrics answers on the front-end and each agent, and its counters move with the journey (compared at the end).
        var (feBefore, alphaBefore, betaBefore) = (await m.FrontEndMetricsAsync(), await m.AgentMetricsAsync("alpha"), await m.AgentMetricsAsync("beta"));
        var market = (await m.CliAsync("p", "--json", "market")).Ok().Json.EnumerateArray().ToList();
        Assert.All(market, h => Assert.True(h.GetProperty("vmmpPort").GetInt32() > 0, $"{h.GetProperty("name")} has no VMMP port"));

        (await m.CliAsync("b", "signup", "mig-buyer", "--password", "buyer-pass-1", "--email", "b@example.com", "--buyer")).Ok();
        (await m.CliAsync("b", "login", "mig-buyer", "--password", "buyer-pass-1")).Ok();
        var id = (await m.CliAsync("b", "--json", "register", "--config", "linux-busybox", "--storage-bid", "30", "--running-bid", "3")).Ok().Json.GetProperty("id").GetGuid();
        (await m.CliAsync("b", "store", id.ToString(), "--host", "alpha")).Ok();
        (await m.CliAsync("b", "start", id.ToString())).Ok();
        await SerialConsole.WaitForAsync(() => SerialAsync(m, id), "Virtuoso guest ready", Boot);
        var socket = Path.Combine(m.Agents["alpha"].MachineDir(id), "serial.sock");
        await SerialConsole.TypeAsync(socket, "echo moved-$((6*7)) > /root/moved.txt; sync; X=kept-in-memory-$((40+2))");
        await SerialConsole.TypeAsync(socket, "cat /root/moved.txt");
        await SerialConsole.WaitForAsync(() => SerialAsync(m, id), "moved-42", TimeSpan.FromSeconds(20));
        (await m.CliAsync("b", "suspend", id.ToString())).Ok();
        await AssertVersionsAgreeAsync(m, id, "alpha", "suspended", 2, AgentStates.Suspended);
        var balance = await BalanceAsync(m);

        // Where can it go? beta, with SCP among its methods and the arrival charge (one storage period at beta's price).
        var targets = (await m.CliAsync("b", "--json", "migrate", id.ToString())).Ok().Json;
        var beta = targets.GetProperty("hosts").EnumerateArray().Single(h => h.GetProperty("host").GetString() == "beta");
        Assert.Contains("SCP", beta.GetProperty("methods").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal(30m, beta.GetProperty("arrivalCharge").GetDecimal());

        var migrated = (await m.CliAsync("b", "--json", "migrate", id.ToString(), "--host", "beta", "--method", "SCP")).Ok().Json;
        Assert.Equal(("done", "alpha", "beta", 2L), (migrated.GetProperty("phase").GetString(), migrated.GetProperty("from").GetString(),
            migrated.GetProperty("to").GetString(), migrated.GetProperty("version").GetInt64()));
        await AssertVersionsAgreeAsync(m, id, "beta", "suspended", 3, AgentStates.Suspended);
        Assert.False(Directory.Exists(m.Agents["alpha"].MachineDir(id)), "alpha still holds the machine as its own");

        // One arrival charge, at beta's price, under the new stay's key; the buyer paid exactly that.
        Assert.Equal(balance - 30m, await BalanceAsync(m));
        var ledger = (await m.CliAsync("b", "--json", "ledger", "--machine", id.ToString())).Ok().Json.EnumerateArray().ToList();
        var arrival = Assert.Single(ledger, t => t.GetProperty("key").GetString() == $"machine:{id:N}:stay:2:storage:1");
        Assert.Equal(("storage", 30m), (arrival.GetProperty("kind").GetString(), arrival.GetProperty("amount").GetDecimal()));
        Assert.Equal(2, ledger.Count(t => t.GetProperty("kind").GetString() == "storage"));

        // It resumes on beta with its memory (the shell variable) and its disk (the file).
        (await m.CliAsync("b", "resume", id.ToString())).Ok();
        await AssertVersionsAgreeAsync(m, id, "beta", "running", 3, AgentStates.Running);
        socket = Path.Combine(m.Agents["beta"].MachineDir(id), "serial.sock");
        var before = (await SerialAsync(m, id)).Length;
        await SerialConsole.TypeAsync(socket, "echo \"$X\"; cat /root/moved.txt");
        await SerialConsole.WaitForAsync(() => SerialAsync(m, id), "kept-in-memory-42", TimeSpan.FromSeconds(30), before);
        await SerialConsole.WaitForAsync(() => SerialAsync(m, id), "moved-42", TimeSpan.FromSeconds(30), before);
        (await m.CliAsync("b", "stop", id.ToString())).Ok();
        await AssertVersionsAgreeAsync(m, id, "beta", "stopped", 4, AgentStates.Stopped);

        var (fe, alpha, betaAfter) = (await m.FrontEndMetricsAsync(), await m.AgentMetricsAsync("alpha"), await m.AgentMetricsAsync("beta"));
        foreach (var action in new[] { "store", "start", "suspend", "resume", "stop" })
            Assert.True(Moved(feBefore, fe, "virtuoso_machine_actions_total", ("action", action), ("outcome", "committed")) == 1, $"front-end's {action} not counted once");
        Assert.Equal(1, Moved(feBefore, fe, "virtuoso_migrations_started_total", ("method", "SCP")));
        Assert.Equal(1, Moved(feBefore, fe, "virtuoso_migrations_ended_total", ("method", "SCP"), ("outcome", "committed")));
        Assert.True(Moved(feBefore, fe, "virtuoso_migration_transferred_bytes_total", ("method", "SCP")) > 0, "the migration's bytes on the wire are counted");
        Assert.Equal(1, fe.Sum("virtuoso_machines", ("state", "stopped")));
        Assert.Equal(2, fe.Sum("virtuoso_hosts", ("status", "online")));
        foreach (var action in new[] { "create", "start", "suspend" })
            Assert.True(Moved(alphaBefore, alpha, "virtuoso_agent_machine_actions_total", ("action", action), ("outcome", "ok")) == 1, $"alpha's {action} not counted once");
        foreach (var action in new[] { "resume", "stop" })
            Assert.True(Moved(betaBefore, betaAfter, "virtuoso_agent_machine_actions_total", ("action", action), ("outcome", "ok")) == 1, $"beta's {action} not counted once");
        Assert.Equal((0d, 1d), (alpha.Sum("virtuoso_agent_machines"), betaAfter.Sum("virtuoso_agent_machines")));
        Assert.Equal(0, betaAfter.Sum("virtuoso_agent_qemu_processes"));
        Assert.True(betaAfter.Sum("virtuoso_agent_disk_free_bytes") > 0);
    }

    private static double Moved(Virtuoso.FrontEnd.Tests.Support.PrometheusText before, Virtuoso.FrontEnd.Tests.Support.PrometheusText after, string name,
        params (string, string)[] labels) => after.Sum(name, labels) - before.Sum(name, labels);

    private static async Task<decimal> BalanceAsync(Marketplace m) =>
        (await m.CliAsync("b", "--json", "account")).Ok().Json.GetProperty("balance").GetDecimal();

    private static async Task<string> SerialAsync(Marketplace m, Guid id) => (await m.CliAsync("b", "serial", id.ToString())).Ok().Stdout;

    /// <summary>§7.1.5: the front-end's and the holding agent's versions are equal after every completed action.</summary>
    private static async Task AssertVersionsAgreeAsync(Marketplace m, Guid id, string host, string state, long version, string agentState)
    {
        var machine = (await m.CliAsync("b", "--json", "machine", id.ToString())).Ok().Json;
        Assert.Equal((state, version, host), (machine.GetProperty("state").GetString(), machine.GetProperty("version").GetInt64(), machine.GetProperty("host").GetString()));
        var onAgent = await m.AgentMachineAsync(host, id);
        Assert.Equal((agentState, version), (onAgent.State, onAgent.Version));
    }
}
