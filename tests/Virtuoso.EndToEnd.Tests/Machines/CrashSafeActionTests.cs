using System.Globalization;
using Microsoft.Data.Sqlite;
using Virtuoso.Contracts.Agent;
using Virtuoso.EndToEnd.Tests.Support;

namespace Virtuoso.EndToEnd.Tests.Machines;

/// <summary>
/// Issue 13's fault matrix, end to end on the real front-end, real agents and real QEMU: each machine action (store,
/// start, stop, suspend, resume, delete, and the eviction of a deleted host's machines) crashed at each point — the
/// front-end killed (SIGKILL) before its agent call, after the agent acted and before the commit, after the commit and
/// before the answer; the agent killed in the middle of the action; the agent unreachable (frozen with SIGSTOP) while
/// the front-end waits for it. After the front-end or agent is back and the reconciler has run, the machine must be on
/// exactly one host, in the same state and at the same version on the front-end and the agent, its QEMU alive exactly
/// when it is running, every ledger key once and all balances summing to zero. One marketplace serves every case (the
/// front-end restarts with the crash point of each); machines are blank (Configuration1): no guest needs to boot.
/// </summary>
[Collection(RealQemu.Name)]
public sealed class CrashSafeActionTests(CrashSafeActionTests.Market market) : IClassFixture<CrashSafeActionTests.Market>
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var action in new[] { "store", "start", "stop", "suspend", "resume", "delete", "host-delete" })
            foreach (var point in new[] { "before-agent", "after-agent", "after-commit" })
                data.Add(action, "front-end:" + point);
        foreach (var action in new[] { "store", "start", "stop", "suspend", "resume", "delete" })
        {
            data.Add(action, "agent:killed");
            data.Add(action, "agent:unreachable");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Action_CrashedAtAnyPoint_EndsWithFrontEndAndAgentAgreeing(string action, string fault)
    {
        var m = market.M;
        var host = action == "host-delete" ? "alpha" : "beta";
        var id = await market.MachineReadyForAsync(action, host);
        var before = await market.MachineJsonAsync(id);

        switch (fault.Split(':'))
        {
            case ["front-end", var point]:
                await m.RestartFrontEndAsync(new Dictionary<string, string?> { ["Virtuoso__CrashAt"] = $"{IntentName(action)}:{point}" });
                var crashed = await market.ActAsync(action, id, host);
                Assert.True(crashed.ExitCode != 0, $"`{crashed.Command}` answered although the front-end was to die at {point}: {crashed.Stdout}");
                await m.WaitFrontEndGoneAsync(TimeSpan.FromSeconds(30));
                await m.RestartFrontEndAsync(new Dictionary<string, string?> { ["Virtuoso__CrashAt"] = null });
                break;
            case ["agent", "killed"]:
                await m.Agents[host].Process.StopAsync();
                var crashing = await m.StartAgentAsync(host, "--crash-at", $"{AgentVerb(action)}:after-vmm");
                var failed = await market.ActAsync(action, id, host);
                Assert.True(failed.ExitCode != 0, $"`{failed.Command}` succeeded although the agent was to die: {failed.Stdout}");
                await crashing.Process.WaitForExitAsync(TimeSpan.FromSeconds(30));
                await m.StartAgentAsync(host);
                break;
            case ["agent", "unreachable"]:
                var agent = m.Agents[host].Process;
                agent.Signal("STOP");
                try
                {
                    var timedOut = await market.ActAsync(action, id, host);
                    Assert.True(timedOut.ExitCode != 0, $"`{timedOut.Command}` succeeded although the agent was frozen: {timedOut.Stdout}");
                    Assert.Contains("busy until it answers", timedOut.Stderr);
                    var busy = await market.MachineJsonAsync(id);
                    Assert.True(busy!.Value.GetProperty("busy").GetBoolean(), "the machine is busy while its host does not confirm the action");
                }
                finally
                {
                    agent.Signal("CONT");
                }
                break;
        }

        var after = await market.SettledAsync(id);
        await market.AssertAgreeAsync(id, after);
        // The action was asked and the marketplace rolls it forward: it happened once, whatever the crash.
        var expected = Expected(action, fault);
        Assert.True(expected == (after is null ? null : after.Value.GetProperty("state").GetString()),
            $"{action} with {fault}: expected {expected ?? "gone"}, found {after?.GetProperty("state").GetString() ?? "gone"} (before: {before})");
        if (after is { } a && expected is not null && expected != before!.Value.GetProperty("state").GetString())
        {
            var step = action is "store" or "stop" or "suspend" or "host-delete" ? 1 : 0;
            // An agent killed after QEMU stopped but before it recorded the stop finds the guest powered off at the old
            // version when it restarts; the stop is closed and the host monitor records the machine stopped there.
            if (action == "stop" && fault == "agent:killed") step = 0;
            Assert.Equal(before!.Value.GetProperty("version").GetInt64() + step, a.GetProperty("version").GetInt64());
        }
        await market.AssertLedgerAsync();
        await market.RemoveAsync(id, after);
    }

    /// <summary>The state the machine ends in: the action happened, once.</summary>
    private static string? Expected(string action, string fault) => action switch
    {
        "store" => "stored",
        "start" or "resume" => "running",
        "stop" => "stopped",
        "suspend" => "suspended",
        "delete" => null,
        "host-delete" => "registered",
        _ => throw new ArgumentOutOfRangeException(nameof(action)),
    };

    private static string IntentName(string action) => action == "host-delete" ? "evict" : action;

    private static string AgentVerb(string action) => action == "store" ? "create" : action;

    /// <summary>The marketplace shared by the cases: alpha and beta, a provider and a buyer, short leases and timeouts.</summary>
    public sealed class Market : IAsyncLifetime
    {
        internal Marketplace M { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            M = await Marketplace.StartAsync(60, new Dictionary<string, string>
            {
                ["Virtuoso__IntentLeaseSeconds"] = "2",       // a dead front-end's intents are taken over at once
                ["Virtuoso__ReconcileIntervalSeconds"] = "0.5",
                ["Virtuoso__AgentTimeoutSeconds"] = "8",      // a frozen agent is given up on quickly
            }, ["--stop-timeout", "2"], "alpha", "beta");   // blank machines ignore ACPI: do not wait 20 s for each to power off
            (await M.CliAsync("p", "signup", "crash-provider", "--password", "provider-pass", "--email", "p@example.com", "--provider")).Ok();
            (await M.CliAsync("p", "login", "crash-provider", "--password", "provider-pass")).Ok();
            await AddHostAsync("beta");
            (await M.CliAsync("b", "signup", "crash-buyer", "--password", "buyer-pass-1", "--email", "b@example.com", "--buyer")).Ok();
            (await M.CliAsync("b", "login", "crash-buyer", "--password", "buyer-pass-1")).Ok();
        }

        public async Task DisposeAsync() => await M.DisposeAsync();

        public async Task AddHostAsync(string name)
        {
            var a = M.Agents[name];
            (await M.CliAsync("p", "host", "add", name, "--address", "127.0.0.1", "--port", a.Port.ToString(CultureInfo.InvariantCulture), "--processor", "x86_64",
                "--speed", "200000", "--speed-unit", "1000", "--speed-price", "0.00001", "--memory", "10000000", "--memory-unit", "4",
                "--memory-price", "0.000001", "--running-period", "3600", "--storage", "10000000", "--storage-unit", "100",
                "--storage-price", "0.1", "--storage-period", "30", "--connect-speed", "1Gbps", "--secret", a.Secret)).Ok();
        }

        /// <summary>A fresh machine in the state the action starts from, on <paramref name="host"/> (added again after a host-delete case).</summary>
        public async Task<Guid> MachineReadyForAsync(string action, string host)
        {
            if ((await M.CliAsync("p", "--json", "hosts")).Ok().Json.EnumerateArray().All(h => h.GetProperty("name").GetString() != host))
                await AddHostAsync(host);
            var id = (await M.CliAsync("b", "--json", "register", "--config", "Configuration1", "--storage-bid", "30", "--running-bid", "3")).Ok().Json.GetProperty("id").GetGuid();
            if (action == "store") return id;
            (await M.CliAsync("b", "store", id.ToString(), "--host", host)).Ok();
            if (action is "start" or "delete") return id;
            (await M.CliAsync("b", "start", id.ToString())).Ok();
            if (action is "resume") (await M.CliAsync("b", "suspend", id.ToString())).Ok();
            return id;
        }

        internal Task<CliResult> ActAsync(string action, Guid id, string host) => action switch
        {
            "store" => M.CliAsync("b", "store", id.ToString(), "--host", host),
            "host-delete" => M.CliAsync("p", "host", "delete", host),
            _ => M.CliAsync("b", action, id.ToString()),
        };

        /// <summary>Stops and deletes a case's machine, so that QEMUs do not pile up on the two cores.</summary>
        public async Task RemoveAsync(Guid id, System.Text.Json.JsonElement? machine)
        {
            if (machine is not { } m) return;
            if (m.GetProperty("state").GetString() == "running") (await M.CliAsync("b", "stop", id.ToString())).Ok();
            (await M.CliAsync("b", "delete", id.ToString())).Ok();
        }

        /// <summary>The machine as the buyer sees it, or null once it is deleted.</summary>
        public async Task<System.Text.Json.JsonElement?> MachineJsonAsync(Guid id)
        {
            var r = await M.CliAsync("b", "--json", "machine", id.ToString());
            return r.ExitCode == 0 ? r.Json.Clone() : null;
        }

        /// <summary>Waits until no action holds the machine and its host says what the front-end says (the reconciler, the host monitor).</summary>
        public async Task<System.Text.Json.JsonElement?> SettledAsync(Guid id)
        {
            var deadline = DateTime.UtcNow.AddSeconds(90);
            string last = "";
            while (DateTime.UtcNow < deadline)
            {
                var machine = await MachineJsonAsync(id);
                if (machine is null) return null;
                var m = machine.Value;
                if (!m.GetProperty("busy").GetBoolean())
                {
                    var state = m.GetProperty("state").GetString();
                    var version = m.GetProperty("version").GetInt64();
                    var host = m.TryGetProperty("host", out var h) && h.ValueKind == System.Text.Json.JsonValueKind.String ? h.GetString() : null;
                    var agent = host is null ? null : await AgentAsync(host, id);
                    last = $"{state} v{version} on {host ?? "no host"}; agent: {agent?.State ?? "nothing"} v{agent?.Version}";
                    if (host is null || agent is not null && agent.State == AgentStateOf(state!) && agent.Version == version) return m;
                }
                else last = "busy";
                await Task.Delay(250);
            }
            throw new Xunit.Sdk.XunitException($"machine {id} did not settle within 90 s: {last}\n{M.FrontEnd.Tail()}");
        }

        /// <summary>Exactly one host holds it (none when registered or deleted), in the front-end's state and version, its QEMU alive exactly when running.</summary>
        public async Task AssertAgreeAsync(Guid id, System.Text.Json.JsonElement? machine)
        {
            var holders = new List<(string Host, AgentMachine Machine)>();
            foreach (var name in M.Agents.Keys)
                if (await AgentAsync(name, id) is { } held) holders.Add((name, held));
            if (machine is not { } m || m.GetProperty("state").GetString() == "registered")
            {
                Assert.True(holders.Count == 0, $"machine {id} is {(machine is null ? "deleted" : "registered")} but {string.Join(", ", holders.Select(h => $"{h.Host} holds it {h.Machine.State}"))}");
                return;
            }
            var (host, agent) = Assert.Single(holders);
            Assert.Equal(m.GetProperty("host").GetString(), host);
            Assert.Equal(AgentStateOf(m.GetProperty("state").GetString()!), agent.State);
            Assert.Equal(m.GetProperty("version").GetInt64(), agent.Version);
            var running = m.GetProperty("state").GetString() == "running";
            Assert.Equal(running, agent.Pid is { } pid && Directory.Exists($"/proc/{pid}"));
        }

        /// <summary>Every ledger key once, all balances summing to zero, and each machine's charges matching the periods it records.</summary>
        public async Task AssertLedgerAsync()
        {
            await using var c = new SqliteConnection($"Data Source={M.Database};Mode=ReadOnly;Pooling=False");
            await c.OpenAsync();
            await using var sum = c.CreateCommand();
            sum.CommandText = "SELECT balance FROM accounts";
            var total = 0m;
            await using (var r = await sum.ExecuteReaderAsync())
                while (await r.ReadAsync()) total += decimal.Parse(r.GetString(0), CultureInfo.InvariantCulture);
            Assert.Equal(0m, total);
            await using var dup = c.CreateCommand();
            dup.CommandText = "SELECT COUNT(*) FROM (SELECT key FROM transfers GROUP BY key HAVING COUNT(*) > 1)";
            Assert.Equal(0L, (long)(await dup.ExecuteScalarAsync())!);
            await using var periods = c.CreateCommand();
            periods.CommandText = "SELECT m.id, m.running_periods_charged, (SELECT COUNT(*) FROM transfers t WHERE t.key LIKE 'machine:' || REPLACE(m.id, '-', '') || ':stay:' || m.stay || ':running:%') " +
                "FROM machines m WHERE m.host IS NOT NULL";
            await using var p = await periods.ExecuteReaderAsync();
            while (await p.ReadAsync())
                Assert.True(p.GetInt64(1) == p.GetInt64(2), $"machine {p.GetString(0)} records {p.GetInt64(1)} running periods charged, the ledger {p.GetInt64(2)}");
        }

        private async Task<AgentMachine?> AgentAsync(string host, Guid id)
        {
            try { return await M.AgentMachineAsync(host, id); }
            catch (HttpRequestException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound) { return null; }
        }

        private static string AgentStateOf(string state) => state switch
        {
            "running" => AgentStates.Running,
            "suspended" => AgentStates.Suspended,
            _ => AgentStates.Stopped,
        };
    }
}
