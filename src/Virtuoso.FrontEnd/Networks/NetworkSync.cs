using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Agent;
using Virtuoso.Core.Networks;
using Virtuoso.FrontEnd.Agents;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Hosts;

namespace Virtuoso.FrontEnd.Networks;

/// <summary>
/// Tells every online host which private networks it carries and their peers (issue 16): <c>PUT /v1/networks</c> with the
/// whole desired state (<see cref="NetworkPlan"/>), every <see cref="MarketOptions.NetworkSyncSeconds"/>, and at once
/// (<see cref="Nudge"/>) to the hosts of a network right after a store, a migration, a delete or a move commits. Safe on
/// every replica: each push is complete and idempotent, so two replicas pushing the same state change nothing, and a
/// push that fails is repaired by the next pass. An agent that answers 404 (older than issue 16) is left alone.
/// </summary>
internal sealed partial class NetworkSync(Database db, AgentClient agents, Underlay underlay, TimeProvider clock, IOptions<MarketOptions> options,
    ILogger<NetworkSync> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        if (!options.Value.DaemonsEnabled) return;
        await Periodic.RunAsync(ct => PushAsync(null, ct), TimeSpan.FromSeconds(options.Value.NetworkSyncSeconds), clock, e => LogPassFailed(log, e), stop);
    }

    /// <summary>What <paramref name="host"/> must carry now (also what the periodic pass pushes to it).</summary>
    public async Task<AgentNetworks> DesiredAsync(string host, CancellationToken ct = default)
    {
        var memberships = await db.ReadAsync(c => NetworkService.MembershipsAsync(c), ct);
        var addresses = await underlay.AddressesAsync(ct);
        return Desired(host, memberships, addresses);
    }

    private static AgentNetworks Desired(string host, IReadOnlyList<Membership> memberships, IReadOnlyDictionary<string, string> addresses) =>
        new(NetworkPlan.For(host, memberships, addresses).Networks.Select(n => new NetworkPeers(n.Vni, n.Peers)).ToList(),
            addresses.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList());

    /// <summary>
    /// Pushes the desired state to every online host, or to <paramref name="only"/> of them; returns how many accepted it.
    /// </summary>
    public async Task<int> PushAsync(IReadOnlyCollection<string>? only, CancellationToken ct = default)
    {
        var now = clock.GetUtcNow();
        var hosts = (await db.ReadAsync(c => HostQueries.AllAsync(c), ct))
            .Where(h => h.IsOnline(now, options.Value.OnlineWindow) && (only is null || only.Contains(h.Name))).ToList();
        if (hosts.Count == 0) return 0;
        var memberships = await db.ReadAsync(c => NetworkService.MembershipsAsync(c), ct);
        var addresses = await underlay.AddressesAsync(ct);
        var accepted = 0;
        foreach (var host in hosts)
        {
            var failure = await agents.PutNetworksAsync(host, Desired(host.Name, memberships, addresses), ct);
            if (failure is null) accepted++;
            else if (failure.AgentStatus == 404) LogOlderAgent(log, host.Name);
            else LogPushFailed(log, host.Name, failure.Message);
        }
        return accepted;
    }

    /// <summary>
    /// Pushes at once, without waiting, to <paramref name="hosts"/> and every host holding a machine of <paramref name="network"/>
    /// (after a commit that changed who carries it); a failure is only logged: the periodic pass repairs it.
    /// </summary>
    public void Nudge(IEnumerable<string?> hosts, long? network)
    {
        var named = hosts.OfType<string>().ToList();
        _ = Task.Run(async () =>
        {
            try
            {
                var targets = new HashSet<string>(named, StringComparer.Ordinal);
                if (network is { } id)
                    foreach (var h in await db.ReadAsync(c => c.QueryAsync<string>("SELECT DISTINCT host FROM machines WHERE network = @id AND host IS NOT NULL", new { id })))
                        targets.Add(h);
                if (targets.Count > 0) await PushAsync(targets);
            }
            catch (Exception e)
            {
                LogNudgeFailed(log, e);
            }
        });
    }

    [LoggerMessage(EventId = 9202, Level = LogLevel.Warning, Message = "Network sync pass failed; the next pass retries")]
    private static partial void LogPassFailed(ILogger logger, Exception e);

    [LoggerMessage(EventId = 9203, Level = LogLevel.Debug, Message = "Host {Host} does not know PUT /v1/networks (an agent older than issue 16): no private networks there")]
    private static partial void LogOlderAgent(ILogger logger, string host);

    [LoggerMessage(EventId = 9204, Level = LogLevel.Information, Message = "Pushing the private networks to host {Host} failed ({Why}); the next pass retries")]
    private static partial void LogPushFailed(ILogger logger, string host, string why);

    [LoggerMessage(EventId = 9205, Level = LogLevel.Information, Message = "An immediate push of the private networks failed; the next pass repairs it")]
    private static partial void LogNudgeFailed(ILogger logger, Exception e);
}
