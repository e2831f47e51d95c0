using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Accounting;

/// <summary>
/// GET /api/v1/account checked against the billing daemon's semantics (design §4) on a clock the test moves: the
/// next storage debit is at arrival + charged periods × period; a running machine's next running debit is when its
/// prepaid time runs out; stop keeps the prepaid time; providers see income per host and per machine. The hosts
/// are virt13-priced: Configuration1 pays $3 per 30 days of storage and $0.2016 per 3600 s of running.
/// </summary>
public sealed class AccountViewTests
{
    private const decimal Day = 86_400m;

    private static async Task<AccountMachine> ViewAsync(Session buyer, Guid id) => (await buyer.AccountAsync()).Machines.Single(m => m.Id == id);

    private static (decimal? NextStorage, decimal? Prepaid, decimal? NextRunning) Times(AccountMachine m) =>
        (m.NextStorageDebitSeconds, m.PrepaidRunningSeconds, m.NextRunningDebitSeconds);

    [Fact]
    public async Task NextStorageDebit_IsArrivalPlusChargedPeriodsTimesThePeriodMinusNow()
    {
        await using var market = await ClockedMarket.StartAsync();
        var host = await market.AddHostAsync();
        var buyer = await market.SignupAsync(Roles.Buyer);
        var machine = await buyer.RegisterAsync("Configuration1", 1000m, 100m);
        await buyer.StoreAsync(machine.Id, host.Name);
        var billing = market.Service<BillingDaemon>();

        var stored = await ViewAsync(buyer, machine.Id);
        Assert.Equal((host.Name, (decimal?)3m, (long?)30, (decimal?)0.2016m, (long?)3600), (stored.Host, stored.StoragePrice, stored.StoragePeriodDays, stored.RunningPrice, stored.RunningPeriodSeconds));
        Assert.Equal((30 * Day, 0m, null), Times(stored));

        await market.AdvanceAsync(TimeSpan.FromDays(10) + TimeSpan.FromMilliseconds(500));
        Assert.Equal(20 * Day - 0.5m, (await ViewAsync(buyer, machine.Id)).NextStorageDebitSeconds);

        // Period 2 begins at arrival + 30 days: due, and charged by the next pass.
        market.Clock.SetUtcNow(ClockedMarket.Start.AddDays(30));
        Assert.Equal(0m, (await ViewAsync(buyer, machine.Id)).NextStorageDebitSeconds);
        Assert.Equal(1, (await billing.PassAsync()).StorageCharges);
        Assert.Equal(30 * Day, (await ViewAsync(buyer, machine.Id)).NextStorageDebitSeconds);

        // A clock days ahead of the last pass: the pass charges every period begun, and the next is the one after.
        market.Clock.SetUtcNow(ClockedMarket.Start.AddDays(95));
        Assert.Equal(2, (await billing.PassAsync()).StorageCharges);
        Assert.Equal(25 * Day, (await ViewAsync(buyer, machine.Id)).NextStorageDebitSeconds);
        Assert.Equal(1000m - 0.05m - 4 * 3m, await buyer.BalanceAsync());
    }

    [Fact]
    public async Task RunningMachine_NextRunningDebitIsWhenPrepaidTimeRunsOut_AndStopKeepsThePrepaidTime()
    {
        await using var market = await ClockedMarket.StartAsync();
        var host = await market.AddHostAsync();
        var buyer = await market.SignupAsync(Roles.Buyer);
        var machine = await buyer.RegisterAsync("Configuration1", 1000m, 100m);
        await buyer.StoreAsync(machine.Id, host.Name);
        var billing = market.Service<BillingDaemon>();

        await buyer.ActAsync(machine.Id, "start");
        Assert.Equal((30 * Day, 3600m, 3600m), Times(await ViewAsync(buyer, machine.Id)));

        await market.AdvanceAsync(TimeSpan.FromSeconds(1000));
        Assert.Equal((30 * Day - 1000, 2600m, 2600m), Times(await ViewAsync(buyer, machine.Id)));

        // Stopped: the prepaid time waits, and no running debit is coming.
        await buyer.ActAsync(machine.Id, "stop");
        await market.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Equal((29 * Day - 1000, 2600m, null), Times(await ViewAsync(buyer, machine.Id)));

        // Started again with time left: no charge, the same prepaid time runs down.
        var balance = await buyer.BalanceAsync();
        await buyer.ActAsync(machine.Id, "start");
        Assert.Equal(balance, await buyer.BalanceAsync());
        await market.AdvanceAsync(TimeSpan.FromSeconds(2599));
        Assert.Equal((1m, 1m), (await ViewAsync(buyer, machine.Id)) is var m ? (m.PrepaidRunningSeconds!.Value, m.NextRunningDebitSeconds!.Value) : default);

        // It runs out: due now, and the pass charges the second period.
        await market.AdvanceAsync(TimeSpan.FromSeconds(1));
        Assert.Equal((0m, 0m), (await ViewAsync(buyer, machine.Id)) is var due ? (due.PrepaidRunningSeconds!.Value, due.NextRunningDebitSeconds!.Value) : default);
        Assert.Equal(1, (await billing.PassAsync()).RunningCharges);
        Assert.Equal((3600m, 3600m), (await ViewAsync(buyer, machine.Id)) is var paid ? (paid.PrepaidRunningSeconds!.Value, paid.NextRunningDebitSeconds!.Value) : default);
        Assert.Equal(balance - 0.2016m, await buyer.BalanceAsync());
    }

    [Fact]
    public async Task Provider_SeesIncomePerHostAndPerMachine_EqualToWhatTheBuyersPaid()
    {
        await using var market = await ClockedMarket.StartAsync();
        var first = await market.AddHostAsync();
        var second = await market.AddHostAsync();
        var empty = await market.AddHostAsync();
        var alice = await market.SignupAsync(Roles.Buyer, "alice");
        var bob = await market.SignupAsync(Roles.Buyer, "bob");
        var a = await alice.RegisterAsync("Configuration1", 1000m, 100m);
        var b = await bob.RegisterAsync("Configuration1", 1000m, 100m);
        var c = await bob.RegisterAsync("Configuration1", 1000m, 100m);
        await alice.StoreAsync(a.Id, first.Name);
        await bob.StoreAsync(b.Id, second.Name);
        await bob.StoreAsync(c.Id, second.Name);
        await alice.ActAsync(a.Id, "start");
        await market.AdvanceAsync(TimeSpan.FromHours(1));
        await market.Service<BillingDaemon>().PassAsync();

        var account = await market.Provider.AccountAsync();

        Assert.Equal(1000m + 3m + 2 * 0.2016m + 3m + 3m, account.Balance);
        Assert.Equal(new[] { first.Name, second.Name, empty.Name }.Order(StringComparer.Ordinal), account.Hosts.Select(h => h.Name));
        var byName = account.Hosts.ToDictionary(h => h.Name);
        Assert.Equal(3m + 2 * 0.2016m, byName[first.Name].Income);
        Assert.Equal(6m, byName[second.Name].Income);
        Assert.Equal(0m, byName[empty.Name].Income);
        Assert.Empty(byName[empty.Name].Machines);
        var machineA = Assert.Single(byName[first.Name].Machines);
        Assert.Equal((a.Id, alice.Username, "running", 3m + 2 * 0.2016m), (machineA.Id, machineA.Owner, machineA.State, machineA.Income));
        Assert.Equal(new[] { (b.Id, 3m), (c.Id, 3m) }.OrderBy(m => m.Id), byName[second.Name].Machines.Select(m => (m.Id, m.Income)).OrderBy(m => m.Id));
        Assert.Equal(await alice.BalanceAsync(), 1000m - 0.05m - machineA.Income);
    }
}
