using Virtuoso.Core.Billing;

namespace Virtuoso.Core.Tests.Billing;

/// <summary>
/// Design §4: charges happen at the beginning of each cycle. Storage period k begins at arrival + (k−1)·period;
/// running period k begins when the machine has run (k−1)·period seconds on its host.
/// </summary>
public sealed class BillingPlanTests
{
    private const long Hour = 3600;
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    private static DateTimeOffset At(decimal seconds) => T0.AddTicks((long)(seconds * TimeSpan.TicksPerSecond));
    private static DateTimeOffset Days(long days) => T0.AddDays(days);

    /// <summary>A machine started for the first time at <see cref="T0"/>, one period charged.</summary>
    private static RunningTime FirstRun() => RunningTime.None.Start(T0, charged: true);

    // ---- storage ----

    [Fact]
    public void StoragePeriodsBegun_AtArrival_IsOne()
    {
        Assert.Equal(1, BillingPlan.StoragePeriodsBegun(T0, 30, T0));
    }

    [Fact]
    public void StoragePeriodsBegun_BeforeArrival_IsStillOne()
    {
        // A replica whose clock lags the one that stored the machine must not see "zero periods".
        Assert.Equal(1, BillingPlan.StoragePeriodsBegun(T0, 30, T0 - TimeSpan.FromHours(1)));
    }

    [Fact]
    public void StoragePeriodsBegun_ExactlyAtTheBoundary_TheNewPeriodHasBegun()
    {
        Assert.Equal(2, BillingPlan.StoragePeriodsBegun(T0, 30, Days(30)));
        Assert.Equal(3, BillingPlan.StoragePeriodsBegun(T0, 30, Days(60)));
    }

    [Fact]
    public void StoragePeriodsBegun_OneTickBeforeTheBoundary_TheNewPeriodHasNotBegun()
    {
        Assert.Equal(1, BillingPlan.StoragePeriodsBegun(T0, 30, Days(30) - Tick));
        Assert.Equal(2, BillingPlan.StoragePeriodsBegun(T0, 30, Days(60) - Tick));
    }

    [Fact]
    public void StoragePeriodsBegun_ThirtyOneDayMonth_WithThirtyDayPeriod_SecondPeriodBeginsOnThe31st()
    {
        // January has 31 days: a 30-day period is 30 days, not "a month", so period 2 begins on January 31.
        var arrived = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var jan31 = new DateTimeOffset(2025, 1, 31, 0, 0, 0, TimeSpan.Zero);
        var feb1 = new DateTimeOffset(2025, 2, 1, 0, 0, 0, TimeSpan.Zero);

        Assert.Equal(jan31, BillingPlan.StoragePeriodStart(arrived, 30, 2));
        Assert.Equal(1, BillingPlan.StoragePeriodsBegun(arrived, 30, jan31 - Tick));
        Assert.Equal(2, BillingPlan.StoragePeriodsBegun(arrived, 30, jan31));
        Assert.Equal(2, BillingPlan.StoragePeriodsBegun(arrived, 30, feb1));
        // 90 days from January 1 is April 1 (31 + 28 + 31 = 90): period 4 begins then, whatever the months' lengths.
        Assert.Equal(new DateTimeOffset(2025, 4, 1, 0, 0, 0, TimeSpan.Zero), BillingPlan.StoragePeriodStart(arrived, 30, 4));
        Assert.Equal(4, BillingPlan.StoragePeriodsBegun(arrived, 30, new DateTimeOffset(2025, 4, 1, 0, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void StoragePeriodsBegun_AfterAJumpOf95Days_CountsEveryPeriodBegun()
    {
        Assert.Equal(4, BillingPlan.StoragePeriodsBegun(T0, 30, Days(95)));
        Assert.Equal(96, BillingPlan.StoragePeriodsBegun(T0, 1, Days(95)));
    }

    [Fact]
    public void StoragePeriodStart_IsWhereTheCountChanges()
    {
        foreach (var days in new long[] { 1, 7, 30, 31, 365 })
            for (var k = 1; k <= 13; k++)
            {
                var start = BillingPlan.StoragePeriodStart(T0, days, k);
                Assert.Equal(T0 + TimeSpan.FromDays((k - 1) * days), start);
                Assert.Equal(k, BillingPlan.StoragePeriodsBegun(T0, days, start));
                if (k > 1) Assert.Equal(k - 1, BillingPlan.StoragePeriodsBegun(T0, days, start - Tick));
            }
    }

    [Fact]
    public void StoragePeriodsBegun_ArrivalWithSubSecondTicks_IsExactToTheTick()
    {
        var arrived = T0.AddTicks(1234567);

        Assert.Equal(1, BillingPlan.StoragePeriodsBegun(arrived, 30, arrived + TimeSpan.FromDays(30) - Tick));
        Assert.Equal(2, BillingPlan.StoragePeriodsBegun(arrived, 30, arrived + TimeSpan.FromDays(30)));
    }

    // ---- running ----

    [Fact]
    public void RunningPeriodsBegun_WhileRunning_CountsThePeriodInProgress()
    {
        var time = FirstRun();

        Assert.Equal(1, BillingPlan.RunningPeriodsBegun(time, Hour, T0));
        Assert.Equal(1, BillingPlan.RunningPeriodsBegun(time, Hour, At(1800)));
        Assert.Equal(2, BillingPlan.RunningPeriodsBegun(time, Hour, At(3601)));
        Assert.Equal(3, BillingPlan.RunningPeriodsBegun(time, Hour, At(7201)));
        Assert.Equal(25, BillingPlan.RunningPeriodsBegun(time, Hour, At(24 * 3600 + 1)));
    }

    [Fact]
    public void RunningPeriodsBegun_ExactlyAtTheEndOfPrepaidTime_TheNextPeriodHasBegun()
    {
        var time = FirstRun();

        Assert.Equal(1, BillingPlan.RunningPeriodsBegun(time, Hour, At(3600) - Tick));
        Assert.Equal(2, BillingPlan.RunningPeriodsBegun(time, Hour, At(3600)));
        Assert.Equal(2, BillingPlan.RunningPeriodsBegun(time, Hour, At(7200) - Tick));
        Assert.Equal(3, BillingPlan.RunningPeriodsBegun(time, Hour, At(7200)));
    }

    [Fact]
    public void RunningPeriodsBegun_WhileStopped_BeginsNoNewPeriod()
    {
        var stopped = FirstRun().Pause(At(600));

        Assert.Equal(1, BillingPlan.RunningPeriodsBegun(stopped, Hour, At(600)));
        Assert.Equal(1, BillingPlan.RunningPeriodsBegun(stopped, Hour, At(3600)));
        Assert.Equal(1, BillingPlan.RunningPeriodsBegun(stopped, Hour, Days(95)));
    }

    [Fact]
    public void RunningPeriodsBegun_NeverStarted_IsZero()
    {
        Assert.Equal(0, BillingPlan.RunningPeriodsBegun(RunningTime.None, Hour, Days(10)));
    }

    [Fact]
    public void RunningPeriodsBegun_CountsOnlyRunningTime_AcrossStopsAndResumes()
    {
        // 3000 s run, stopped a day, resumed: the second period begins after 600 more seconds of running.
        var resumed = FirstRun().Pause(At(3000)).Start(At(90_000), charged: false);

        Assert.Equal(1, BillingPlan.RunningPeriodsBegun(resumed, Hour, At(90_000)));
        Assert.Equal(1, BillingPlan.RunningPeriodsBegun(resumed, Hour, At(90_600) - Tick));
        Assert.Equal(2, BillingPlan.RunningPeriodsBegun(resumed, Hour, At(90_600)));
    }

    [Fact]
    public void RunningPeriodsBegun_StoppedOneSecondBeforeTheEnd_ResumedLater_HasOneSecondLeft()
    {
        var resumed = FirstRun().Pause(At(3599)).Start(Days(3), charged: false);

        Assert.Equal(1, BillingPlan.RunningPeriodsBegun(resumed, Hour, Days(3) + TimeSpan.FromSeconds(1) - Tick));
        Assert.Equal(2, BillingPlan.RunningPeriodsBegun(resumed, Hour, Days(3) + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void RunningPeriodsBegun_NeverBelowWhatWasCharged()
    {
        // Started twice with a charge each time (the first run ended exactly at its period's end).
        var time = FirstRun().Pause(At(3600)).Start(At(4000), charged: true);

        Assert.Equal(2, BillingPlan.RunningPeriodsBegun(time, Hour, At(4000)));
    }

    [Fact]
    public void RunningPeriodsBegun_DependsOnTheHostsPeriod()
    {
        var time = FirstRun();

        Assert.Equal(2, BillingPlan.RunningPeriodsBegun(time, 60, At(60)));
        Assert.Equal(61, BillingPlan.RunningPeriodsBegun(time, 60, At(3600)));
        Assert.Equal(3601, BillingPlan.RunningPeriodsBegun(time, 1, At(3600)));
    }

    [Fact]
    public void RunningDueAt_WhileRunning_IsWhenPrepaidTimeRunsOut()
    {
        Assert.Equal(At(3600), BillingPlan.RunningDueAt(FirstRun(), Hour));
        var resumed = FirstRun().Pause(At(1000)).Start(At(5000), charged: false);
        Assert.Equal(At(7600), BillingPlan.RunningDueAt(resumed, Hour));
    }

    [Fact]
    public void RunningDueAt_WhenStopped_IsNull()
    {
        Assert.Null(BillingPlan.RunningDueAt(FirstRun().Pause(At(10)), Hour));
        Assert.Null(BillingPlan.RunningDueAt(RunningTime.None, Hour));
    }

    [Fact]
    public void RunningDueAt_WithFractionalSecondsLeft_IsExactToTheTick()
    {
        var resumed = FirstRun().Pause(At(1.5m)).Start(At(100), charged: false);

        Assert.Equal(At(100 + 3598.5m), BillingPlan.RunningDueAt(resumed, Hour));
        Assert.Equal(T0.AddTicks(1).AddSeconds(3600) - Tick, BillingPlan.RunningDueAt(FirstRun().Pause(T0.AddTicks(1)).Start(T0.AddTicks(1), false), Hour));
    }

    [Fact]
    public void RunningDueAt_WhenOverdue_IsInThePast()
    {
        // A machine resumed after running past its prepaid time unpaid (suspended by billing) owes from the resume on.
        var overdue = new RunningTime(1, 4000m, At(10_000));

        Assert.Equal(At(10_000 - 400), BillingPlan.RunningDueAt(overdue, Hour));
        Assert.Equal(2, BillingPlan.RunningPeriodsBegun(overdue, Hour, At(10_000)));
    }

    [Fact]
    public void RunningDueAt_AgreesWithRunningPeriodsBegun()
    {
        foreach (var time in new[]
                 {
                     FirstRun(),
                     FirstRun().Pause(At(3599)).Start(At(5000), charged: false),
                     FirstRun().Pause(At(0.0000001m)).Start(At(7), charged: false),
                     new RunningTime(3, 7199.25m, At(100)),
                 })
        {
            var due = BillingPlan.RunningDueAt(time, Hour)!.Value;
            Assert.Equal(time.PeriodsCharged, BillingPlan.RunningPeriodsBegun(time, Hour, due - Tick));
            Assert.Equal(time.PeriodsCharged + 1, BillingPlan.RunningPeriodsBegun(time, Hour, due));
        }
    }

    [Fact]
    public void RunningDueAt_NothingChargedYet_IsNow()
    {
        // Started without a charge (e.g. a row from before billing): the first period is due at once.
        var time = RunningTime.None.Start(T0, charged: false);

        Assert.Equal(T0, BillingPlan.RunningDueAt(time, Hour));
        Assert.Equal(1, BillingPlan.RunningPeriodsBegun(time, Hour, T0));
    }
}
