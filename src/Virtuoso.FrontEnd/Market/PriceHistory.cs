namespace Virtuoso.FrontEnd.Market;

/// <summary>A configuration's market estimate (§6.1.9): storage dollars per month, running dollars per hour.</summary>
internal readonly record struct Estimate(decimal StoragePerMonth, decimal RunningPerHour);

/// <summary>The last point recorded in <c>price_history</c> for a configuration.</summary>
internal readonly record struct RecordedPoint(DateTimeOffset At, Estimate Estimate);

/// <summary>What one price-average pass does for one configuration: the estimate to keep, and whether to record a point.</summary>
internal readonly record struct EstimateDecision(Estimate? Keep, bool Changed, bool Record);

/// <summary>
/// The price-average rules (design §3.2, report §6.1.9), decided without I/O. The estimate is the mean over the
/// hosts with room; with none, the last (stale) estimate is kept and nothing is recorded, since nothing was
/// observed. The history gets a point when the estimate differs from the last point, and otherwise one an hour
/// at most, so a quiet market costs 24 rows a day per configuration however short the interval.
/// </summary>
internal static class PriceHistory
{
    /// <summary>Longest gap between two points of an unchanged estimate.</summary>
    public static readonly TimeSpan Heartbeat = TimeSpan.FromHours(1);

    /// <param name="current">The mean over the hosts with room now; null when no host has room.</param>
    /// <param name="stored">The estimate the configuration holds (what GET /configurations shows).</param>
    /// <param name="last">The configuration's latest history point, if any.</param>
    public static EstimateDecision Decide(Estimate? current, Estimate? stored, RecordedPoint? last, DateTimeOffset now)
    {
        if (current is not { } estimate) return new(stored, Changed: false, Record: false);
        var record = last is not { } point || point.Estimate != estimate || now - point.At >= Heartbeat;
        return new(estimate, Changed: stored != estimate, record);
    }
}
