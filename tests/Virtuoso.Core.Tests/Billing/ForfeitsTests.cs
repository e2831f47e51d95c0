using Virtuoso.Core.Billing;

namespace Virtuoso.Core.Tests.Billing;

/// <summary>
/// Issue 18: what leaving a host gives up (design §4: paid storage is not refunded, prepaid running time is not carried).
/// The machine arrived at T on a host priced like virt13 for linux-busybox: $30 per 30-day storage period, $0.3744 per
/// one-hour running period.
/// </summary>
public sealed class ForfeitsTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);
    private static readonly Guid Id = Guid.Parse("3f2a1b4c-0000-4000-8000-000000000002");

    private static MachineBill Bill(long storageCharged = 1, RunningTime? running = null) =>
        new(Id, 1, T, 30, new Money(30m), storageCharged, 3600, new Money(0.3744m), running ?? RunningTime.None);

    [Fact]
    public void Delete_StoredMachine_GivesUpTheRestOfThePeriod_AndThePrepaidTime_ChargesNothing()
    {
        // 2.6 days into the first period, 8 of the 60 prepaid minutes used: 27.4 days and 52 minutes are left.
        var f = Forfeits.At(Bill(running: new RunningTime(1, 480m, null)), T.AddDays(2.6), Departure.Delete);

        Assert.Equal(27.40m, f.Storage.Dollars);
        Assert.Equal(T.AddDays(30), f.StoragePaidUntil);
        Assert.Equal(3120m, f.RunningSeconds);
        Assert.Equal(0.32m, f.Running.Dollars);  // 0.3744 × 3120 / 3600 = 0.32448
        Assert.Equal(0m, f.ChargedNow.Dollars);
        Assert.Equal(27.72m, f.Total.Dollars);
    }

    [Fact]
    public void Delete_NeverStarted_GivesUpStorageOnly()
    {
        var f = Forfeits.At(Bill(), T.AddDays(10), Departure.Delete);

        Assert.Equal(20m, f.Storage.Dollars);
        Assert.Equal((0m, 0m), (f.RunningSeconds, f.Running.Dollars));
    }

    [Fact]
    public void Delete_RightOnArrival_GivesUpTheWholePeriod()
    {
        Assert.Equal(30m, Forfeits.At(Bill(), T, Departure.Delete).Storage.Dollars);
    }

    [Fact]
    public void Delete_OverduePeriodNotYetCharged_GivesUpNothing_AndChargesNothing()
    {
        // 31 days in and the daemon has not charged period 2 yet: deleting does not charge it.
        var f = Forfeits.At(Bill(), T.AddDays(31), Departure.Delete);

        Assert.Equal((0m, 0m), (f.Storage.Dollars, f.ChargedNow.Dollars));
        Assert.Equal(T.AddDays(30), f.StoragePaidUntil);
    }

    [Fact]
    public void Leave_OverduePeriod_IsChargedNow_AndItsRestGivenUp()
    {
        // Migrating 31 days in: period 2 (days 30–60) is charged on the way out, and 29 days of it are given up.
        var f = Forfeits.At(Bill(), T.AddDays(31), Departure.Leave);

        Assert.Equal(30m, f.ChargedNow.Dollars);
        Assert.Equal(T.AddDays(60), f.StoragePaidUntil);
        Assert.Equal(29m, f.Storage.Dollars);
    }

    [Fact]
    public void Leave_RunningMachinePastItsPrepaidTime_ChargesThePeriodBegun_AndGivesUpItsRest()
    {
        // Running since T+1 day with one hour prepaid; evicted 90 minutes later: period 2 is charged, 30 minutes of it are left.
        var since = T.AddDays(1);
        var f = Forfeits.At(Bill(running: new RunningTime(1, 0m, since)), since.AddMinutes(90), Departure.Leave);

        Assert.Equal(0.3744m, f.ChargedNow.Dollars);
        Assert.Equal(1800m, f.RunningSeconds);
        Assert.Equal(0.19m, f.Running.Dollars); // 0.1872, half away from zero
    }

    [Fact]
    public void RunningMachine_ItsCurrentRunIsCounted()
    {
        var since = T.AddHours(1);
        var f = Forfeits.At(Bill(running: new RunningTime(1, 600m, since)), since.AddMinutes(20), Departure.Delete);

        Assert.Equal(1800m, f.RunningSeconds); // 3600 − 600 − 1200
    }

    [Fact]
    public void Storage_IsProRataToTheSecond_RoundedToTheCent()
    {
        // 1 second into a $30 period: 30 × 2591999 / 2592000 = 29.9999884… → $30.00; 12 h in: $29.50.
        Assert.Equal(30.00m, Forfeits.At(Bill(), T.AddSeconds(1), Departure.Delete).Storage.Dollars);
        Assert.Equal(29.50m, Forfeits.At(Bill(), T.AddHours(12), Departure.Delete).Storage.Dollars);
    }

    [Fact]
    public void SecondPeriodCharged_PaidUntilItsEnd()
    {
        var f = Forfeits.At(Bill(storageCharged: 2), T.AddDays(45), Departure.Delete);

        Assert.Equal(T.AddDays(60), f.StoragePaidUntil);
        Assert.Equal(15m, f.Storage.Dollars);
    }
}
