using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.FrontEnd.Agents;
using Virtuoso.FrontEnd.Data;

namespace Virtuoso.FrontEnd.Hosts;

/// <summary>
/// Checks every host's agent periodically and records when it last answered; matching treats a host as
/// offline when it has not answered within <see cref="MarketOptions.HostOnlineWindowSeconds"/> (§5.1.5:
/// "it is possible for a provider to go offline"). Stateless, so every replica may run it.
/// </summary>
internal sealed partial class HostMonitor(Database db, AgentClient agents, TimeProvider clock, IOptions<MarketOptions> options, ILogger<HostMonitor> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        var interval = TimeSpan.FromSeconds(options.Value.HostMonitorIntervalSeconds);
        while (!stop.IsCancellationRequested)
        {
            try { await CheckAllAsync(stop); }
            catch (Exception e) when (e is not OperationCanceledException) { LogCheckFailed(log, e); }
            await Task.Delay(interval, clock, stop).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    public async Task CheckAllAsync(CancellationToken ct = default)
    {
        var hosts = (await db.ReadAsync(c => HostQueries.AllAsync(c))).ToList();
        await Task.WhenAll(hosts.Select(async h =>
        {
            if (!(await agents.HealthAsync(h, TimeSpan.FromSeconds(2), ct)).Ok) return;
            await db.ReadAsync(c => c.ExecuteAsync("UPDATE hosts SET last_seen = @now WHERE name = @name",
                new { now = clock.GetUtcNow().ToUnixTimeMilliseconds(), name = h.Name }));
        }));
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Host check failed")]
    private static partial void LogCheckFailed(ILogger logger, Exception e);
}
