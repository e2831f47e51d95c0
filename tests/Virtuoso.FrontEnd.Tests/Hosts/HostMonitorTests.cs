using Virtuoso.Contracts.Api;
using Virtuoso.Contracts.Agent;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Hosts;

/// <summary>HostMonitorTests on SQLite, the default dialect.</summary>
public sealed class HostMonitorTests(MarketFixture market) : HostMonitorTests<MarketFixture>(market);

/// <summary>HostMonitorTests on PostgreSQL, production's dialect.</summary>
public sealed class HostMonitorPostgresTests(PostgresMarketFixture market) : HostMonitorTests<PostgresMarketFixture>(market);

/// <summary>
/// HostMonitor through the API: it polls every agent (every 0.2 s here) and records machines whose guest
/// powered itself off as stopped, without ever mistaking a stale answer for a power-off.
/// </summary>
public abstract class HostMonitorTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20); // generous: the machine may be loaded

    [Fact]
    public async Task Monitor_PollsEveryAgentSeveralTimesASecond()
    {
        var before = market.Alpha.Lists;

        await Task.Delay(TimeSpan.FromSeconds(2));

        // Every 0.2 s, so about ten; at least three even on a loaded machine, while the default 5 s would give at most one.
        Assert.InRange(market.Alpha.Lists - before, 3, 20);
    }

    /// <summary>Issue 17: the share the agent enforces and what it measures reach the buyer and the provider; use only while running.</summary>
    [Fact]
    public async Task CpuShareAndUse_AreCopiedFromTheAgent_UseOnlyWhileRunning()
    {
        var buyer = await market.SharedBuyerAsync();
        var (stored, host) = await buyer.StoredMachineAsync();
        // Stored with 4000 of the host's 1000000 bogomips on the fake's 2 cores: 0.008 cores on 1 vCPU.
        Assert.Equal((8L, 1), (market.Spare.Machines[stored.Id].CpuMillicores, market.Spare.Machines[stored.Id].Vcpus));
        var shown = await Eventually(() => buyer.MachineAsync(stored.Id), m => m.CpuShare is not null);
        Assert.Equal((0.008m, 1, null as decimal?, null as long?), (shown.CpuShare, shown.Vcpus, shown.CpuUsed, shown.MemoryUsedMb));

        await buyer.ActAsync(stored.Id, "start");
        market.Spare.Usage[stored.Id] = (7, 180);
        var running = await Eventually(() => buyer.MachineAsync(stored.Id), m => m.CpuUsed is not null);
        Assert.Equal((0.008m, 0.007m, 180L), (running.CpuShare, running.CpuUsed, running.MemoryUsedMb));
        var hosts = await Session.Ok<HostResponse[]>(await market.Provider.GetAsync("/api/v1/hosts"));
        var seen = Assert.Single(hosts.Single(h => h.Name == host.Name).Machines!, x => x.Id == stored.Id);
        Assert.Equal((0.008m, 0.007m), (seen.CpuShare, seen.CpuUsed));

        await buyer.ActAsync(stored.Id, "stop");
        var stopped = await buyer.MachineAsync(stored.Id);
        Assert.Equal((0.008m, null as decimal?, null as long?), (stopped.CpuShare, stopped.CpuUsed, stopped.MemoryUsedMb));
        market.Spare.Usage.TryRemove(stored.Id, out _);
    }

    [Fact]
    public async Task GuestPoweringItselfOff_IsRecordedAsStoppedAtTheSameVersionWithAnEvent()
    {
        var buyer = await market.SharedBuyerAsync();
        var (stored, _) = await buyer.StoredMachineAsync();
        var running = await buyer.ActAsync(stored.Id, "start");

        market.Spare.PowerOff(stored.Id);

        var stopped = await Eventually(() => buyer.MachineAsync(stored.Id), m => m.State == "stopped");
        Assert.Equal(running.Version, stopped.Version);
        Assert.Equal((AgentStates.Stopped, running.Version), (market.Spare.Machines[stored.Id].State, market.Spare.Machines[stored.Id].Version));
        Assert.Contains(await buyer.EventsAsync(stored.Id), e => e.Kind == "powered-off");
        // Prepaid time was kept: starting again within the hour charges nothing.
        var balance = await buyer.BalanceAsync();
        Assert.Equal("running", (await buyer.ActAsync(stored.Id, "start")).State);
        Assert.Equal(balance, await buyer.BalanceAsync());
    }

    [Fact]
    public async Task Start_WhileAStaleAgentListIsInFlight_StaysRunning()
    {
        var buyer = await market.SharedBuyerAsync();
        var (stored, _) = await buyer.StoredMachineAsync();
        // The monitor asks the agent for its machines; the answer, fixed now (this one stopped), is held back ...
        market.Spare.Hold("list");
        try
        {
            await Eventually(() => Task.FromResult(market.Spare.Held("list")), n => n > 0);
            // ... while the buyer starts it ...
            var running = await buyer.ActAsync(stored.Id, "start");
            var lists = market.Spare.Lists;
            // ... and arrives after the start committed. The monitor's next list means it has acted on that answer.
            market.Spare.Release("list");
            await Eventually(() => Task.FromResult(market.Spare.Lists), n => n > lists);
        }
        finally
        {
            market.Spare.Release("list");
        }

        var now = await buyer.MachineAsync(stored.Id);
        Assert.True(now.State == "running", $"the front-end says {now.State} (version {now.Version}) while the agent says {market.Spare.Machines[stored.Id].State}");
        Assert.DoesNotContain(await buyer.EventsAsync(stored.Id), e => e.Kind == "powered-off");
    }

    private static async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline) return value;
            await Task.Delay(50);
        }
    }
}
