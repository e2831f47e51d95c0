using System.Security.Claims;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Http;
using E = Virtuoso.Contracts.Api.ErrorCodes;

namespace Virtuoso.FrontEnd.Events;

/// <summary>The events part of <see cref="Api"/>. Tagged Accounts: they are the account's own events.</summary>
internal static class EventEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/events", async (ClaimsPrincipal u, EventLog e, HttpContext ctx, Guid? machine, int? limit, long? before) =>
            {
                if (PageOf.Check(limit, before) is { } bad) return bad.ToResult();
                var page = await e.ForAccountAsync(u.Name(), machine, limit ?? Paging.DefaultLimit, before);
                return PageOf.Answer(ctx, page, page.Count == 0 ? 0 : page[^1].Seq, limit);
            })
            .RequireAuthorization().WithTags("Accounts")
            .WithSummary("My events, newest first, a page at a time (?limit=1..1000, default 100; ?before=SEQ for older; a Link rel=next header while there may be more); one machine's with ?machine=ID")
            .WithName("listEvents").Produces<IReadOnlyList<EventResponse>>().Refuses(E.Validation);
        // Issue 19 point 3: the operator's view of every event, the front-end's and the agents'.
        api.MapGet("/events/all", async (EventLog e, HttpContext ctx, string? host, string? machine, string? kind, int? limit, long? before) =>
            {
                if (PageOf.Check(limit, before) is { } bad) return bad.ToResult();
                var filter = EventFilter.Parse(host, machine, kind);
                if (filter.Failure is { } badFilter) return badFilter.ToResult();
                var page = await e.AllAsync(filter.Value!, limit ?? Paging.DefaultLimit, before);
                return page.Failure is { } f ? f.ToResult() : PageOf.Answer(ctx, page.Value!, page.Value!.Count == 0 ? 0 : page.Value[^1].Seq, limit);
            })
            .RequireAuthorization(Roles.Operator).WithTags("Accounts")
            .WithSummary("Operator: every event, the front-end's and the agents', newest first by time, paged like /events; ?host= (the agent that wrote them), ?machine=, ?kind=")
            .WithName("listAllEvents").Produces<IReadOnlyList<EventResponse>>().Refuses(E.Validation, E.InvalidFilter, E.InvalidCursor);
    }
}
