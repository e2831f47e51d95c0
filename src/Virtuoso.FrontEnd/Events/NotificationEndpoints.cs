using System.Security.Claims;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Http;
using E = Virtuoso.Contracts.Api.ErrorCodes;

namespace Virtuoso.FrontEnd.Events;

/// <summary>The notifications part of <see cref="Api"/> (issue 18). Tagged Accounts: they are the account's own.</summary>
internal static class NotificationEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var group = api.MapGroup("/notifications").RequireAuthorization().WithTags("Accounts");
        group.MapGet("", async (ClaimsPrincipal u, Notifications n, HttpContext ctx, int? limit, long? before) =>
            {
                if (PageOf.Check(limit, before) is { } bad) return bad.ToResult();
                var page = await n.ListAsync(u.Name(), limit ?? Paging.DefaultLimit, before);
                return PageOf.Answer(ctx, page, page.Count == 0 ? 0 : page[^1].Seq, limit);
            })
            .WithSummary("My notifications (machines stopped or suspended by the system, hosts offline, migrations finished or failed, balance under my threshold), newest first, paged like /events")
            .WithName("listNotifications").Produces<IReadOnlyList<NotificationResponse>>().Refuses(E.Validation);
        group.MapGet("/unread", async (ClaimsPrincipal u, Notifications n) => Results.Ok(await n.UnreadAsync(u.Name())))
            .WithSummary("How many notifications are unread").WithName("countUnreadNotifications").Produces<UnreadNotifications>();
        group.MapPost("/read", async (MarkNotificationsRead? r, ClaimsPrincipal u, Notifications n) => (await n.MarkReadAsync(u.Name(), r?.UpTo)).ToResult())
            .WithSummary("Mark notifications read: up to upTo (a seq), or all")
            .WithName("markNotificationsRead").Produces<UnreadNotifications>().Refuses(E.Validation);
        group.MapGet("/settings", async (ClaimsPrincipal u, Notifications n) => Results.Ok(await n.SettingsAsync(u.Name())))
            .WithSummary("The balance under which I am notified (null: never)")
            .WithName("getNotificationSettings").Produces<NotificationSettings>();
        group.MapPut("/settings", async (NotificationSettings s, ClaimsPrincipal u, Notifications n) => (await n.SetAsync(u.Name(), s)).ToResult())
            .WithSummary("Set the balance under which I am notified (null: never)")
            .WithName("setNotificationSettings").Produces<NotificationSettings>().Refuses(E.Validation);
    }
}
