namespace Virtuoso.Contracts.Api;

/// <summary>
/// GET /api/v1/configurations/{name}/history: a configuration's market estimate over time (§6.1.9), for the
/// price chart. The price-average daemon adds a point when the estimate changes, and at most once an hour
/// while it does not; no point while no host has room (the estimate is then stale, kept at its last value).
/// </summary>
/// <param name="EstimatedStorageRate">The current estimate, dollars per month; null until a host has had room.</param>
/// <param name="EstimatedRunningRate">The current estimate, dollars per hour; null until a host has had room.</param>
/// <param name="Points">Oldest first.</param>
public sealed record PriceHistoryResponse(
    string Configuration, decimal? EstimatedStorageRate, decimal? EstimatedRunningRate, IReadOnlyList<PricePoint> Points);

/// <summary>One point of a price history: the mean rates over the hosts with room at <paramref name="At"/>.</summary>
/// <param name="StorageRate">Dollars per month.</param>
/// <param name="RunningRate">Dollars per hour.</param>
public sealed record PricePoint(DateTimeOffset At, decimal StorageRate, decimal RunningRate);
