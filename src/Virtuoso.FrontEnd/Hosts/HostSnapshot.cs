using Microsoft.Extensions.Options;
using Virtuoso.Core.Market;
using Virtuoso.FrontEnd.Data;

namespace Virtuoso.FrontEnd.Hosts;

/// <summary>
/// Issue 19: every host with the room taken on it, as search reads it, kept for <see cref="MarketOptions.SearchSnapshotSeconds"/>
/// by this replica. At 10,000 hosts reading them took about 200 ms of the database per search (bench/scale.sh); with a snapshot
/// one search a second reads them and the others rank what it read (while it reads, what was read before: so a reading can be
/// the window and one read's time old). Search only shows and ranks: a store re-checks the room
/// under the host's row lock, so a snapshot a second old can make a store be refused, never overfill a host. 0 (the
/// default): every search reads the database. What is kept is ready to rank (<see cref="HostRanking"/>), the hosts'
/// online status included: as of the read, like the rest of it.
/// </summary>
internal sealed class HostSnapshot(Database db, TimeProvider clock, IOptions<MarketOptions> options)
{
    private sealed record Taken(DateTimeOffset At, SearchHosts Hosts);

    private readonly SemaphoreSlim _refresh = new(1, 1);
    private volatile Taken? _last;

    public async Task<SearchHosts> GetAsync(CancellationToken ct = default)
    {
        var window = TimeSpan.FromSeconds(options.Value.SearchSnapshotSeconds);
        if (window <= TimeSpan.Zero) return await ReadAsync(ct);
        var last = _last;
        if (last is not null && clock.GetUtcNow() - last.At < window) return last.Hosts;
        // One search reads anew. While it does, the others rank the reading before, rather than queue behind it (at
        // 10,000 hosts every search waited up to a read's 0.3 s once a second: that was the p99 of bench/scale.sh);
        // before the first reading, they wait for it.
        if (last is not null && !_refresh.Wait(0)) return last.Hosts;
        if (last is null) await _refresh.WaitAsync(ct);
        try
        {
            if (Fresh(window) is { } meanwhile) return meanwhile;
            var read = await ReadAsync(ct);
            _last = new Taken(clock.GetUtcNow(), read);
            return read;
        }
        finally { _refresh.Release(); }
    }

    private SearchHosts? Fresh(TimeSpan window) =>
        _last is { } last && clock.GetUtcNow() - last.At < window ? last.Hosts : null;

    private async Task<SearchHosts> ReadAsync(CancellationToken ct)
    {
        var rows = (await db.ReadAsync(c => HostQueries.AllAsync(c), ct)).ToList();
        var now = clock.GetUtcNow();
        return new SearchHosts(rows.ToDictionary(h => h.Name), new HostRanking(rows.Select(h => h.Offer(now, options.Value.OnlineWindow))));
    }
}

/// <summary>The hosts as search reads them: each by name, and all of them ready to rank.</summary>
internal sealed record SearchHosts(IReadOnlyDictionary<string, HostRow> ByName, HostRanking Ranking);
