using System.Security.Claims;
using Virtuoso.FrontEnd.Accounts;

namespace Virtuoso.FrontEnd.Events;

/// <summary>The events part of <see cref="Api"/>. Tagged Accounts: they are the account's own events.</summary>
internal static class EventEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/events", async (ClaimsPrincipal u, EventLog e, Guid? machine) => Results.Ok(await e.ForAccountAsync(u.Name(), machine)))
            .RequireAuthorization().WithTags("Accounts").WithSummary("My events, oldest first");
    }
}
