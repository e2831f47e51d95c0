using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.Core.Market;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Hosts;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Market;

/// <summary>
/// The price-average daemon (report §6.1.9, design §3.2): every <see cref="MarketOptions.PriceAverageIntervalSeconds"/>
/// it recomputes each configuration's estimated storage and running rates as the mean over the hosts with room
/// (<see cref="Matching.Estimate"/>), keeps the stale estimate when no host has room, and appends to
/// <c>price_history</c> as <see cref="PriceHistory.Decide"/> says. GET /configurations only reads what it stored.
/// </summary>
internal sealed partial class PriceAverageDaemon(Database db, TimeProvider clock, IOptions<MarketOptions> options, ILogger<PriceAverageDaemon> log) : BackgroundService
{
    /// <summary>What one pass did: configurations with a current estimate, configurations left stale, history points added.</summary>
    public sealed record PassResult(int Estimated, int Stale, int Recorded);

    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        if (!options.Value.DaemonsEnabled) return;
        await Periodic.RunAsync(PassAsync, TimeSpan.FromSeconds(options.Value.PriceAverageIntervalSeconds), clock, e => LogPassFailed(log, e), stop);
    }

    /// <summary>One pass at the clock's current time, in one transaction.</summary>
    public Task<PassResult> PassAsync(CancellationToken ct = default)
    {
        var now = clock.GetUtcNow();
        return db.WriteAsync(async (c, tx) =>
        {
            // The configurations' rows are locked first: replicas passing at once take turns, and the second sees the
            // first's history point instead of adding the same one again.
            var configs = (await c.QueryAsync<ConfigRow>($"SELECT * FROM configurations ORDER BY name{db.ForUpdate}", transaction: tx)).ToList();
            var offers = (await HostQueries.AllAsync(c, tx)).Select(h => h.Offer(now, options.Value.OnlineWindow)).ToList();
            int estimated = 0, stale = 0, recorded = 0;
            foreach (var cfg in configs)
            {
                ct.ThrowIfCancellationRequested();
                Estimate? current = Matching.Estimate(offers, cfg.Spec) is { } e ? new Estimate(e.StoragePerMonth.Dollars, e.RunningPerHour.Dollars) : null;
                Estimate? stored = cfg.EstStorageRate is { } s && cfg.EstRunningRate is { } r ? new Estimate(s, r) : null;
                var last = await c.QueryFirstOrDefaultAsync<(DateTimeOffset At, decimal Storage, decimal Running)?>(
                    "SELECT at, storage_rate, running_rate FROM price_history WHERE configuration = @name ORDER BY at DESC, id DESC LIMIT 1",
                    new { name = cfg.Name }, tx) is { } p
                    ? new RecordedPoint(p.At, new Estimate(p.Storage, p.Running))
                    : (RecordedPoint?)null;

                var decision = PriceHistory.Decide(current, stored, last, now);
                if (current is null) stale++; else estimated++;
                if (decision is { Changed: true, Keep: { } keep })
                    await c.ExecuteAsync("UPDATE configurations SET est_storage_rate = @s, est_running_rate = @r WHERE name = @name",
                        new { s = keep.StoragePerMonth, r = keep.RunningPerHour, name = cfg.Name }, tx);
                if (decision is { Record: true, Keep: { } point })
                {
                    await c.ExecuteAsync("INSERT INTO price_history (configuration, at, storage_rate, running_rate) VALUES (@name, @at, @s, @r)",
                        new { name = cfg.Name, at = now, s = point.StoragePerMonth, r = point.RunningPerHour }, tx);
                    recorded++;
                }
            }
            if (recorded > 0) LogPass(log, estimated, stale, recorded);
            return new PassResult(estimated, stale, recorded);
        }, ct: ct);
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "Price-average pass failed; the next pass retries")]
    private static partial void LogPassFailed(ILogger logger, Exception e);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Debug, Message = "Price-average pass: {Estimated} configurations estimated, {Stale} stale, {Recorded} history points added")]
    private static partial void LogPass(ILogger logger, int estimated, int stale, int recorded);
}
