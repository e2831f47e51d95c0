using System.Net;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Billing;
using Virtuoso.Core.Machines;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Machines;
using Virtuoso.FrontEnd.Tests.Accounting;
using Virtuoso.FrontEnd.Tests.Support;
using Xunit.Abstractions;

namespace Virtuoso.FrontEnd.Tests.Machines;

/// <summary>
/// Issue 13's deterministic simulation: a buyer's machines on two hosts of a fake agent, driven by a seeded random through
/// thousands of actions, each with a chance of a crash at one of the front-end's crash points (before the agent call,
/// after it acted, after the commit), of the agent failing, of its answer being lost after it acted, or of the host being
/// unreachable; the clock jumps by minutes to hours and the billing daemon passes in between. Every few steps the
/// reconciler ends what was left open, and then the invariants must hold: no intent open, every machine on exactly the
/// host the front-end says, in the same state and at the same version as its agent holds it, no copy on an agent that the
/// front-end does not place there, every charge key at most once and matching the periods the machine records as charged,
/// and all balances summing to zero. A failing run prints its seed; VIRTUOSO_SIM_SEED and VIRTUOSO_SIM_STEPS replay one.
/// </summary>
public sealed class IntentSimulationTests(ITestOutputHelper output)
{
    /// <summary>Thrown at a crash point instead of killing the process: the request dies there, nothing after it runs.</summary>
    private sealed class SimulatedCrash(string where) : Exception($"simulated crash at {where}");

    private sealed class SimulatedCrashPoints(IOptions<MarketOptions> options) : CrashPoints(options)
    {
        public string? Armed { get; set; }
        public int Hits { get; private set; }

        public override void Hit(IntentAction action, string point)
        {
            var at = $"{IntentRow.Text(action)}:{point}";
            if (Armed is null || Armed != at) return;
            Armed = null;
            Hits++;
            throw new SimulatedCrash(at);
        }
    }

    private static readonly string[] Points = ["before-agent", "after-agent", "after-commit"];
    private static readonly string[] Verbs = ["store", "start", "stop", "suspend", "resume", "delete"];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task RandomActionsWithCrashesEverywhere_AfterReconciling_FrontEndAndAgentAgreeAndMoneyBalances(int seed)
    {
        if (Environment.GetEnvironmentVariable("VIRTUOSO_SIM_SEED") is { Length: > 0 } chosen) seed = int.Parse(chosen);
        var steps = Environment.GetEnvironmentVariable("VIRTUOSO_SIM_STEPS") is { Length: > 0 } n ? int.Parse(n) : 2000;
        try
        {
            await RunAsync(seed, steps);
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException($"simulation seed {seed} failed (replay: VIRTUOSO_SIM_SEED={seed} VIRTUOSO_SIM_STEPS={steps}): {e}");
        }
    }

    private async Task RunAsync(int seed, int steps)
    {
        var random = new Random(seed);
        await using var market = await ClockedMarket.StartAsync(services: s =>
        {
            s.RemoveAll<CrashPoints>();
            s.AddSingleton<CrashPoints, SimulatedCrashPoints>();
        });
        var crash = (SimulatedCrashPoints)market.Service<CrashPoints>();
        var options = market.Service<IOptions<MarketOptions>>().Value;
        var agent = market.Agent;
        var hosts = new[] { (await market.AddHostAsync()).Name, (await market.AddHostAsync()).Name };
        await market.Provider.PostAsync($"/api/v1/hosts/{hosts[1]}", null); // nothing: keeps the provider session warm
        var buyer = await market.SignupAsync(Roles.Buyer, "sim-buyer");

        int crashes = 0, agentFaults = 0, actions = 0;
        for (var step = 1; step <= steps; step++)
        {
            // The buyer's machines as the front-end lists them now (the reconciler may have deleted one since).
            // The buyer tops up when low, so that money runs short now and then (a refused commit is undone) but never for long.
            if (await buyer.BalanceAsync() < 20m)
                Assert.Equal(HttpStatusCode.Created, (await (await market.OperatorAsync()).PostAsync("/api/v1/deposits",
                    new DepositRequest(buyer.Username, 300m, $"sim top-up {step}"))).StatusCode);
            var listed = await buyer.MachinesAsync();
            if (listed.Count < 3)
                listed.Add(await buyer.RegisterAsync("Configuration1", 3m, 1m));
            var pick = listed[random.Next(listed.Count)];
            var id = pick.Id;
            // Mostly an action the machine's state allows (so that it reaches the agent), now and then any action at all.
            var offered = pick.Actions.Intersect(Verbs).ToList();
            var verb = offered.Count > 0 && random.Next(8) > 0 ? offered[random.Next(offered.Count)] : Verbs[random.Next(Verbs.Length)];
            var fault = random.Next(10);
            var hitsBefore = crash.Hits;
            bool crashHit(SimulatedCrashPoints c) => c.Hits > hitsBefore;
            if (fault < 7)
            {
                crash.Armed = $"{verb}:{Points[random.Next(Points.Length)]}";
                crashes++;
            }
            else if (fault == 7) { agent.FailNext(AgentOperation(verb)); agentFaults++; }
            else if (fault == 8) { agent.LoseNextAnswer(AgentOperation(verb)); agentFaults++; }
            else if (fault == 9 && random.Next(2) == 0) { agent.Down = true; agentFaults++; }

            var response = verb == "store"
                ? await buyer.StoreRawAsync(id, hosts[random.Next(hosts.Length)])
                : verb == "delete" ? await buyer.DeleteAsync($"/api/v1/machines/{id:D}") : await buyer.PostAsync($"/api/v1/machines/{id:D}/{verb}");
            actions++;
            if ((int)response.StatusCode == 500 && !crashHit(crash)) Assert.Fail($"step {step}: {verb} answered 500: {await response.Content.ReadAsStringAsync()}");
            crash.Armed = null;
            agent.ClearFaults();
            if (random.Next(3) == 0)
                agent.Down = random.Next(4) == 0; // the reconciler may find the host unreachable and must wait

            // Time passes: minutes to a few hours; the billing daemon charges what began meanwhile.
            market.Clock.Advance(TimeSpan.FromMinutes(random.Next(1, 240)));
            if (random.Next(2) == 0)
            {
                await market.SeeHostsAsync();
                await market.Service<BillingDaemon>().PassAsync();
            }
            if (random.Next(2) == 0)
                await market.Service<IntentReconciler>().PassAsync();

            if (step % 25 == 0 || step == steps)
                await SettleAndCheckAsync(market, options, step);
        }
        output.WriteLine($"seed {seed}: {steps} steps, {actions} actions, {crashes} crash points armed ({crash.Hits} hit), {agentFaults} agent faults");
        Assert.True(crash.Hits > steps / 5, $"only {crash.Hits} crashes happened: the simulation does not exercise the crash points");
    }

    private static string AgentOperation(string verb) => verb == "store" ? "create" : verb;

    /// <summary>The agent answers again; the reconciler runs until nothing is open; then every invariant must hold.</summary>
    private static async Task SettleAndCheckAsync(ClockedMarket market, MarketOptions options, int step)
    {
        market.Agent.ClearFaults();
        var reconciler = market.Service<IntentReconciler>();
        for (var pass = 0; pass < 5; pass++)
        {
            market.Clock.Advance(TimeSpan.FromSeconds(options.IntentLeaseSeconds + 1));
            await market.SeeHostsAsync();
            await reconciler.PassAsync();
            if (await market.Database.CountAsync("SELECT COUNT(*) FROM machine_intents") == 0) break;
        }
        var db = market.Database.Database;
        Assert.True(await market.Database.CountAsync("SELECT COUNT(*) FROM machine_intents") == 0, $"step {step}: intents still open after reconciling");
        Assert.True(await market.Database.CountAsync("SELECT COUNT(*) FROM machines WHERE intent IS NOT NULL") == 0, $"step {step}: a machine is still held");

        var rows = (await db.ReadAsync(c => c.QueryAsync<MachineRow>($"SELECT {MachineRow.Columns} FROM machines"))).ToList();
        var onAgent = market.Agent.Machines;
        foreach (var m in rows)
        {
            onAgent.TryGetValue(m.Id.Value, out var held);
            var expected = m.StoredState switch
            {
                "registered" => null,
                "stored" or "stopped" => AgentStates.Stopped,
                "running" => AgentStates.Running,
                "suspended" => AgentStates.Suspended,
                _ => throw new Xunit.Sdk.XunitException($"step {step}: machine {m.Id} is {m.State}"),
            };
            Assert.True(expected == held?.State, $"step {step}: machine {m.Id} is {m.State} v{m.Version} on {m.Host ?? "no host"}, the agent holds {held?.State ?? "nothing"} v{held?.Version}");
            if (held is not null)
                Assert.True(m.Version == held.Version, $"step {step}: machine {m.Id} is {m.State} at v{m.Version}, the agent at v{held.Version}");
            if (m.Host is not null)
            {
                var stay = m.Stay;
                var storage = await market.Database.CountAsync("SELECT COUNT(*) FROM transfers WHERE key LIKE @k", ("k", $"machine:{m.Id.Value:N}:stay:{stay}:storage:%"));
                var running = await market.Database.CountAsync("SELECT COUNT(*) FROM transfers WHERE key LIKE @k", ("k", $"machine:{m.Id.Value:N}:stay:{stay}:running:%"));
                Assert.True(storage == m.StoragePeriodsCharged, $"step {step}: machine {m.Id} records {m.StoragePeriodsCharged} storage periods charged, the ledger {storage}");
                Assert.True(running == m.RunningPeriodsCharged, $"step {step}: machine {m.Id} records {m.RunningPeriodsCharged} running periods charged, the ledger {running}");
            }
        }
        var known = rows.Select(r => r.Id.Value).ToHashSet();
        foreach (var (id, held) in onAgent)
            Assert.True(known.Contains(id), $"step {step}: the agent holds machine {id} ({held.State} v{held.Version}) that the front-end no longer has");
        Assert.Equal(0m, (await market.Database.BalancesAsync()).Values.Sum());
        Assert.Equal(0L, await market.Database.CountAsync("SELECT COUNT(*) FROM (SELECT key FROM transfers GROUP BY key HAVING COUNT(*) > 1) d"));
    }
}
