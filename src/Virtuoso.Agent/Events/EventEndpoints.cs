using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Virtuoso.Agent.Machines;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Agent.Events;

internal static class EventEndpoints
{
    /// <summary>
    /// GET /v1/events?after=N&amp;limit=M&amp;log=ID (behind the host secret, like every /v1 route): this host's events after a
    /// cursor, for the front-end's collector (issue 19 point 3). <c>log</c> names the log the cursor is from; when it is not
    /// this one, reading starts at the beginning.
    /// </summary>
    public static void MapEvents(this IEndpointRouteBuilder app) =>
        app.MapGet(AgentEventPage.Route, (long? after, int? limit, string? log, EventLog events) =>
        {
            if (limit is < 1 or > AgentEventPage.MaxLimit)
                return MachineEndpoints.Problem(AgentError.Validation($"limit must be 1 to {AgentEventPage.MaxLimit}, not {limit}"));
            var from = log is not null && log != events.Id ? 0 : after ?? 0;
            return events.Read(from, limit ?? AgentEventPage.DefaultLimit) is { } page
                ? Results.Ok(page)
                : MachineEndpoints.Problem(new AgentError(ErrorCodes.InvalidCursor,
                    $"after={from} is not where an event of this host's log {events.Id} ends (0 reads from the start)", StatusCodes.Status400BadRequest));
        });
}
