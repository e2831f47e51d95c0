using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Agent;
using Virtuoso.Core.Events;
using Virtuoso.FrontEnd.Agents;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Hosts;

namespace Virtuoso.FrontEnd.Events;

/// <summary>
/// Gathers the agents' own events (design §8: "from the front-end and from every agent"; issue 19 point 3) into the event
/// log: every <see cref="MarketOptions.EventCollectIntervalSeconds"/>, each online host's events after its cursor
/// (<c>GET /v1/events</c>), stored with the host, the agent's log id and the event's position in that log, and the cursor
/// moved, in one transaction. Safe on every replica: the cursor moves only from where this pass read it (a conditional
/// UPDATE, which PostgreSQL's row lock and SQLite's single writer serialize), so of two replicas reading the same page one
/// stores it and the other stores nothing; and (host_log, host_position) is unique besides.
/// </summary>
internal sealed partial class EventCollector(Database db, AgentClient agents, TimeProvider clock, IOptions<MarketOptions> options,
    ILogger<EventCollector> log) : BackgroundService
{
    /// <summary>Events asked for per call.</summary>
    public const int PageSize = 500;
    /// <summary>Calls per host and pass: a host far behind catches up over a few passes without holding one up.</summary>
    private const int PagesPerPass = 10;
    private const int Parallelism = 16;
    public const string Origin = "agent";

    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        if (!options.Value.DaemonsEnabled) return;
        await Periodic.RunAsync(CollectAllAsync, TimeSpan.FromSeconds(options.Value.EventCollectIntervalSeconds), clock, e => LogPassFailed(log, e), stop);
    }

    /// <summary>One pass over every online host; returns how many events this pass stored.</summary>
    public async Task<int> CollectAllAsync(CancellationToken ct = default)
    {
        var now = clock.GetUtcNow();
        var hosts = (await db.ReadAsync(c => HostQueries.AllAsync(c, deleting: true), ct)).Where(h => h.IsOnline(now, options.Value.OnlineWindow)).ToList();
        var stored = 0;
        await Parallel.ForEachAsync(hosts, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct }, async (host, ct) =>
        {
            for (var page = 0; page < PagesPerPass; page++)
            {
                var (count, more) = await CollectAsync(host, ct);
                Interlocked.Add(ref stored, count);
                if (!more) break;
            }
        });
        return stored;
    }

    /// <summary>One page of <paramref name="host"/>'s events: how many were stored here, and whether the agent has more.</summary>
    public async Task<(int Stored, bool More)> CollectAsync(HostRow host, CancellationToken ct = default)
    {
        var cursor = await db.ReadAsync(async c =>
        {
            const string Read = "SELECT log, position, at FROM event_cursors WHERE host = @Name";
            var row = await c.QuerySingleOrDefaultAsync<(string Log, long Position, DateTimeOffset At)?>(Read, new { host.Name });
            if (row is { } found) return found;
            // A host not read before: its cursor at the start (another replica may be making it too).
            await c.ExecuteAsync("INSERT INTO event_cursors (host, log, position, at) VALUES (@Name, '', 0, 0) ON CONFLICT (host) DO NOTHING", new { host.Name });
            return await c.QuerySingleAsync<(string Log, long Position, DateTimeOffset At)>(Read, new { host.Name });
        }, ct);
        var got = await agents.EventsAsync(host, cursor.Log.Length == 0 ? null : cursor.Log, cursor.Position, PageSize, ct);
        if (got.Value is not { } page)
        {
            if (got.Failure!.AgentStatus == 404) LogOlderAgent(log, host.Name);
            else LogReadFailed(log, host.Name, got.Failure.Message);
            return (0, false);
        }
        if (page.Log == cursor.Log && page.Next == cursor.Position) return (0, page.More);
        var stored = await db.WriteAsync(async (c, tx) =>
        {
            // The events' listed times never go back within a host (AgentEventIntake.ListedAt).
            var at = cursor.At;
            var listed = page.Events.Select(e => at = AgentEventIntake.ListedAt(e.Time, at)).ToList();
            var moved = await c.ExecuteAsync("UPDATE event_cursors SET log = @Log, position = @Next, at = @at WHERE host = @host AND log = @oldLog AND position = @oldPosition",
                new { page.Log, page.Next, at, host = host.Name, oldLog = cursor.Log, oldPosition = cursor.Position }, tx);
            if (moved == 0) return 0; // another replica stored this page meanwhile
            var machines = page.Events.Where(e => e.Machine is not null).Select(e => e.Machine!.Value.ToString("D")).Distinct().ToList();
            var owners = machines.Count == 0 ? new Dictionary<Guid, string>()
                : (await c.QueryAsync<(Guid Id, string Owner)>($"SELECT id, owner FROM machines WHERE {db.InList("id", "ids")}", new { ids = db.ListValue(machines) }, tx))
                    .ToDictionary(r => r.Id, r => r.Owner);
            var stored = 0;
            for (var i = 0; i < page.Events.Count; i++)
            {
                var e = page.Events[i];
                var owner = e.Machine is { } m ? owners.GetValueOrDefault(m) : null;
                var account = AgentEventIntake.AudienceOf(e.Kind, e.Machine is not null, owner is not null) switch
                {
                    AgentEventAudience.MachineOwner => owner,
                    AgentEventAudience.HostOwner => host.Owner.Value,
                    _ => null,
                };
                stored += await c.ExecuteAsync(
                    "INSERT INTO events (at, origin, kind, machine, account, message, host, host_log, host_position) " +
                    "VALUES (@at, @origin, @kind, @machine, @account, @message, @host, @log, @position) ON CONFLICT DO NOTHING",
                    new { at = listed[i], origin = Origin, kind = e.Kind, machine = e.Machine, account, message = Message(e), host = host.Name, log = page.Log, position = e.Position }, tx);
            }
            return stored;
        }, ct: ct);
        return (stored, page.More);
    }

    /// <summary>What the event says, in one line: its detail, then the machine's state and version when the agent gave them.</summary>
    public static string Message(AgentEventEntry e)
    {
        var facts = string.Join(", ", new[] { e.State is null ? null : $"state {e.State}", e.Version is null ? null : $"version {e.Version}" }.OfType<string>());
        return (e.Detail, facts) switch
        {
            ({ Length: > 0 } d, { Length: > 0 } f) => $"{d} ({f})",
            ({ Length: > 0 } d, _) => d,
            (_, { Length: > 0 } f) => f,
            _ => e.Kind,
        };
    }

    [LoggerMessage(EventId = 19301, Level = LogLevel.Warning, Message = "Event collection pass failed; the next pass retries")]
    private static partial void LogPassFailed(ILogger logger, Exception e);

    [LoggerMessage(EventId = 19302, Level = LogLevel.Debug, Message = "Host {Host} does not know GET /v1/events (an agent older than issue 19): its events stay on the host")]
    private static partial void LogOlderAgent(ILogger logger, string host);

    [LoggerMessage(EventId = 19303, Level = LogLevel.Information, Message = "Reading the events of host {Host} failed ({Why}); the next pass retries")]
    private static partial void LogReadFailed(ILogger logger, string host, string why);
}
