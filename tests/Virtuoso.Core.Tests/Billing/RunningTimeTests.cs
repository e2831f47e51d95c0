using Virtuoso.Core.Billing;

namespace Virtuoso.Core.Tests.Billing;

/// <summary>Design §4 (report §5.1.6): prepaid running time, consumed only while running.</summary>
public sealed class RunningTimeTests
{
    private const long Hour = 3600;
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    // Exact to the tick: DateTimeOffset.AddSeconds(double) would itself drop ticks (3.1 s → 3.0999999 s).
    private static DateTimeOffset At(decimal seconds) => T0.AddTicks((long)(seconds * TimeSpan.TicksPerSecond));

    /// <summary>A machine started for the first time at <see cref="T0"/>, one period charged.</summary>
    private static RunningTime FirstRun() => RunningTime.None.Start(T0, charged: true);

    [Fact]
    public void Start_WithNoPrepaidTimeLeft_NeedsCharge()
    {
        Assert.True(RunningTime.None.NeedsChargeToStart(T0, Hour));
    }

    [Fact]
    public void Start_FirstTime_ChargesOnePeriodAndRunsFromNow()
    {
        var time = FirstRun();

        Assert.Equal(1, time.PeriodsCharged);
        Assert.Equal(T0, time.RunningSince);
        Assert.Equal(0m, time.SecondsUsed);
        Assert.Equal(3600m, time.LeftAt(T0, Hour));
    }

    [Fact]
    public void Resume_WithinPrepaidTime_NeedsNoCharge()
    {
        var paused = FirstRun().Pause(At(600));

        Assert.False(paused.NeedsChargeToStart(At(7200), Hour));

        var resumed = paused.Start(At(7200), charged: false);
        Assert.Equal(1, resumed.PeriodsCharged);
        Assert.Equal(3000m, resumed.LeftAt(At(7200), Hour));
    }

    [Fact]
    public void LeftAt_WhileRunning_Decreases()
    {
        var time = FirstRun();

        Assert.Equal(2600m, time.LeftAt(At(1000), Hour));
        Assert.Equal(1000m, time.UsedAt(At(1000)));
    }

    [Fact]
    public void LeftAt_WhilePaused_DoesNotChange()
    {
        var paused = FirstRun().Pause(At(600));

        Assert.Equal(3000m, paused.LeftAt(At(600), Hour));
        Assert.Equal(3000m, paused.LeftAt(At(36_000), Hour));
        Assert.Equal(3000m, paused.LeftAt(At(30 * 86_400), Hour));
    }

    [Fact]
    public void Consumption_CountsOnlyRunningTime_AcrossStopsAndResumes()
    {
        var time = FirstRun()
            .Pause(At(1000))
            .Start(At(5000), charged: false)
            .Pause(At(6000))
            .Start(At(9000), charged: false);

        Assert.Equal(2000m, time.SecondsUsed);
        Assert.Equal(1100m, time.LeftAt(At(9500), Hour));
    }

    [Fact]
    public void Stop_OneSecondBeforePeriodEnds_LeavesOneSecond()
    {
        var stopped = FirstRun().Pause(At(3599));

        Assert.Equal(1m, stopped.LeftAt(At(3599), Hour));
        Assert.Equal(1m, stopped.LeftAt(At(100_000), Hour));
        Assert.False(stopped.NeedsChargeToStart(At(100_000), Hour));
    }

    [Fact]
    public void Stop_ExactlyAtPeriodEnd_NeedsChargeToStartAgain()
    {
        var stopped = FirstRun().Pause(At(3600));

        Assert.Equal(0m, stopped.LeftAt(At(3600), Hour));
        Assert.True(stopped.NeedsChargeToStart(At(3600), Hour));
    }

    [Fact]
    public void Start_AfterPrepaidTimeRanOut_ChargesTheNextPeriod()
    {
        var restarted = FirstRun().Pause(At(3600)).Start(At(4000), charged: true);

        Assert.Equal(2, restarted.PeriodsCharged);
        Assert.Equal(3600m, restarted.LeftAt(At(4000), Hour));
        Assert.Equal(3500m, restarted.LeftAt(At(4100), Hour));
    }

    [Fact]
    public void LeftAt_RunningPastPeriodEnd_IsNegativeAndNeedsCharge()
    {
        var time = FirstRun();

        Assert.False(time.NeedsChargeToStart(At(3599), Hour));
        Assert.True(time.NeedsChargeToStart(At(3600), Hour));
        Assert.Equal(-1m, time.LeftAt(At(3601), Hour));
    }

    [Fact]
    public void Pause_KeepsWhatIsLeft_WithoutRoundingTimeSlices()
    {
        var paused = FirstRun().Pause(At(1.5m));

        Assert.Equal(1.5m, paused.SecondsUsed);
        Assert.Equal(3598.5m, paused.LeftAt(At(1.5m), Hour));
    }

    [Fact]
    public void Pause_AfterOneTick_KeepsAllButThatTick()
    {
        var paused = FirstRun().Pause(T0.AddTicks(1));

        Assert.Equal(3599.9999999m, paused.LeftAt(T0.AddTicks(1), Hour));
    }

    [Fact]
    public void Pause_ManyShortRuns_AddUpExactly()
    {
        var time = FirstRun().Pause(At(0.1m));
        for (var i = 1; i < 10; i++)
            time = time.Start(At(i), charged: false).Pause(At(i + 0.1m));

        Assert.Equal(1m, time.SecondsUsed);
        Assert.Equal(3599m, time.LeftAt(At(100), Hour));
    }

    [Fact]
    public void Pause_StopsTheRun()
    {
        var paused = FirstRun().Pause(At(10));

        Assert.Null(paused.RunningSince);
        Assert.Equal(1, paused.PeriodsCharged);
    }

    [Fact]
    public void Pause_WhenAlreadyPaused_ChangesNothing()
    {
        var paused = FirstRun().Pause(At(10));

        Assert.Equal(paused, paused.Pause(At(500)));
    }

    [Fact]
    public void UsedAt_BeforeTheRunStarted_CountsNothingFromThatRun()
    {
        var time = FirstRun().Pause(At(100)).Start(At(200), charged: false);

        Assert.Equal(100m, time.UsedAt(At(150)));
    }

    [Fact]
    public void LeftAt_DependsOnTheHostsPeriod()
    {
        var time = FirstRun().Pause(At(600));

        Assert.Equal(1200m, time.LeftAt(At(600), 1800));
        Assert.Equal(6600m, time.LeftAt(At(600), 7200));
    }

    [Fact]
    public void Start_WithoutCharge_KeepsPeriodsCharged()
    {
        var time = RunningTime.None.Start(T0, charged: false);

        Assert.Equal(0, time.PeriodsCharged);
        Assert.True(time.NeedsChargeToStart(T0, Hour));
    }
}
