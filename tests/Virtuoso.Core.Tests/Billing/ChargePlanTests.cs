using Virtuoso.Core.Billing;

namespace Virtuoso.Core.Tests.Billing;

/// <summary>
/// The one billing planner (issue 13, design §4): what is due for each occasion. The machine arrived at T with 30-day
/// storage periods at $3 and one-hour running periods at $0.2016 (virt13, Configuration1).
/// </summary>
public sealed class ChargePlanTests
{
    private static readonly DateTimeOffset T = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly Guid Id = Guid.Parse("3f2a1b4c-0000-4000-8000-000000000001");
    private static readonly Money Rich = new(1000m);

    private static MachineBill Bill(long storageCharged = 1, RunningTime? running = null) =>
        new(Id, 2, T, 30, new Money(3m), storageCharged, 3600, new Money(0.2016m), running ?? RunningTime.None);

    private static string Keys(ChargeList plan) => string.Join(" ", plan.Charges.Select(c => $"{c.Kind}:{c.Period}"));

    [Fact]
    public void Pass_ChargesEveryStoragePeriodBegun_AndEveryRunningPeriodBegunWhileRunning()
    {
        // Running since T with one hour prepaid; 61 days and 2.5 hours later: storage periods 2 and 3, running periods 2 and 3.
        var plan = ChargePlan.Due(Bill(running: new RunningTime(1, 0, T.AddDays(61))), BillingOccasion.Pass, T.AddDays(61).AddHours(2.5), Rich);

        Assert.Equal("storage:2 storage:3 running:2 running:3", Keys(plan));
        Assert.Equal((3L, 3L, (DueCharge?)null), (plan.StoragePeriodsCharged, plan.RunningPeriodsCharged, plan.Unpaid));
        Assert.Equal($"machine:{Id:N}:stay:2:running:3", plan.Charges[^1].Key);
    }

    [Fact]
    public void Pass_OfAStoppedMachine_ChargesStorageOnly()
    {
        var plan = ChargePlan.Due(Bill(running: new RunningTime(1, 5000m, null)), BillingOccasion.Pass, T.AddDays(31), Rich);

        Assert.Equal("storage:2", Keys(plan));
        Assert.Equal(1L, plan.RunningPeriodsCharged);
    }

    [Fact]
    public void Pass_RunningPeriodsStopWhereTheMoneyDoes_StorageIsChargedAnyway()
    {
        // $3.30 left, 2.5 hours run: storage period 2 ($3) is charged whatever; then running period 2 ($0.2016), not 3.
        var plan = ChargePlan.Due(Bill(running: new RunningTime(1, 0, T.AddDays(30).AddHours(-2.5))), BillingOccasion.Pass, T.AddDays(30), new Money(3.30m));

        Assert.Equal("storage:2 running:2", Keys(plan));
        Assert.Equal(2L, plan.RunningPeriodsCharged);
        Assert.Equal(3L, plan.Unpaid?.Period);
    }

    [Theory]
    [InlineData(0, 1, "")]            // stopped at once: the prepaid period covers it
    [InlineData(3600, 1, "")]         // exactly one hour: still the first period
    [InlineData(3601, 2, "running:2")] // a second into the second hour: it began, it is due
    [InlineData(7300, 3, "running:2 running:3")]
    public void RunEnds_ChargesThePeriodsTheRunReached(decimal seconds, long charged, string keys)
    {
        var plan = ChargePlan.Due(Bill(running: new RunningTime(1, 0, T)), BillingOccasion.RunEnds, T.AddSeconds((double)seconds), Rich, seconds);

        Assert.Equal(keys, Keys(plan));
        Assert.Equal(charged, plan.RunningPeriodsCharged);
    }

    [Theory]
    [InlineData(0, 0, "running:1")]      // nothing prepaid
    [InlineData(1, 1800, "")]            // half an hour left
    [InlineData(1, 3600, "running:2")]   // used up exactly
    public void Start_ChargesOnePeriod_OnlyWhenNoneIsPrepaid(long periods, decimal used, string keys) =>
        Assert.Equal(keys, Keys(ChargePlan.Due(Bill(running: new RunningTime(periods, used, null)), BillingOccasion.Start, T.AddHours(5), Rich)));

    [Fact]
    public void Start_WithoutTheMoney_ChargesNothing_AndSaysWhatIsUnpaid()
    {
        var plan = ChargePlan.Due(Bill(), BillingOccasion.Start, T, new Money(0.2m));

        Assert.Empty(plan.Charges);
        Assert.Equal((TransferKinds.Running, 1L, 0.2016m), (plan.Unpaid!.Kind, plan.Unpaid.Period, plan.Unpaid.Amount.Dollars));
    }

    [Fact]
    public void Leave_ChargesTheStoragePeriodsBegunOnTheHost_NotRunning()
    {
        var plan = ChargePlan.Due(Bill(running: new RunningTime(1, 9000m, null)), BillingOccasion.Leave, T.AddDays(60), Money.Zero);

        Assert.Equal("storage:2 storage:3", Keys(plan)); // storage whatever the balance
        Assert.Equal(1L, plan.RunningPeriodsCharged);
    }

    [Fact]
    public void Due_WhatWasChargedAlready_IsNotDueAgain()
    {
        var plan = ChargePlan.Due(Bill(storageCharged: 3, running: new RunningTime(3, 0, T.AddDays(61))), BillingOccasion.Pass, T.AddDays(61).AddHours(2.5), Rich);

        Assert.Empty(plan.Charges);
    }
}
