using System.Net;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Web.Accounts;

/// <summary>NotificationsPageTests on SQLite.</summary>
public sealed class NotificationsPageTests(MarketFixture market) : NotificationsPageTests<MarketFixture>(market);

/// <summary>NotificationsPageTests on PostgreSQL.</summary>
public sealed class NotificationsPagePostgresTests(PostgresMarketFixture market) : NotificationsPageTests<PostgresMarketFixture>(market);

/// <summary>
/// Issue 18: the notifications page and the header's unread count: viewing marks read, "mark all read" posts with its token,
/// the low-balance threshold form refuses what the API refuses.
/// </summary>
public abstract class NotificationsPageTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    [Fact]
    public async Task HeaderCount_ThenThePage_ShowsTheNotificationNew_AndMarksItRead()
    {
        var user = await WebUser.SignupAsync(market, Roles.Buyer);
        var api = await user.ApiAsync(market);
        Assert.Matches("id=\"notifications-link\" class=\"notes\" href=\"/account/notifications\" title=\"Notifications\"><span class=\"label\">Notifications</span>\\s*</a>", (await user.GetAsync("/account")).Html); // no count
        Assert.Contains("No notifications yet", (await user.GetAsync("/account/notifications")).Html);

        var host = await market.RoomyHostAsync();
        var machine = await api.RegisterAsync("Configuration1", 1000m, 100m);
        await api.StoreAsync(machine.Id, host.Name);
        await api.ActAsync(machine.Id, "start");
        market.Spare.PowerOff(machine.Id);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while ((await api.MachineAsync(machine.Id)).State != "stopped" && DateTime.UtcNow < deadline) await Task.Delay(50);

        Assert.Contains("<span class=\"count\" title=\"1 unread\">1</span>", (await user.GetAsync("/machines")).Html);
        var page = await user.GetAsync("/account/notifications");
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains("class=\"note unread\" data-kind=\"powered-off\"", page.Html);
        Assert.Contains($"Your machine {machine.Name} stopped: it was found powered off on its host.", page.Html);
        Assert.Contains("<span class=\"note-new\">new</span>", page.Html);

        var again = await user.GetAsync("/account/notifications");
        Assert.Contains("class=\"note\" data-kind=\"powered-off\"", again.Html);
        Assert.DoesNotContain("class=\"count\"", again.Html);
    }

    [Fact]
    public async Task MarkAllRead_NeedsItsToken()
    {
        var user = await WebUser.SignupAsync(market, Roles.Provider);

        Assert.Equal(HttpStatusCode.BadRequest, (await user.PostRawAsync("/account/notifications?handler=read", new())).Status);
        var marked = await user.PostFormAsync("/account/notifications?handler=read", new(), formPage: "/account/notifications");
        Assert.Equal((HttpStatusCode.Redirect, "/account/notifications"), (marked.Status, marked.Location));
    }

    [Fact]
    public async Task ThresholdForm_SetsIt_AndRefusesWhatTheApiRefuses()
    {
        var user = await WebUser.SignupAsync(market, Roles.Buyer);
        var api = await user.ApiAsync(market);

        var set = await user.PostFormAsync("/account/notifications?handler=threshold", new() { ["threshold"] = "$12.50" }, formPage: "/account/notifications");
        Assert.Equal(HttpStatusCode.Redirect, set.Status);
        Assert.Equal(12.5m, (await Session.Ok<NotificationSettings>(await api.GetAsync("/api/v1/notifications/settings"))).BalanceThreshold);
        Assert.Contains("value=\"12.5\"", (await user.GetAsync("/account/notifications")).Html);

        var words = await user.PostFormAsync("/account/notifications?handler=threshold", new() { ["threshold"] = "lots" }, formPage: "/account/notifications");
        Assert.Equal((HttpStatusCode.BadRequest, ErrorCodes.Validation), (words.Status, words.ProblemCode));
        var negative = await user.PostFormAsync("/account/notifications?handler=threshold", new() { ["threshold"] = "-3" }, formPage: "/account/notifications");
        Assert.Equal((HttpStatusCode.BadRequest, ErrorCodes.Validation), (negative.Status, negative.ProblemCode));
        Assert.Equal(12.5m, (await Session.Ok<NotificationSettings>(await api.GetAsync("/api/v1/notifications/settings"))).BalanceThreshold);

        await user.PostFormAsync("/account/notifications?handler=threshold", new() { ["threshold"] = "" }, formPage: "/account/notifications");
        Assert.Null((await Session.Ok<NotificationSettings>(await api.GetAsync("/api/v1/notifications/settings"))).BalanceThreshold);
    }

    [Fact]
    public async Task Page_WithoutALogIn_GoesToTheLogIn()
    {
        var page = await WebUser.Anonymous(market).GetAsync("/account/notifications");
        Assert.Equal(HttpStatusCode.Redirect, page.Status);
        Assert.StartsWith("/login", page.Location);
    }
}
