using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Events;

/// <summary>NotificationApiTests on SQLite, the default dialect.</summary>
public sealed class NotificationApiTests(MarketFixture market) : NotificationApiTests<MarketFixture>(market);

/// <summary>NotificationApiTests on PostgreSQL, production's dialect.</summary>
public sealed class NotificationApiPostgresTests(PostgresMarketFixture market) : NotificationApiTests<PostgresMarketFixture>(market);

/// <summary>
/// Issue 18 through the API: notifications are events of the log (same seq), only the account's own, named by machine,
/// paged like /events; the read marker only moves forward; the low-balance threshold is validated.
/// </summary>
public abstract class NotificationApiTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static async Task<List<NotificationResponse>> ListAsync(Session who, string query = "") =>
        await Session.Ok<List<NotificationResponse>>(await who.GetAsync("/api/v1/notifications" + query));

    private static async Task<int> UnreadAsync(Session who) => (await Session.Ok<UnreadNotifications>(await who.GetAsync("/api/v1/notifications/unread"))).Unread;

    /// <summary>A machine of <paramref name="buyer"/> that its guest powered off: the monitor records it stopped by the system.</summary>
    private async Task<MachineResponse> PoweredOffAsync(Session buyer)
    {
        var host = await market.RoomyHostAsync();
        var machine = await buyer.RegisterAsync("Configuration1", 1000m, 100m);
        await buyer.StoreAsync(machine.Id, host.Name);
        await buyer.ActAsync(machine.Id, "start");
        market.Spare.PowerOff(machine.Id);
        var deadline = DateTime.UtcNow + Patience;
        while ((await buyer.MachineAsync(machine.Id)).State != "stopped" && DateTime.UtcNow < deadline) await Task.Delay(50);
        return machine;
    }

    [Fact]
    public async Task AMachineStoppedByTheSystem_IsANotificationOfItsOwnerOnly_NamedAndUnreadUntilMarked()
    {
        var buyer = await market.SignupAsync(Roles.Buyer, "notified");
        var other = await market.SignupAsync(Roles.Buyer, "not-notified");
        Assert.Empty(await ListAsync(buyer));
        Assert.Equal(0, await UnreadAsync(buyer));

        var machine = await PoweredOffAsync(buyer);

        var note = Assert.Single(await ListAsync(buyer));
        Assert.Equal(("powered-off", machine.Id, machine.Name, $"Your machine {machine.Name} stopped: it was found powered off on its host.", false),
            (note.Kind, note.Machine, note.MachineName, note.Text, note.Read));
        // The same event as the log's, not a copy.
        Assert.Contains(await buyer.EventsAsync(machine.Id), e => e.Seq == note.Seq && e.Kind == "powered-off");
        Assert.Equal(1, await UnreadAsync(buyer));
        Assert.Empty(await ListAsync(other));

        var marked = await Session.Ok<UnreadNotifications>(await buyer.PostAsync("/api/v1/notifications/read", new MarkNotificationsRead()));
        Assert.Equal((0, note.Seq), (marked.Unread, marked.ReadUpTo));
        Assert.True(Assert.Single(await ListAsync(buyer)).Read);
        // The marker never moves back.
        await Session.Ok<UnreadNotifications>(await buyer.PostAsync("/api/v1/notifications/read", new MarkNotificationsRead(1)));
        Assert.Equal(0, await UnreadAsync(buyer));
    }

    [Fact]
    public async Task Notifications_ArePagedLikeTheEventLog()
    {
        var buyer = await market.SignupAsync(Roles.Buyer, "paged");
        await PoweredOffAsync(buyer);
        await PoweredOffAsync(buyer);

        var first = await buyer.GetAsync("/api/v1/notifications?limit=1");
        var page = await Session.Ok<List<NotificationResponse>>(first);
        Assert.Single(page);
        Assert.Contains($"before={page[0].Seq}", first.Headers.GetValues("Link").Single());
        var older = await ListAsync(buyer, $"?limit=1&before={page[0].Seq}");
        Assert.True(Assert.Single(older).Seq < page[0].Seq);
        Assert.Equal(2, await UnreadAsync(buyer));
        await Session.Ok<UnreadNotifications>(await buyer.PostAsync("/api/v1/notifications/read", new MarkNotificationsRead(older[0].Seq)));
        Assert.Equal(1, await UnreadAsync(buyer));
    }

    [Theory]
    [InlineData("?limit=0")]
    [InlineData("?limit=1001")]
    [InlineData("?before=0")]
    public async Task List_BadPaging_IsValidation(string query) =>
        await Problem.AssertAsync(await (await market.SharedBuyerAsync()).GetAsync("/api/v1/notifications" + query), 400, ErrorCodes.Validation);

    [Fact]
    public async Task MarkRead_NegativeSeq_IsValidation() =>
        await Problem.AssertAsync(await (await market.SharedBuyerAsync()).PostAsync("/api/v1/notifications/read", new MarkNotificationsRead(-1)), 400, ErrorCodes.Validation);

    [Fact]
    public async Task Notifications_WithoutALogIn_AreUnauthenticated() =>
        await Problem.AssertAsync(await market.Anonymous().GetAsync("/api/v1/notifications"), 401, ErrorCodes.Unauthenticated);

    [Fact]
    public async Task BalanceThreshold_IsSetClearedAndValidated()
    {
        var buyer = await market.SignupAsync(Roles.Buyer, "threshold");
        Assert.Null((await Session.Ok<NotificationSettings>(await buyer.GetAsync("/api/v1/notifications/settings"))).BalanceThreshold);

        Assert.Equal(12.5m, (await Session.Ok<NotificationSettings>(await buyer.SendAsync(HttpMethod.Put, "/api/v1/notifications/settings", new NotificationSettings(12.5m)))).BalanceThreshold);
        await Problem.AssertAsync(await buyer.SendAsync(HttpMethod.Put, "/api/v1/notifications/settings", new NotificationSettings(-1m)), 400, ErrorCodes.Validation);
        await Problem.AssertAsync(await buyer.SendAsync(HttpMethod.Put, "/api/v1/notifications/settings", new NotificationSettings(2_000_000m)), 400, ErrorCodes.Validation);
        Assert.Equal(12.5m, (await Session.Ok<NotificationSettings>(await buyer.GetAsync("/api/v1/notifications/settings"))).BalanceThreshold);

        Assert.Null((await Session.Ok<NotificationSettings>(await buyer.SendAsync(HttpMethod.Put, "/api/v1/notifications/settings", new NotificationSettings(null)))).BalanceThreshold);
    }
}
