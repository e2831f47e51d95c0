using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Billing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Hosts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Billing;

/// <summary>
/// The billing daemon against a fake clock (design §4): charges at the beginning of each cycle, each period once under
/// its own key, storage always, running only while running and only when the buyer can pay (else a suspend).
/// Machines are Configuration1 (4000 bogomips, 64 MB, 100 MB) on hosts priced like virt13 unless a test says
/// otherwise: 0.2016 per 3600 s of running, 3 per 30 days of storage (design §3.1, Figure 20).
/// </summary>
public sealed class BillingDaemonTests : IAsyncLifetime
{
    private const decimal Running = 0.2016m;
    private const decimal Storage = 3m;
    private const decimal Fee = 0.05m;
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);

    private BillingMarket _market = null!;
    private Session _provider = null!;
    private Session _buyer = null!;
    private HostResponse _host = null!;
    private FakeAgent _agent = null!;

    public async Task InitializeAsync()
    {
        _market = await BillingMarket.CreateAsync();
        var users = await Task.WhenAll(_market.SignupAsync(Roles.Provider), _market.SignupAsync(Roles.Buyer));
        (_provider, _buyer) = (users[0], users[1]);
        (_host, _agent) = await _market.AddHostAsync(_provider, Virt13);
    }

    public async Task DisposeAsync() => await _market.DisposeAsync();

    private TestClock Clock => _market.Clock;
    private DateTimeOffset Now => Clock.GetUtcNow();

    /// <summary>virt13's prices (Figure 31) on a roomy host.</summary>
    internal static AddHostRequest Virt13(string name, FakeAgent agent) =>
        HostSpecs.Virt13(name, agent) with { Speed = 1_000_000, Memory = 1_000_000, Storage = 1_000_000 };

    private async Task<Guid> StoredAsync(Session? buyer = null, HostResponse? host = null)
    {
        var b = _market.As(buyer ?? _buyer);
        var machine = await b.RegisterAsync("Configuration1", 1_000_000m, 1_000_000m);
        await b.StoreAsync(machine.Id, (host ?? _host).Name);
        return machine.Id;
    }

    private async Task<Guid> RunningAsync(Session? buyer = null, HostResponse? host = null)
    {
        var id = await StoredAsync(buyer, host);
        await _market.As(buyer ?? _buyer).ActAsync(id, "start");
        return id;
    }

    private Task<MachineResponse> ActAsync(Guid id, string verb, Session? buyer = null) => _market.As(buyer ?? _buyer).ActAsync(id, verb);

    /// <summary>The machine's charges as (kind, period, amount), in ledger order.</summary>
    private async Task<List<(string Kind, long Period, decimal Amount)>> ChargesAsync(Guid id) =>
        [.. (await _market.TransfersAsync(id)).Where(t => t.Kind is TransferKinds.Storage or TransferKinds.Running)
            .Select(t => (t.Kind, long.Parse(t.Key[(t.Key.LastIndexOf(':') + 1)..]), t.Dollars))];

    private async Task<int> CountAsync(Guid id, string kind) => (await ChargesAsync(id)).Count(c => c.Kind == kind);

    private async Task PassAsync() => await _market.PassAsync();

    // ---- issue 18: low balance ----

    [Fact]
    public async Task LowBalance_IsToldWhenAPassTakesTheBalanceUnderTheThreshold_OncePerCrossing()
    {
        var buyer = _market.As(_buyer);
        var id = await StoredAsync(); // 1000 - fee - the first 3 of storage: 996.95
        var arrived = Now;
        await buyer.SendAsync(HttpMethod.Put, "/api/v1/notifications/settings", new NotificationSettings(994m));
        async Task<List<NotificationResponse>> LowAsync() =>
            (await Session.Ok<List<NotificationResponse>>(await buyer.GetAsync("/api/v1/notifications"))).Where(n => n.Kind == "balance-low").ToList();

        Clock.SetUtcNow(arrived + 30 * Day);
        await PassAsync(); // 993.95: under 994
        var low = Assert.Single(await LowAsync());
        Assert.Equal(("Your balance fell to $993.95, under the $994 you asked to be told at. Add money to keep your machines running.", null as Guid?),
            (low.Text, low.Machine));

        Clock.SetUtcNow(arrived + 60 * Day);
        await PassAsync(); // 990.95: still under, not told again
        Assert.Single(await LowAsync());

        await _market.DepositAsync(_buyer.Username, 10m, "top-up-" + id); // 1000.95
        await buyer.SendAsync(HttpMethod.Put, "/api/v1/notifications/settings", new NotificationSettings(999m));
        Clock.SetUtcNow(arrived + 90 * Day);
        await PassAsync(); // 997.95: a second crossing
        Assert.Equal(2, (await LowAsync()).Count);
        Assert.Equal(997.95m, await buyer.BalanceAsync());
    }

    [Fact]
    public async Task LowBalance_WithoutAThreshold_IsNeverTold()
    {
        await StoredAsync();
        Clock.Advance(95 * Day);
        await PassAsync();

        Assert.DoesNotContain(await _market.As(_buyer).EventsAsync(), e => e.Kind == "balance-low");
    }

    // ---- storage ----

    [Fact]
    public async Task Storage_IsChargedOnArrival_ThenAtTheBeginningOfEveryPeriod_Once_EvenIn31DayMonths()
    {
        var id = await StoredAsync();
        var arrived = Now;
        Assert.Equal([(TransferKinds.Storage, 1L, Storage)], await ChargesAsync(id));
        // Stored on January 1st: in a 31-day month, the second 30-day period begins on the 31st, not on February 1st.
        Assert.Equal(new DateTimeOffset(2025, 1, 31, 0, 0, 0, TimeSpan.Zero), arrived + 30 * Day);

        for (var i = 0; i < 5; i++) await PassAsync();
        Clock.SetUtcNow(arrived + 30 * Day - TimeSpan.FromMilliseconds(1));
        await PassAsync();
        Assert.Equal(1, await CountAsync(id, TransferKinds.Storage));

        Clock.SetUtcNow(arrived + 30 * Day);
        for (var i = 0; i < 5; i++) await PassAsync();
        Assert.Equal([(TransferKinds.Storage, 1L, Storage), (TransferKinds.Storage, 2L, Storage)], await ChargesAsync(id));
        Assert.Equal(1000m - Fee - 2 * Storage, await _market.As(_buyer).BalanceAsync());
        await _market.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task Storage_AfterAClockJumpOf95Days_ChargesThreeMorePeriodsAtOnce_EachUnderItsOwnKey()
    {
        var id = await StoredAsync();
        var arrived = Now;

        Clock.Advance(95 * Day);
        var result = await _market.PassAsync();

        Assert.Equal(3, result.StorageCharges);
        var transfers = (await _market.TransfersAsync(id)).Where(t => t.Kind == TransferKinds.Storage).ToList();
        Assert.Equal([1L, 2L, 3L, 4L], transfers.Select(t => long.Parse(t.Key[(t.Key.LastIndexOf(':') + 1)..])));
        Assert.Equal(4, transfers.Select(t => t.Key).Distinct().Count());
        Assert.All(transfers, t => Assert.Equal(ChargeKey.Storage(id, 1, long.Parse(t.Key[(t.Key.LastIndexOf(':') + 1)..])), t.Key));
        Assert.All(transfers, t => Assert.Equal((Storage, _buyer.Username, _provider.Username), (t.Dollars, t.FromAccount, t.ToAccount)));
        // The machine's next storage period begins 120 days after arrival; passes until then charge nothing.
        Assert.Equal((arrived + 120 * Day).ToUnixTimeMilliseconds(), (await _market.MachineAsync(id)).NextStorageAt);
        Assert.Equal(0, (await _market.PassAsync()).StorageCharges);
        await _market.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task Storage_WithoutAnyPassForDays_IsCaughtUpByTheNextPass_AndRepeatedPassesChangeNothing()
    {
        var id = await StoredAsync();
        var arrived = Now;
        var lastPass = 0;

        // (day, passes that day): days without a pass charge nothing until the next pass catches up.
        foreach (var (day, passes) in new[] { (7, 1), (14, 0), (29, 2), (30, 1), (31, 3), (45, 0), (59, 1), (60, 0), (61, 0), (89, 0), (90, 1), (200, 2) })
        {
            Clock.SetUtcNow(arrived + day * Day);
            for (var i = 0; i < passes; i++) await PassAsync();
            if (passes > 0) lastPass = day;
            Assert.Equal(lastPass / 30 + 1, await CountAsync(id, TransferKinds.Storage));
        }
        Assert.Equal(Enumerable.Range(1, 200 / 30 + 1).Select(k => (TransferKinds.Storage, (long)k, Storage)), await ChargesAsync(id));
        await _market.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task Storage_IsChargedEvenIntoANegativeBalance_AndTheProviderIsCreditedInFull()
    {
        var id = await StoredAsync();
        // Leave the buyer 1 dollar: less than one storage period.
        var balance = await _market.As(_buyer).BalanceAsync();
        await _market.TransferAsync("test:withdraw", TransferKinds.Deposit, balance - 1m, _buyer.Username, "deposits");

        Clock.Advance(60 * Day);
        await PassAsync();

        Assert.Equal(3, await CountAsync(id, TransferKinds.Storage));
        Assert.Equal(1m - 2 * Storage, await _market.As(_buyer).BalanceAsync());
        var balances = await _market.BalancesAsync();
        Assert.Equal(1000m + 3 * Storage, balances[_provider.Username]); // its opening credit and every period
        await _market.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task StoppedAndStoredMachines_AreNeverChargedForRunning()
    {
        var stored = await StoredAsync();
        var stopped = await RunningAsync();
        await ActAsync(stopped, "stop");

        Clock.Advance(10 * Day);
        await PassAsync();

        Assert.Equal(0, await CountAsync(stored, TransferKinds.Running));
        Assert.Equal(1, await CountAsync(stopped, TransferKinds.Running));
    }

    // ---- running ----

    [Fact]
    public async Task Running_IsChargedOnStart_ThenOncePerPeriodUsed()
    {
        var id = await RunningAsync();
        var started = Now;
        Assert.Equal([(TransferKinds.Storage, 1L, Storage), (TransferKinds.Running, 1L, Running)], await ChargesAsync(id));

        for (var minutes = 10; minutes <= 5 * 60; minutes += 10)
        {
            Clock.SetUtcNow(started + TimeSpan.FromMinutes(minutes));
            await PassAsync();
            await PassAsync();
            Assert.Equal(minutes / 60 + 1, await CountAsync(id, TransferKinds.Running));
        }
        var running = (await ChargesAsync(id)).Where(c => c.Kind == TransferKinds.Running).ToList();
        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L], running.Select(c => c.Period));
        Assert.All(running, c => Assert.Equal(Running, c.Amount));
        await _market.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task Running_PeriodBoundaryExactlyAtAPass_IsChargedAtThatPass()
    {
        var id = await RunningAsync();
        var started = Now;

        Clock.SetUtcNow(started + Hour - TimeSpan.FromMilliseconds(1));
        await PassAsync();
        Assert.Equal(1, await CountAsync(id, TransferKinds.Running));

        Clock.SetUtcNow(started + Hour);
        var result = await _market.PassAsync();
        Assert.Equal(1, result.RunningCharges);
        Assert.Equal(2, await CountAsync(id, TransferKinds.Running));
        var machine = await _market.MachineAsync(id);
        Assert.Equal((started + 2 * Hour).ToUnixTimeMilliseconds(), machine.RunningDueAt);

        // Stopped at that same instant, it keeps the whole period it was just charged for.
        await ActAsync(id, "stop");
        Assert.Equal(3600m, (await _market.MachineAsync(id)).SecondsUsed);
        Clock.Advance(Day);
        await _market.As(_buyer).ActAsync(id, "start");
        Assert.Equal(2, await CountAsync(id, TransferKinds.Running));
    }

    [Fact]
    public async Task Running_StoppedOneSecondBeforeThePeriodEnds_IsNotChargedAgain_AndKeepsOneSecond()
    {
        var id = await RunningAsync();
        var started = Now;

        Clock.SetUtcNow(started + Hour - TimeSpan.FromSeconds(1));
        await PassAsync();
        await ActAsync(id, "stop");
        Clock.Advance(30 * Day);
        await PassAsync();

        Assert.Equal(1, await CountAsync(id, TransferKinds.Running));
        Assert.Equal(3599m, (await _market.MachineAsync(id)).SecondsUsed);

        // Started again: that second is used first, without a charge; the next period begins one second later.
        var restart = Now;
        await ActAsync(id, "start");
        Assert.Equal(1, await CountAsync(id, TransferKinds.Running));
        Assert.Equal((restart + TimeSpan.FromSeconds(1)).ToUnixTimeMilliseconds(), (await _market.MachineAsync(id)).RunningDueAt);
        Clock.SetUtcNow(restart + TimeSpan.FromMilliseconds(999));
        await PassAsync();
        Assert.Equal(1, await CountAsync(id, TransferKinds.Running));
        Clock.SetUtcNow(restart + TimeSpan.FromSeconds(1));
        await PassAsync();
        Assert.Equal(2, await CountAsync(id, TransferKinds.Running));
    }

    [Fact]
    public async Task Running_StopAndSuspendKeepPrepaidTime_OnlyRunningTimeIsConsumed()
    {
        var id = await RunningAsync();

        // Run 20 minutes three times with long pauses in between: one period covers it all.
        for (var i = 0; i < 3; i++)
        {
            Clock.Advance(TimeSpan.FromMinutes(20) - TimeSpan.FromSeconds(1));
            await PassAsync();
            await ActAsync(id, i % 2 == 0 ? "stop" : "suspend");
            Clock.Advance(7 * Day);
            await PassAsync();
            await ActAsync(id, i % 2 == 0 ? "start" : "resume");
        }
        Assert.Equal(1, await CountAsync(id, TransferKinds.Running));
        Assert.Equal(3 * (1200m - 1m), (await _market.MachineAsync(id)).SecondsUsed);

        Clock.Advance(TimeSpan.FromSeconds(3));
        await PassAsync();
        Assert.Equal(2, await CountAsync(id, TransferKinds.Running));
    }

    [Fact]
    public async Task Running_StoppedWhileTheDaemonWasDown_IsStillChargedForEveryPeriodBegunWhileItRan()
    {
        var id = await RunningAsync();

        // No pass for 2.5 hours of running (the daemon was down); the buyer stops the machine before it comes back.
        Clock.Advance(TimeSpan.FromHours(2.5));
        await ActAsync(id, "stop");
        await PassAsync();

        // Periods 2 and 3 began while it ran (at 1 h and 2 h): charged at the beginning of each cycle, daemon or not.
        Assert.Equal([1L, 2L, 3L], (await ChargesAsync(id)).Where(c => c.Kind == TransferKinds.Running).Select(c => c.Period));
        var machine = await _market.MachineAsync(id);
        Assert.Equal((3L, 9000m), (machine.RunningPeriodsCharged, machine.SecondsUsed));
        // Started again, it first uses the half hour left of period 3.
        await ActAsync(id, "start");
        Assert.Equal(3, await CountAsync(id, TransferKinds.Running));
        await _market.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task Running_SuspendedWhileTheDaemonWasDown_IsChargedOnlyWhatTheBuyerCanPay()
    {
        var id = await RunningAsync();
        await SetBalanceAsync(_buyer, Running + 0.1m);

        Clock.Advance(TimeSpan.FromHours(2.5));
        await ActAsync(id, "suspend");
        await PassAsync();

        // Period 2 is covered, period 3 is not: a running charge is never made into a negative balance.
        Assert.Equal(2, await CountAsync(id, TransferKinds.Running));
        Assert.Equal(0.1m, await _market.As(_buyer).BalanceAsync());
        await _market.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task Running_PoweredOffWhileTheDaemonWasDown_IsStillChargedForEveryPeriodBegunWhileItRan()
    {
        var id = await RunningAsync();

        // The guest powers itself off 2.5 hours into its run with no pass in between; the host monitor records the stop.
        Clock.Advance(TimeSpan.FromHours(2.5));
        _agent.PowerOff(id);
        await _market.FrontEnd.Services.GetServices<IHostedService>().OfType<HostMonitor>().Single().CheckAllAsync();
        Assert.Equal("stopped", (await _market.As(_buyer).MachineAsync(id)).State);
        await PassAsync();

        Assert.Equal([1L, 2L, 3L], (await ChargesAsync(id)).Where(c => c.Kind == TransferKinds.Running).Select(c => c.Period));
        await _market.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task Running_AfterAClockJumpOfDays_ChargesEveryPeriodBegunWhileRunning()
    {
        var id = await RunningAsync();

        Clock.Advance(2 * Day + TimeSpan.FromMinutes(30));
        var result = await _market.PassAsync();

        Assert.Equal(48, result.RunningCharges);
        Assert.Equal(Enumerable.Range(1, 49).Select(k => (long)k),
            (await ChargesAsync(id)).Where(c => c.Kind == TransferKinds.Running).Select(c => c.Period));
    }

    [Fact]
    public async Task Prices_OfOneBillionthOfADollar_AreChargedExactly()
    {
        // Running: (1 chunk × $0.0000000000005 + 1 chunk × $0.0000000000005) per second × 1000 s = $0.000000001 per
        // period; storage: 1 chunk × $0.000000001 per day × 1 day.
        var (host, _) = await _market.AddHostAsync(_provider, (name, agent) => Virt13(name, agent) with
        {
            SpeedUnit = 4000, SpeedPrice = 0.0000000000005m, MemoryUnit = 64, MemoryPrice = 0.0000000000005m, RunningPeriod = 1000,
            StorageUnit = 100, StoragePrice = 0.000000001m, StoragePeriod = 1,
        });
        var id = await RunningAsync(host: host);
        var before = await _market.As(_buyer).BalanceAsync();

        Clock.Advance(TimeSpan.FromSeconds(1000));
        await PassAsync();
        Clock.Advance(Day - TimeSpan.FromSeconds(1000));
        await PassAsync();

        var charges = await ChargesAsync(id);
        Assert.All(charges, c => Assert.Equal(0.000000001m, c.Amount));
        Assert.Equal(2, charges.Count(c => c.Kind == TransferKinds.Storage));
        Assert.Equal(86_400 / 1000 + 1, charges.Count(c => c.Kind == TransferKinds.Running));
        Assert.Equal(before - (86 + 1) * 0.000000001m, await _market.As(_buyer).BalanceAsync());
        Assert.All(await _market.TransfersAsync(id), t => Assert.True(t.Amount is "0.000000001" or "0.05", t.Amount));
        await _market.AssertLedgerConsistentAsync();
    }

    // ---- funds ----

    /// <summary>Leaves <paramref name="buyer"/> exactly <paramref name="balance"/>.</summary>
    private async Task SetBalanceAsync(Session buyer, decimal balance)
    {
        var now = await _market.As(buyer).BalanceAsync();
        var key = $"test:adjust:{Guid.NewGuid():N}";
        if (now > balance) await _market.TransferAsync(key, TransferKinds.Deposit, now - balance, buyer.Username, "deposits");
        else if (now < balance) await _market.DepositAsync(buyer.Username, balance - now, key);
        Assert.Equal(balance, await _market.As(buyer).BalanceAsync());
    }

    [Fact]
    public async Task Running_AChargeEqualToTheBalance_IsMadeAndLeavesExactlyZero_TheNextOneSuspends()
    {
        var id = await RunningAsync();
        var started = Now;
        await SetBalanceAsync(_buyer, Running);

        Clock.SetUtcNow(started + Hour);
        var covered = await _market.PassAsync();
        Assert.Equal((1, 0), (covered.RunningCharges, covered.Suspended.Count));
        Assert.Equal(0m, await _market.As(_buyer).BalanceAsync());
        Assert.Equal("running", (await _market.As(_buyer).MachineAsync(id)).State);

        Clock.SetUtcNow(started + 2 * Hour);
        var uncovered = await _market.PassAsync();
        Assert.Equal((0, id), (uncovered.RunningCharges, Assert.Single(uncovered.Suspended)));
        Assert.Equal(0m, await _market.As(_buyer).BalanceAsync());
        Assert.Equal("suspended", (await _market.As(_buyer).MachineAsync(id)).State);
        Assert.Equal(2, await CountAsync(id, TransferKinds.Running));
        await _market.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task Running_StartWithABalanceOfExactlyOnePeriod_IsAllowed_AndLeavesZero()
    {
        var id = await StoredAsync();
        await SetBalanceAsync(_buyer, Running);

        var started = await ActAsync(id, "start");

        Assert.Equal("running", started.State);
        Assert.Equal(0m, await _market.As(_buyer).BalanceAsync());
        // At exactly zero the buyer may still resume within prepaid time (not negative).
        await ActAsync(id, "suspend");
        Assert.Equal("running", (await ActAsync(id, "resume")).State);
    }

    [Fact]
    public async Task Running_AnUnpayableCharge_SuspendsTheMachineOnTheAgent_WithAnEvent_AndChargesNothing()
    {
        var id = await RunningAsync();
        var started = Now;
        var version = (await _market.As(_buyer).MachineAsync(id)).Version;
        await SetBalanceAsync(_buyer, Running - 0.000000001m);
        var before = await _market.BalancesAsync();

        Clock.SetUtcNow(started + Hour + TimeSpan.FromMinutes(5));
        var result = await _market.PassAsync();

        Assert.Equal(id, Assert.Single(result.Suspended));
        var machine = await _market.As(_buyer).MachineAsync(id);
        Assert.Equal(("suspended", version + 1), (machine.State, machine.Version));
        Assert.Equal((AgentStates.Suspended, version + 1), (_agent.Machines[id].State, _agent.Machines[id].Version));
        Assert.Contains($"suspend {id:D}", _agent.Calls);
        Assert.Equal(1, await CountAsync(id, TransferKinds.Running));
        Assert.Equal(before, await _market.BalancesAsync());
        var events = await _market.As(_buyer).EventsAsync(id);
        var unpaid = Assert.Single(events, e => e.Kind == "suspended-unpaid");
        Assert.Contains("0.2016", unpaid.Message);
        // What it ran beyond its prepaid hour is kept as used: resuming charges the next period first.
        Assert.Equal(3900m, (await _market.MachineAsync(id)).SecondsUsed);

        // Nothing happens on later passes: a suspended machine begins no running period.
        Clock.Advance(Day);
        Assert.Empty((await _market.PassAsync()).Suspended);
        Assert.Equal(1, await CountAsync(id, TransferKinds.Running));
    }

    [Fact]
    public async Task Running_WhenTheAgentFailsToSuspend_TheMachineStaysRunningUncharged_AndTheNextPassSuspendsIt()
    {
        var id = await RunningAsync();
        var started = Now;
        await SetBalanceAsync(_buyer, 0.1m);

        _agent.FailNext("suspend");
        Clock.SetUtcNow(started + Hour);
        var first = await _market.PassAsync();
        Assert.Equal(id, Assert.Single(first.Suspended));
        Assert.Equal("running", (await _market.As(_buyer).MachineAsync(id)).State);
        Assert.Contains(await _market.As(_buyer).EventsAsync(id), e => e.Kind == "error");

        Clock.Advance(TimeSpan.FromMinutes(1));
        var second = await _market.PassAsync();
        Assert.Equal(id, Assert.Single(second.Suspended));
        Assert.Equal("suspended", (await _market.As(_buyer).MachineAsync(id)).State);
        Assert.Equal(1, await CountAsync(id, TransferKinds.Running));
        Assert.Equal(0.1m, await _market.As(_buyer).BalanceAsync());
        await _market.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task NegativeBalance_BlocksStoreAndStart_With402_AndChangesNothing()
    {
        var stored = await StoredAsync();
        var registered = (await _market.As(_buyer).RegisterAsync("Configuration1", 1_000_000m, 1_000_000m)).Id;
        await SetBalanceAsync(_buyer, 1m);
        Clock.Advance(30 * Day);
        await PassAsync(); // storage into the negative: 1 − 3
        Assert.Equal(-2m, await _market.As(_buyer).BalanceAsync());
        var before = await _market.TransfersAsync();

        await Problem.AssertAsync(await _market.As(_buyer).StoreRawAsync(registered, _host.Name), 402, ErrorCodes.NegativeBalance);
        await Problem.AssertAsync(await _market.As(_buyer).PostAsync($"/api/v1/machines/{stored:D}/start"), 402, ErrorCodes.NegativeBalance);

        Assert.Equal(before.Count, (await _market.TransfersAsync()).Count);
        Assert.Equal("registered", (await _market.As(_buyer).MachineAsync(registered)).State);
        Assert.Equal("stored", (await _market.As(_buyer).MachineAsync(stored)).State);
        Assert.Equal(AgentStates.Stopped, _agent.Machines[stored].State);
        Assert.False(_agent.Machines.ContainsKey(registered));

        // A deposit that brings the balance back to zero or above lifts the block.
        await _market.DepositAsync(_buyer.Username, 2m + Running, "lift");
        Assert.Equal("running", (await ActAsync(stored, "start")).State);
        Assert.Equal(0m, await _market.As(_buyer).BalanceAsync());
    }

    [Fact]
    public async Task NegativeBalance_BlocksResumeToo_EvenWithPrepaidTimeLeft()
    {
        var id = await RunningAsync();
        await ActAsync(id, "suspend");
        await SetBalanceAsync(_buyer, 1m);
        Clock.Advance(30 * Day);
        await PassAsync();

        await Problem.AssertAsync(await _market.As(_buyer).PostAsync($"/api/v1/machines/{id:D}/resume"), 402, ErrorCodes.NegativeBalance);
        Assert.Equal("suspended", (await _market.As(_buyer).MachineAsync(id)).State);
    }

    // ---- who pays whom ----

    [Fact]
    public async Task EveryCharge_MovesFromTheBuyerToTheHostsOwner_BuyerDebitsEqualProviderCreditsPerMachine()
    {
        var provider2 = await _market.SignupAsync(Roles.Provider);
        var (host2, _) = await _market.AddHostAsync(provider2, (n, a) => Virt13(n, a) with { RunningPeriod = 600, StoragePeriod = 7 });
        var buyer2 = await _market.SignupAsync(Roles.Buyer);
        var machines = new[]
        {
            (Id: await RunningAsync(), Buyer: _buyer, Provider: _provider),
            (Id: await RunningAsync(buyer2, host2), Buyer: buyer2, Provider: provider2),
            (Id: await StoredAsync(buyer2), Buyer: buyer2, Provider: _provider),
        };

        for (var i = 0; i < 20; i++)
        {
            Clock.Advance(TimeSpan.FromHours(7.3));
            await PassAsync();
        }

        var all = await _market.TransfersAsync();
        var providers = new[] { _provider.Username, provider2.Username };
        Assert.DoesNotContain(all, t => providers.Contains(t.FromAccount));
        foreach (var (id, buyer, provider) in machines)
        {
            var charges = all.Where(t => t.Machine == id.ToString("D") && t.Kind is TransferKinds.Storage or TransferKinds.Running).ToList();
            Assert.NotEmpty(charges);
            Assert.All(charges, t => Assert.Equal((buyer.Username, provider.Username), (t.FromAccount, t.ToAccount)));
            Assert.Equal(charges.Where(t => t.FromAccount == buyer.Username).Sum(t => t.Dollars), charges.Where(t => t.ToAccount == provider.Username).Sum(t => t.Dollars));
        }
        var fees = all.Where(t => t.Kind == TransferKinds.RegistrationFee).ToList();
        Assert.Equal(3, fees.Count);
        Assert.All(fees, t => Assert.Equal(("operator", Fee), (t.ToAccount, t.Dollars)));
        var balances = await _market.BalancesAsync();
        foreach (var p in providers)
            Assert.Equal(all.Where(t => t.ToAccount == p).Sum(t => t.Dollars), balances[p]);
        await _market.AssertLedgerConsistentAsync();
    }

    [Fact]
    public async Task HostPriceEdits_NeverApplyToMachinesAlreadyStored()
    {
        var before = await RunningAsync();
        await Session.Ok<HostResponse>(await _market.As(_provider).PatchAsync($"/api/v1/hosts/{_host.Name}", new EditHostRequest(null, 0.001m, null, null, 60, null, 1m, 1, null, null, null)));
        var after = await RunningAsync();

        Clock.Advance(2 * Day);
        await PassAsync();

        var old = await ChargesAsync(before);
        Assert.Equal(1 + 49, old.Count);
        Assert.All(old, c => Assert.Equal(c.Kind == TransferKinds.Storage ? Storage : Running, c.Amount));
        var edited = await ChargesAsync(after);
        // 4 speed chunks × 0.001 + 16 memory chunks × 0.000001, × 60 s; storage 1 chunk × $1 × 1 day.
        var running = (4 * 0.001m + 16 * 0.000001m) * 60;
        Assert.Equal(3, edited.Count(c => c.Kind == TransferKinds.Storage));
        Assert.Equal(2 * 24 * 60 + 1, edited.Count(c => c.Kind == TransferKinds.Running));
        Assert.All(edited, c => Assert.Equal(c.Kind == TransferKinds.Storage ? 1m : running, c.Amount));
    }
}
