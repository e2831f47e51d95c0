namespace Virtuoso.Core.Billing;

/// <summary>
/// Prepaid running time of a machine on its current host (design §4, report §5.1.6): starting with nothing
/// left charges one period; time is consumed only while running; stop and suspend keep what is left.
/// </summary>
/// <param name="PeriodsCharged">Running periods charged since the machine arrived on this host.</param>
/// <param name="SecondsUsed">Running seconds consumed before the current run (if any) began.</param>
/// <param name="RunningSince">Start of the current run, or null when not running.</param>
public sealed record RunningTime(long PeriodsCharged, decimal SecondsUsed, DateTimeOffset? RunningSince)
{
    public static readonly RunningTime None = new(0, 0m, null);

    /// <summary>Seconds consumed up to <paramref name="now"/>, counting the current run.</summary>
    public decimal UsedAt(DateTimeOffset now) =>
        SecondsUsed + (RunningSince is { } since ? (decimal)Math.Max(0, (now - since).Ticks) / TimeSpan.TicksPerSecond : 0m);

    /// <summary>Prepaid seconds left at <paramref name="now"/> (may be negative when a charge is overdue).</summary>
    public decimal LeftAt(DateTimeOffset now, long periodSeconds) => PeriodsCharged * periodSeconds - UsedAt(now);

    /// <summary>Whether starting or resuming now must charge a new period first.</summary>
    public bool NeedsChargeToStart(DateTimeOffset now, long periodSeconds) => LeftAt(now, periodSeconds) <= 0;

    /// <summary>The machine starts running at <paramref name="now"/>, charging one more period when it must.</summary>
    public RunningTime Start(DateTimeOffset now, bool charged) =>
        new(PeriodsCharged + (charged ? 1 : 0), SecondsUsed, now);

    /// <summary>The machine stops or suspends at <paramref name="now"/>: what it used is kept, the rest stays prepaid.</summary>
    public RunningTime Pause(DateTimeOffset now) => new(PeriodsCharged, UsedAt(now), null);
}
