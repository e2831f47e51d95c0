using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Market;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Hosts;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Market;

/// <summary>
/// The configurations buyers browse (Figure 6) with market estimates (§6.1.9): each is the mean of the
/// rates of the hosts with room for it; with no such host the last known (stale) estimate is kept.
/// </summary>
internal sealed class ConfigurationService(Database db, TimeProvider clock, IOptions<MarketOptions> options)
{
    public async Task<IReadOnlyList<ConfigurationResponse>> ListAsync()
    {
        var now = clock.GetUtcNow();
        return await db.ReadAsync(async c =>
        {
            var configs = (await c.QueryAsync<ConfigRow>("SELECT * FROM configurations ORDER BY sort, name")).ToList();
            var offers = (await HostQueries.AllAsync(c)).Select(h => h.Offer(now, options.Value.OnlineWindow)).ToList();
            var result = new List<ConfigurationResponse>();
            foreach (var cfg in configs)
            {
                if (Matching.Estimate(offers, cfg.Spec) is { } e)
                {
                    (cfg.EstStorageRate, cfg.EstRunningRate) = (Decimals.Text(e.StoragePerMonth.Dollars), Decimals.Text(e.RunningPerHour.Dollars));
                    await c.ExecuteAsync("UPDATE configurations SET est_storage_rate = @s, est_running_rate = @r WHERE name = @n",
                        new { s = cfg.EstStorageRate, r = cfg.EstRunningRate, n = cfg.Name });
                }
                result.Add(new ConfigurationResponse(cfg.Name, cfg.Processor, cfg.Speed, cfg.Os, cfg.Memory, cfg.Disk, cfg.Image, cfg.MinMemory, cfg.MinDisk,
                    Decimals.ParseOrNull(cfg.EstStorageRate), Decimals.ParseOrNull(cfg.EstRunningRate)));
            }
            return (IReadOnlyList<ConfigurationResponse>)result;
        });
    }
}
