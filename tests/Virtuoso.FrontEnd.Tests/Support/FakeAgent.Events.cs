using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.FrontEnd.Tests.Support;

/// <summary>
/// The agent's <c>GET /v1/events</c> (issue 19 point 3) over an in-memory log with the real agent's rules: positions where
/// each line ends (here every line is 100 bytes), a log id, <c>after</c> that must be a line's end, another log read from the start.
/// </summary>
internal sealed partial class FakeAgent
{
    private const int LineBytes = 100;
    private readonly List<AgentEventEntry> _events = [];
    private int _eventReads;

    /// <summary>The id of the agent's event log; a new one stands for a replaced data directory (call <see cref="ReplaceEventLog"/>).</summary>
    public string EventLogId { get; private set; } = Guid.NewGuid().ToString("N");

    /// <summary>How many times the events were read.</summary>
    public int EventReads => Volatile.Read(ref _eventReads);

    /// <summary>Appends an event to the agent's log, as the real agent's EventLog does; returns it with its position.</summary>
    public AgentEventEntry AppendEvent(string kind, Guid? machine = null, DateTimeOffset? time = null, string? state = null, long? version = null, string? detail = null)
    {
        lock (_gate)
        {
            var e = new AgentEventEntry((_events.Count + 1L) * LineBytes, time ?? DateTimeOffset.UtcNow, kind, machine, state, version, detail);
            _events.Add(e);
            return e;
        }
    }

    /// <summary>The agent now writes a new log (its data directory was replaced): a new id, positions from the start again.</summary>
    public void ReplaceEventLog()
    {
        lock (_gate)
        {
            _events.Clear();
            EventLogId = Guid.NewGuid().ToString("N");
        }
    }

    private void MapEvents(WebApplication app) =>
        app.MapGet(AgentEventPage.Route, async (HttpContext ctx, long? after, int? limit, string? log) =>
        {
            if (ctx.Request.Headers.Authorization.ToString() != $"Bearer {Secret}") return Problem(401, ErrorCodes.Unauthenticated, "missing or wrong host secret");
            if (Down) return Cut.Instance;
            Interlocked.Increment(ref _eventReads);
            AgentEventPage page;
            lock (_gate)
            {
                var from = log is not null && log != EventLogId ? 0 : after ?? 0;
                if (from < 0 || from % LineBytes != 0 || from > _events.Count * LineBytes)
                    return Problem(400, ErrorCodes.InvalidCursor, $"after={from} is not where a line ends");
                var rest = _events.Skip((int)(from / LineBytes)).ToList();
                var given = rest.Take(limit ?? AgentEventPage.DefaultLimit).ToList();
                page = new AgentEventPage(EventLogId, given, given.Count == 0 ? from : given[^1].Position, rest.Count > given.Count);
            }
            await WaitIfHeld("events"); // two collectors can be lined up on the same page
            return Results.Ok(page);
        });
}
