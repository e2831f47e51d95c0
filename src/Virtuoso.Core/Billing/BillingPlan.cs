namespace Virtuoso.Core.Billing;

/// <summary>
/// What a machine on a host owes at a moment (design §4, report §5.1.6 and §6.1.9). Charges happen at the
/// <em>beginning</em> of each cycle: storage period k (1-based) begins at arrival + (k−1)·storagePeriod;
/// running period k begins when the machine has run (k−1)·runningPeriod seconds on this host. Pure: the
/// billing daemon and the API both decide with it, and the simulation's independent model checks it.
/// </summary>
public static class BillingPlan
{
    public const long SecondsPerDay = 86_400;

    /// <summary>Storage periods that have begun by <paramref name="now"/> (at least 1: the first is charged on arrival).</summary>
    public static long StoragePeriodsBegun(DateTimeOffset arrivedAt, long storagePeriodDays, DateTimeOffset now)
    {
        var elapsed = Math.Max(0, (now - arrivedAt).Ticks);
        return elapsed / (storagePeriodDays * SecondsPerDay * TimeSpan.TicksPerSecond) + 1;
    }

    /// <summary>When storage period <paramref name="period"/> (1-based) begins.</summary>
    public static DateTimeOffset StoragePeriodStart(DateTimeOffset arrivedAt, long storagePeriodDays, long period) =>
        arrivedAt + TimeSpan.FromTicks((period - 1) * storagePeriodDays * SecondsPerDay * TimeSpan.TicksPerSecond);

    /// <summary>
    /// Running periods that have begun by <paramref name="now"/> for a machine that is running: the one in
    /// progress included. A stopped or suspended machine begins no new period (its prepaid time waits).
    /// </summary>
    public static long RunningPeriodsBegun(RunningTime running, long runningPeriodSeconds, DateTimeOffset now)
    {
        if (running.RunningSince is null) return running.PeriodsCharged;
        var used = running.UsedAt(now);
        return Math.Max(running.PeriodsCharged, (long)decimal.Floor(used / runningPeriodSeconds) + 1);
    }

    /// <summary>
    /// When the prepaid running time of a running machine runs out (the next running period begins), or null
    /// when it is not running.
    /// </summary>
    public static DateTimeOffset? RunningDueAt(RunningTime running, long runningPeriodSeconds)
    {
        if (running.RunningSince is not { } since) return null;
        var left = running.PeriodsCharged * runningPeriodSeconds - running.SecondsUsed;
        return since + TimeSpan.FromTicks((long)(left * TimeSpan.TicksPerSecond));
    }
}
