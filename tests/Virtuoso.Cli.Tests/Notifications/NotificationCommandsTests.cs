using Virtuoso.Cli.Tests.Support;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Tests.Notifications;

public sealed class NotificationCommandsTests : IAsyncLifetime
{
    private Harness h = null!;

    public async Task InitializeAsync() => h = (await Harness.StartAsync()).LogIn();

    public async Task DisposeAsync() => await h.DisposeAsync();

    private static NotificationResponse[] Notes() =>
    [
        new(7, new DateTimeOffset(2026, 12, 6, 8, 0, 0, TimeSpan.Zero), "host-offline", Samples.WebId, "web-1", "The host of your machine web-1 is offline.",
            "The host virt13 of your machine web-1 has not answered since 2026-12-06 07:59:00Z.", false),
        new(3, new DateTimeOffset(2026, 12, 5, 8, 0, 0, TimeSpan.Zero), "balance-low", null, null, "Your balance fell to $4.5, under the $5 you asked to be told at.", null, true),
    ];

    [Fact]
    public async Task Notifications_NewestFirst_NewOnesMarked()
    {
        h.Api.Json("GET /api/v1/notifications", Notes());

        var lines = (await h.RunAsync("notifications")).Succeeded().Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal("2026-12-06 08:00:00Z [new] The host of your machine web-1 is offline.", lines[0]);
        Assert.Equal("    The host virt13 of your machine web-1 has not answered since 2026-12-06 07:59:00Z.", lines[1]);
        Assert.Equal("2026-12-05 08:00:00Z Your balance fell to $4.5, under the $5 you asked to be told at.", lines[2]);
        Assert.Single(h.Api.Requests);
    }

    [Fact]
    public async Task MarkRead_PostsAfterListing()
    {
        h.Api.Json("GET /api/v1/notifications", Notes()).Json("POST /api/v1/notifications/read", new UnreadNotifications(0, 7));

        (await h.RunAsync("notifications", "--mark-read")).Succeeded();

        Assert.Equal(["GET", "POST"], h.Api.Requests.Select(r => r.Method));
    }

    [Fact]
    public async Task BalanceThreshold_IsPut_AndNoneClearsIt()
    {
        h.Api.Json("PUT /api/v1/notifications/settings", new NotificationSettings(5m));
        Assert.Contains("under $5.", (await h.RunAsync("notifications", "--balance-threshold", "5")).Succeeded().Out);
        Assert.Equal(5m, h.Api.Requests[0].BodyAs<NotificationSettings>().BalanceThreshold);

        h.Api.Json("PUT /api/v1/notifications/settings", new NotificationSettings(null));
        (await h.RunAsync("notifications", "--balance-threshold", "none")).Succeeded();
        Assert.Null(h.Api.Requests[1].BodyAs<NotificationSettings>().BalanceThreshold);
    }

    [Fact]
    public async Task BalanceThreshold_NotAnAmount_IsUsage_AndSendsNothing()
    {
        (await h.RunAsync("notifications", "--balance-threshold", "lots")).Failed(2, "usage");
        Assert.Empty(h.Api.Requests);
    }
}
