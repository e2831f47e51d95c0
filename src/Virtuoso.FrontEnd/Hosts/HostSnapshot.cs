using Microsoft.Extensions.Options;
using Virtuoso.Core.Market;
using Virtuoso.FrontEnd.Data;

namespace Virtuoso.FrontEnd.Hosts;

/// <summary>
/// Issue 19: every host with the room taken on it, as search reads it, kept for <see cref="MarketOptions.SearchSnapshotSeconds"/>
/// by this replica. At 10,000 hosts reading them took about 200 ms of the database per search (bench/scale.sh); with a snapshot
/// they are read once a second, in the background, and searches rank the last reading (so a reading can be the window and
/// one read's time old). Search only shows and ranks: a store re-checks the room
/// under the host's row lock, so a snapshot a second old can make a store be refused, never overfill a host. 0 (the
/// default): every search reads the database. What is kept is ready to rank (<see cref="HostRanking"/>), the hosts'
/// online status included: as of the read, like the rest of it.
/// </summary>
internal sealed partial class HostSnapshot(Database db, TimeProvider clock, IOptions<MarketOptions> options, ILogger<HostSnapshot> log)
{
    private sealed record Taken(DateTimeOffset At, SearchHosts Hosts);

    private readonly SemaphoreSlim _refresh = new(1, 1);
    private volatile Taken? _last;

    public async Task<SearchHosts> GetAsync(CancellationToken ct = default)
    {
        var window = TimeSpan.FromSeconds(options.Value.SearchSnapshotSeconds);
        if (window <= TimeSpan.Zero) return await ReadAsync(ct);
        if (_last is { } last)
        {
            // An old reading is read anew in the background, one reading at a time, and searches rank the old one
            // meanwhile: at 10,000 hosts a reading takes 0.2–0.5 s, and the searches that waited for one were the p99
            // of bench/scale.sh (at 100,000 hosts, seconds).
            if (clock.GetUtcNow() - last.At >= window && _refresh.Wait(0)) _ = Task.Run(RefreshAsync);
            return last.Hosts;
        }
        await _refresh.WaitAsync(ct); // the first reading: searches wait for it
        try
        {
            if (_last is { } meanwhile) return meanwhile.Hosts;
            var read = await ReadAsync(ct);
            _last = new Taken(clock.GetUtcNow(), read);
            return read;
        }
        finally { _refresh.Release(); }
    }

    private async Task RefreshAsync()
    {
        try { _last = new Taken(clock.GetUtcNow(), await ReadAsync(CancellationToken.None)); }
        catch (Exception e) { LogRefreshFailed(log, e); } // the old reading stays; the next search after the window tries again
        finally { _refresh.Release(); }
    }

    private async Task<SearchHosts> ReadAsync(CancellationToken ct)
    {
        var rows = (await db.ReadAsync(c => HostQueries.AllAsync(c), ct)).ToList();
        var now = clock.GetUtcNow();
        return new SearchHosts(rows.ToDictionary(h => h.Name), new HostRanking(rows.Select(h => h.Offer(now, options.Value.OnlineWindow))));
    }

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Reading the hosts for search failed; searches rank the reading before")]
    private static partial void LogRefreshFailed(ILogger logger, Exception e);
}

/// <summary>The hosts as search reads them: each by name, and all of them ready to rank.</summary>
internal sealed record SearchHosts(IReadOnlyDictionary<string, HostRow> ByName, HostRanking Ranking);
