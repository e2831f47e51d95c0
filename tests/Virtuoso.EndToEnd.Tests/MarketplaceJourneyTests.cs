using System.Text.Json;
using Virtuoso.EndToEnd.Tests.Support;

namespace Virtuoso.EndToEnd.Tests;

/// <summary>
/// Issue 2's end-to-end proof on real parts: the real front-end, two real agents, real QEMU (TCG) and the
/// project's Linux guest, driven by the real CLI. Prices are the report's Figure 31 (design §3.1).
/// </summary>
[Collection(RealQemu.Name)]
public sealed class MarketplaceJourneyTests
{
    private static readonly TimeSpan Boot = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Buyer_RegistersStoresRunsSuspendsResumesStops_FileSurvivesAndVersionsAgree()
    {
        Assert.True(Repo.GuestImageBuilt, $"the guest image is not built in {Repo.Images}: run guest/build-image.sh (./test does)");
        await using var m = await Marketplace.StartAsync("alpha", "beta");
        await AddHostsAsync(m);

        (await m.CliAsync("b", "signup", "e2e-buyer", "--password", "buyer-pass-1", "--email", "b@example.com", "--buyer")).Ok();
        (await m.CliAsync("b", "login", "e2e-buyer", "--password", "buyer-pass-1")).Ok();
        Assert.Equal(1000m, await BalanceAsync(m));

        // Issue 20 point 2, over the real front-end: API keys made with the session, used through VIRTUOSO_API_KEY from a
        // home with no login. A read key looks and is refused a write; a write key acts; a revoked key is refused.
        var reader = (await m.CliAsync("b", "--json", "tokens", "create", "watch", "--scope", "read", "--expires", "1d")).Ok().Json.GetProperty("key").GetString();
        var writer = (await m.CliAsync("b", "--json", "tokens", "create", "robot", "--scope", "write")).Ok().Json.GetProperty("key").GetString();
        Assert.Equal(1000m, (await m.CliWithKeyAsync("k", reader, "--json", "account")).Ok().Json.GetProperty("balance").GetDecimal());
        var refused = await m.CliWithKeyAsync("k", reader, "register", "--config", "linux-busybox", "--storage-bid", "30", "--running-bid", "3");
        Assert.True(refused.ExitCode == 1 && refused.Stderr.TrimEnd().EndsWith("(read-only-key)", StringComparison.Ordinal), refused.Stderr);
        (await m.CliWithKeyAsync("k", writer, "network", "create", "by-key", "--subnet", "10.42.0.0/24")).Ok();
        Assert.Contains("by-key", (await m.CliAsync("b", "networks")).Ok().Stdout);
        (await m.CliWithKeyAsync("k", writer, "network", "delete", "by-key")).Ok();
        Assert.Contains("watch", (await m.CliAsync("b", "tokens")).Ok().Stdout);
        (await m.CliAsync("b", "tokens", "revoke", "robot")).Ok();
        Assert.EndsWith("(invalid-api-key)", (await m.CliWithKeyAsync("k", writer, "account")).Stderr.TrimEnd());
        Assert.Equal(1000m, await BalanceAsync(m)); // the read key registered nothing

        var id = (await m.CliAsync("b", "--json", "register", "--config", "linux-busybox", "--storage-bid", "30", "--running-bid", "3")).Ok().Json.GetProperty("id").GetGuid();
        Assert.Equal(999.95m, await BalanceAsync(m));

        var search = (await m.CliAsync("b", "--json", "search", id.ToString())).Ok().Json.EnumerateArray().ToList();
        Assert.Equal(["alpha", "beta"], search.Where(h => h.GetProperty("matches").GetBoolean()).Select(h => h.GetProperty("host").GetString()).Order());
        var beta = search.Single(h => h.GetProperty("host").GetString() == "beta");
        Assert.Equal(30m, beta.GetProperty("storageRate").GetDecimal());
        Assert.Equal(0.3744m, beta.GetProperty("runningRate").GetDecimal());

        (await m.CliAsync("b", "store", id.ToString(), "--host", "beta")).Ok();
        Assert.Equal(969.95m, await BalanceAsync(m));
        await AssertVersionsAgreeAsync(m, id, "stored", 1, "stopped");

        (await m.CliAsync("b", "start", id.ToString())).Ok();
        Assert.Equal(969.5756m, await BalanceAsync(m));
        await AssertVersionsAgreeAsync(m, id, "running", 1, "running");
        await SerialConsole.WaitForAsync(() => SerialAsync(m, id), "Virtuoso guest ready", Boot);

        var socket = Path.Combine(m.Agents["beta"].MachineDir(id), "serial.sock");
        await SerialConsole.TypeAsync(socket, "echo e2e-$((6*7))-persisted > /root/e2e.txt; sync");
        await SerialConsole.TypeAsync(socket, "cat /root/e2e.txt");
        await SerialConsole.WaitForAsync(() => SerialAsync(m, id), "e2e-42-persisted", TimeSpan.FromSeconds(20));

        (await m.CliAsync("b", "suspend", id.ToString())).Ok();
        await AssertVersionsAgreeAsync(m, id, "suspended", 2, "suspended");

        (await m.CliAsync("b", "resume", id.ToString())).Ok();
        Assert.Equal(969.5756m, await BalanceAsync(m)); // inside the prepaid hour: nothing charged
        await AssertVersionsAgreeAsync(m, id, "running", 2, "running");
        var before = (await SerialAsync(m, id)).Length;
        await SerialConsole.TypeAsync(socket, "echo resumed-$((40+2))");
        await SerialConsole.WaitForAsync(() => SerialAsync(m, id), "resumed-42", TimeSpan.FromSeconds(20), before);

        (await m.CliAsync("b", "stop", id.ToString())).Ok();
        await AssertVersionsAgreeAsync(m, id, "stopped", 3, "stopped");

        before = (await SerialAsync(m, id)).Length;
        (await m.CliAsync("b", "start", id.ToString())).Ok();
        Assert.Equal(969.5756m, await BalanceAsync(m)); // still prepaid
        await AssertVersionsAgreeAsync(m, id, "running", 3, "running");
        await SerialConsole.WaitForAsync(() => SerialAsync(m, id), "Virtuoso guest ready", Boot, before);
        before = (await SerialAsync(m, id)).Length;
        await SerialConsole.TypeAsync(socket, "cat /root/e2e.txt");
        await SerialConsole.WaitForAsync(() => SerialAsync(m, id), "e2e-42-persisted", TimeSpan.FromSeconds(20), before);

        (await m.CliAsync("b", "stop", id.ToString())).Ok();
        await AssertVersionsAgreeAsync(m, id, "stopped", 4, "stopped");
        (await m.CliAsync("b", "delete", id.ToString())).Ok();
        Assert.False(Directory.Exists(m.Agents["beta"].MachineDir(id)));
    }

    [Fact]
    public async Task BlankConfiguration_StoreAndStartOnBeta_ChargeTheReportsPrices()
    {
        await using var m = await Marketplace.StartAsync("alpha", "beta");
        await AddHostsAsync(m);
        (await m.CliAsync("b", "signup", "blank-buyer", "--password", "buyer-pass-1", "--email", "b@example.com", "--buyer")).Ok();
        (await m.CliAsync("b", "login", "blank-buyer", "--password", "buyer-pass-1")).Ok();
        var id = (await m.CliAsync("b", "--json", "register", "--config", "Configuration1", "--storage-bid", "3", "--running-bid", "1")).Ok().Json.GetProperty("id").GetGuid();
        var balance = await BalanceAsync(m);
        (await m.CliAsync("b", "store", id.ToString(), "--host", "beta")).Ok();
        Assert.Equal(balance - 3m, await BalanceAsync(m));
        (await m.CliAsync("b", "start", id.ToString())).Ok();
        Assert.Equal(balance - 3.2016m, await BalanceAsync(m));
        await AssertVersionsAgreeAsync(m, id, "running", 1, "running");
        // A blank machine runs QEMU's firmware, which finds no OS: suspend works on it all the same.
        (await m.CliAsync("b", "suspend", id.ToString())).Ok();
        await AssertVersionsAgreeAsync(m, id, "suspended", 2, "suspended");
        (await m.CliAsync("b", "delete", id.ToString())).Ok();
    }

    private static async Task AddHostsAsync(Marketplace m)
    {
        (await m.CliAsync("p", "signup", "e2e-provider", "--password", "provider-pass", "--email", "p@example.com", "--provider")).Ok();
        (await m.CliAsync("p", "login", "e2e-provider", "--password", "provider-pass")).Ok();
        foreach (var (name, memoryPrice, storagePrice) in new[] { ("alpha", "0.00001", "0.01"), ("beta", "0.000001", "0.1") })
        {
            var a = m.Agents[name];
            (await m.CliAsync("p", "host", "add", name, "--address", "127.0.0.1", "--port", a.Port.ToString(), "--processor", "x86_64",
                "--speed", "10000", "--speed-unit", "1000", "--speed-price", "0.00001", "--memory", "4096", "--memory-unit", "4",
                "--memory-price", memoryPrice, "--running-period", "3600", "--storage", "20000", "--storage-unit", "100",
                "--storage-price", storagePrice, "--storage-period", "30", "--connect-speed", "1Gbps", "--secret", a.Secret)).Ok();
        }
        var market = (await m.CliAsync("p", "--json", "market")).Ok().Json.EnumerateArray().ToList();
        Assert.Equal(2, market.Count);
    }

    private static async Task<decimal> BalanceAsync(Marketplace m) =>
        (await m.CliAsync("b", "--json", "account")).Ok().Json.GetProperty("balance").GetDecimal();

    private static async Task<string> SerialAsync(Marketplace m, Guid id) => (await m.CliAsync("b", "serial", id.ToString())).Ok().Stdout;

    /// <summary>§7.1.5: the front-end's and the agent's versions are equal after every completed action.</summary>
    private static async Task AssertVersionsAgreeAsync(Marketplace m, Guid id, string state, long version, string agentState)
    {
        var machine = (await m.CliAsync("b", "--json", "machine", id.ToString())).Ok().Json;
        Assert.Equal(state, machine.GetProperty("state").GetString());
        Assert.Equal(version, machine.GetProperty("version").GetInt64());
        var onAgent = await m.AgentMachineAsync(machine.GetProperty("host").GetString()!, id);
        Assert.Equal(agentState, onAgent.State);
        Assert.Equal(version, onAgent.Version);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealQemu
{
    public const string Name = "real QEMU";
}
