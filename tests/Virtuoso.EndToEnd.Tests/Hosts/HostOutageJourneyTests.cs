using System.Globalization;
using Microsoft.Data.Sqlite;
using Virtuoso.EndToEnd.Tests.Support;

namespace Virtuoso.EndToEnd.Tests.Hosts;

/// <summary>
/// Issue 13, hosts that go offline, on the real front-end, agent and QEMU: a running machine's agent is frozen
/// (SIGSTOP, as a host cut off the network) past the grace period (3 s here); the machine is shown host offline and no
/// running period (5 s here, billed every second) is charged while it is; when the agent answers again the guest is found
/// still running and charged from then on. Then the guest dies while its host is unreachable (its QEMU is killed): when
/// the host answers, the machine is recorded stopped at the same version, as the agent holds it.
/// </summary>
[Collection(RealQemu.Name)]
public sealed class HostOutageJourneyTests
{
    [Fact]
    public async Task FrozenHost_ChargesNoRunningPeriods_ThenTheGuestIsFoundRunning_OrRecordedStopped()
    {
        await using var m = await Marketplace.StartAsync(1, new Dictionary<string, string> { ["Virtuoso__HostOfflineGraceSeconds"] = "3" },
            ["--stop-timeout", "2"], "beta");
        (await m.CliAsync("p", "signup", "outage-provider", "--password", "provider-pass", "--email", "p@example.com", "--provider")).Ok();
        (await m.CliAsync("p", "login", "outage-provider", "--password", "provider-pass")).Ok();
        var a = m.Agents["beta"];
        (await m.CliAsync("p", "host", "add", "beta", "--address", "127.0.0.1", "--port", a.Port.ToString(CultureInfo.InvariantCulture), "--processor", "x86_64",
            "--speed", "10000", "--speed-unit", "1000", "--speed-price", "0.00001", "--memory", "4096", "--memory-unit", "4",
            "--memory-price", "0.000001", "--running-period", "5", "--storage", "20000", "--storage-unit", "100",
            "--storage-price", "0.1", "--storage-period", "30", "--connect-speed", "1Gbps", "--secret", a.Secret)).Ok();
        (await m.CliAsync("b", "signup", "outage-buyer", "--password", "buyer-pass-1", "--email", "b@example.com", "--buyer")).Ok();
        (await m.CliAsync("b", "login", "outage-buyer", "--password", "buyer-pass-1")).Ok();
        var id = (await m.CliAsync("b", "--json", "register", "--config", "Configuration1", "--storage-bid", "30", "--running-bid", "3")).Ok().Json.GetProperty("id").GetGuid();
        (await m.CliAsync("b", "store", id.ToString(), "--host", "beta")).Ok();
        (await m.CliAsync("b", "start", id.ToString())).Ok();
        await UntilAsync(async () => await RunningChargesAsync(m, id) >= 2, "two running periods charged while the host answers");

        a.Process.Signal("STOP");
        long during;
        try
        {
            await UntilAsync(async () => (await MachineAsync(m, id)).GetProperty("hostOffline").GetBoolean(), "the machine shown host offline");
            during = await RunningChargesAsync(m, id);
            await Task.Delay(TimeSpan.FromSeconds(12)); // more than two 5 s periods, with a billing pass every second
            Assert.Equal(during, await RunningChargesAsync(m, id));
        }
        finally
        {
            a.Process.Signal("CONT");
        }
        await UntilAsync(async () => !(await MachineAsync(m, id)).GetProperty("hostOffline").GetBoolean(), "the host back");
        var back = await MachineAsync(m, id);
        Assert.Equal(("running", 1L), (back.GetProperty("state").GetString(), back.GetProperty("version").GetInt64()));
        await UntilAsync(async () => await RunningChargesAsync(m, id) > during, "running charged again once the host answers");
        Assert.Contains("kept running", (await m.CliAsync("b", "events", "--machine", id.ToString())).Ok().Stdout);

        // The guest dies while its host is unreachable.
        a.Process.Signal("STOP");
        try
        {
            await UntilAsync(async () => (await MachineAsync(m, id)).GetProperty("hostOffline").GetBoolean(), "the machine shown host offline again");
            var pid = int.Parse(await File.ReadAllTextAsync(Path.Combine(a.MachineDir(id), "qemu.pid")), CultureInfo.InvariantCulture);
            System.Diagnostics.Process.GetProcessById(pid).Kill();
        }
        finally
        {
            a.Process.Signal("CONT");
        }
        await UntilAsync(async () => (await MachineAsync(m, id)).GetProperty("state").GetString() == "stopped", "the dead guest recorded stopped");
        var stopped = await MachineAsync(m, id);
        Assert.Equal((1L, false), (stopped.GetProperty("version").GetInt64(), stopped.GetProperty("hostOffline").GetBoolean()));
        var onAgent = await m.AgentMachineAsync("beta", id);
        Assert.Equal(("stopped", 1L), (onAgent.State, onAgent.Version));
        Assert.Contains("found stopped", (await m.CliAsync("b", "events", "--machine", id.ToString())).Ok().Stdout);
        Assert.Equal(0m, await BalanceSumAsync(m));
    }

    private static async Task<System.Text.Json.JsonElement> MachineAsync(Marketplace m, Guid id) =>
        (await m.CliAsync("b", "--json", "machine", id.ToString())).Ok().Json.Clone();

    private static async Task<long> RunningChargesAsync(Marketplace m, Guid id)
    {
        await using var c = new SqliteConnection($"Data Source={m.Database};Mode=ReadOnly;Pooling=False");
        await c.OpenAsync();
        await using var q = c.CreateCommand();
        q.CommandText = "SELECT COUNT(*) FROM transfers WHERE machine = $m AND kind = 'running'";
        q.Parameters.AddWithValue("$m", id.ToString("D"));
        return (long)(await q.ExecuteScalarAsync())!;
    }

    private static async Task<decimal> BalanceSumAsync(Marketplace m)
    {
        await using var c = new SqliteConnection($"Data Source={m.Database};Mode=ReadOnly;Pooling=False");
        await c.OpenAsync();
        await using var q = c.CreateCommand();
        q.CommandText = "SELECT balance FROM accounts";
        var sum = 0m;
        await using var r = await q.ExecuteReaderAsync();
        while (await r.ReadAsync()) sum += decimal.Parse(r.GetString(0), CultureInfo.InvariantCulture);
        return sum;
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException($"timed out waiting for {what}");
            await Task.Delay(250);
        }
    }
}
