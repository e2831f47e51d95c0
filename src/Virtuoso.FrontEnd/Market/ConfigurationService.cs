using Dapper;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Http;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Market;

/// <summary>
/// The configurations buyers browse (Figure 6) with market estimates (§6.1.9), and each one's price history.
/// Read-only: the estimates and the history are written by <see cref="PriceAverageDaemon"/> alone.
/// </summary>
internal sealed class ConfigurationService(Database db, Images.ImageCatalogue images)
{
    public async Task<IReadOnlyList<ConfigurationResponse>> ListAsync()
    {
        var catalogue = (await images.ListAsync()).ToDictionary(i => i.Name);
        return (await db.ReadAsync(c => c.QueryAsync<ConfigRow>("SELECT * FROM configurations ORDER BY sort, name")))
            .Select(cfg => new ConfigurationResponse(cfg.Name, cfg.Processor, cfg.Speed, cfg.Os, cfg.Memory, cfg.Disk, cfg.Image, cfg.MinMemory, cfg.MinDisk,
                cfg.EstStorageRate, cfg.EstRunningRate, cfg.Image is { } image ? catalogue.GetValueOrDefault(image) : null))
            .ToList();
    }

    /// <summary>The configuration's estimate and its history points, oldest first; from <paramref name="since"/> on when given.</summary>
    public Task<Outcome<PriceHistoryResponse>> HistoryAsync(string name, DateTimeOffset? since) => db.ReadAsync(async c =>
    {
        var cfg = await c.QuerySingleOrDefaultAsync<ConfigRow>("SELECT * FROM configurations WHERE name = @name", new { name });
        if (cfg is null) return (Outcome<PriceHistoryResponse>)new Failure(ErrorCodes.UnknownConfiguration, $"unknown configuration '{name}': see GET /api/v1/configurations");
        var points = await c.QueryAsync<(DateTimeOffset At, decimal Storage, decimal Running)>(
            "SELECT at, storage_rate, running_rate FROM price_history WHERE configuration = @name AND at >= @since ORDER BY at, id",
            new { name, since = since ?? DateTimeOffset.FromUnixTimeMilliseconds(0) });
        return new PriceHistoryResponse(cfg.Name, cfg.EstStorageRate, cfg.EstRunningRate,
            points.Select(p => new PricePoint(p.At, p.Storage, p.Running)).ToList());
    });
}
