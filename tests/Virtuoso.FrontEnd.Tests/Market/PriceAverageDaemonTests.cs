using System.Net;
using Dapper;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Market;
using Virtuoso.FrontEnd.Tests.Accounting;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Market;

/// <summary>PriceAverageDaemonTests on SQLite.</summary>
public sealed class PriceAverageDaemonTests() : PriceAverageDaemonTestsBase(postgres: false);

/// <summary>PriceAverageDaemonTests on PostgreSQL.</summary>
public sealed class PriceAverageDaemonPostgresTests() : PriceAverageDaemonTestsBase(postgres: true);

/// <summary>
/// The price-average daemon (design §3.2, report §6.1.9) driven pass by pass on a <see cref="ClockedMarket"/>:
/// estimates are the mean rates over the online hosts with unreserved room; with none the stale estimate stays;
/// the history gets a point on every change and at most one an hour otherwise; GET /configurations writes nothing.
/// Rates (design §3.1): Configuration1 (4000, 64, 100) costs 0.3 $/month and 0.72 $/hour on a virt8-priced host,
/// 3 and 0.2016 on virt13; linux-busybox (4000, 256, 1000) 3 and 2.448 on virt8, 30 and 0.3744 on virt13.
/// </summary>
public abstract class PriceAverageDaemonTestsBase(bool postgres)
{
    private const int Configurations = 12; // Figure 6's ten, linux-busybox and debian-12

    private static AddHostRequest RoomyVirt8(string name, FakeAgent agent) =>
        HostSpecs.Virt8(name, agent) with { Speed = 1_000_000, Memory = 1_000_000, Storage = 1_000_000 };

    private static async Task<ConfigurationResponse> ConfigurationAsync(ClockedMarket market, string name) =>
        (await Session.Ok<List<ConfigurationResponse>>(await market.Anonymous().GetAsync("/api/v1/configurations"))).Single(c => c.Name == name);

    private static async Task<(decimal?, decimal?)> EstimateAsync(ClockedMarket market, string name) =>
        await ConfigurationAsync(market, name) is var c ? (c.EstimatedStorageRate, c.EstimatedRunningRate) : default;

    private static async Task<PriceHistoryResponse> HistoryAsync(ClockedMarket market, string name, string query = "") =>
        await Session.Ok<PriceHistoryResponse>(await market.Anonymous().GetAsync($"/api/v1/configurations/{name}/history{query}"));

    private static Task<long> PointsAsync(ClockedMarket market) => market.Database.CountAsync("SELECT COUNT(*) FROM price_history");

    [Fact]
    public async Task Pass_SetsEachEstimateToTheMeanOverTheHostsWithRoom_AndRecordsOnePointPerConfiguration()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        await market.AddHostAsync(RoomyVirt8);
        await market.AddHostAsync();

        var pass = await market.Service<PriceAverageDaemon>().PassAsync();

        Assert.Equal(new PriceAverageDaemon.PassResult(Configurations, 0, Configurations), pass);
        Assert.Equal((1.65m, 0.4608m), await EstimateAsync(market, "Configuration1"));
        Assert.Equal((16.5m, 1.4112m), await EstimateAsync(market, "linux-busybox"));
        var history = await HistoryAsync(market, "linux-busybox");
        Assert.Equal(("linux-busybox", (decimal?)16.5m, (decimal?)1.4112m), (history.Configuration, history.EstimatedStorageRate, history.EstimatedRunningRate));
        Assert.Equal(new PricePoint(ClockedMarket.Start, 16.5m, 1.4112m), Assert.Single(history.Points));
        // Money is invariant decimal TEXT in price_history as everywhere (Data/Decimals.cs).
        Assert.Equal(("16.5", "1.4112"), await market.Database.Database.ReadAsync(c => c.QuerySingleAsync<(string, string)>(
            "SELECT storage_rate, running_rate FROM price_history WHERE configuration = 'linux-busybox'")));
    }

    [Fact]
    public async Task Pass_LeavesOutHostsWithoutUnreservedRoom_AndOfflineHosts()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        // Room for one Configuration1 (4000 bogomips) and no linux-busybox at all (128 MB of memory).
        var small = await market.AddHostAsync((name, agent) => HostSpecs.Virt8(name, agent) with { Speed = 4000, Memory = 128, Storage = 20000 });
        await market.AddHostAsync();
        var daemon = market.Service<PriceAverageDaemon>();

        await daemon.PassAsync();
        Assert.Equal((1.65m, 0.4608m), await EstimateAsync(market, "Configuration1"));
        Assert.Equal((30m, 0.3744m), await EstimateAsync(market, "linux-busybox"));

        // A stored machine reserves its room, running or not (design §3.2): the small host is full.
        var buyer = await market.SignupAsync(Roles.Buyer);
        var machine = await buyer.RegisterAsync("Configuration1", 1000m, 100m);
        await buyer.StoreAsync(machine.Id, small.Name);
        await daemon.PassAsync();
        Assert.Equal((3m, 0.2016m), await EstimateAsync(market, "Configuration1"));

        // Once it leaves, the small host counts again, but only while online: unseen for more than the 15 s window it does not.
        Assert.Equal(HttpStatusCode.NoContent, (await buyer.DeleteAsync($"/api/v1/machines/{machine.Id:D}")).StatusCode);
        await daemon.PassAsync();
        Assert.Equal((1.65m, 0.4608m), await EstimateAsync(market, "Configuration1"));
        await market.Provider.PatchAsync($"/api/v1/hosts/{small.Name}", new EditHostRequest(null, null, null, null, null, null, null, null, "127.0.0.1", Ports.Closed(), null));
        market.Clock.Advance(TimeSpan.FromSeconds(16));
        await market.SeeHostsAsync();
        await daemon.PassAsync();
        Assert.Equal((3m, 0.2016m), await EstimateAsync(market, "Configuration1"));
    }

    [Fact]
    public async Task Pass_WithNoHostWithRoom_KeepsTheStaleEstimate_AndRecordsNothing()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        await market.AddHostAsync(RoomyVirt8);
        await market.AddHostAsync();
        var daemon = market.Service<PriceAverageDaemon>();
        await daemon.PassAsync();
        var points = await PointsAsync(market);

        // Nobody checks the hosts for 16 s, then for hours: every host is offline, so no host has room.
        market.Clock.Advance(TimeSpan.FromSeconds(16));
        Assert.Equal(new PriceAverageDaemon.PassResult(0, Configurations, 0), await daemon.PassAsync());
        market.Clock.Advance(TimeSpan.FromHours(3));
        Assert.Equal(new PriceAverageDaemon.PassResult(0, Configurations, 0), await daemon.PassAsync());

        Assert.Equal((1.65m, 0.4608m), await EstimateAsync(market, "Configuration1"));
        Assert.Equal(points, await PointsAsync(market));
    }

    [Fact]
    public async Task UnchangedEstimate_IsRecordedAtMostOnceAnHour()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        await market.AddHostAsync();
        var daemon = market.Service<PriceAverageDaemon>();
        await daemon.PassAsync();

        // Passes every minute for just under an hour add nothing.
        for (var minute = 1; minute < 60; minute++)
        {
            market.Clock.SetUtcNow(ClockedMarket.Start + TimeSpan.FromMinutes(minute));
            await market.SeeHostsAsync();
            Assert.Equal(0, (await daemon.PassAsync()).Recorded);
        }
        market.Clock.SetUtcNow(ClockedMarket.Start + TimeSpan.FromHours(1) - TimeSpan.FromMilliseconds(1));
        await market.SeeHostsAsync();
        Assert.Equal(0, (await daemon.PassAsync()).Recorded);

        market.Clock.SetUtcNow(ClockedMarket.Start + TimeSpan.FromHours(1));
        await market.SeeHostsAsync();
        Assert.Equal(Configurations, (await daemon.PassAsync()).Recorded);

        Assert.Equal([new PricePoint(ClockedMarket.Start, 3m, 0.2016m), new PricePoint(ClockedMarket.Start.AddHours(1), 3m, 0.2016m)],
            (await HistoryAsync(market, "Configuration1")).Points);
        Assert.Equal(2 * Configurations, await PointsAsync(market));
    }

    [Fact]
    public async Task ChangedEstimate_IsRecordedAtTheNextPass_AndTheHistoryIsOldestFirst()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        await market.AddHostAsync();
        var daemon = market.Service<PriceAverageDaemon>();
        await daemon.PassAsync();

        market.Clock.Advance(TimeSpan.FromMinutes(1));
        await market.AddHostAsync(RoomyVirt8);
        await market.SeeHostsAsync();
        Assert.Equal(Configurations, (await daemon.PassAsync()).Recorded);

        var history = await HistoryAsync(market, "Configuration1");
        Assert.Equal((1.65m, 0.4608m), (history.EstimatedStorageRate, history.EstimatedRunningRate));
        Assert.Equal([new PricePoint(ClockedMarket.Start, 3m, 0.2016m), new PricePoint(ClockedMarket.Start.AddMinutes(1), 1.65m, 0.4608m)], history.Points);

        var since = Uri.EscapeDataString(ClockedMarket.Start.AddSeconds(30).ToString("O"));
        Assert.Equal([new PricePoint(ClockedMarket.Start.AddMinutes(1), 1.65m, 0.4608m)], (await HistoryAsync(market, "Configuration1", $"?since={since}")).Points);
    }

    [Fact]
    public async Task GetConfigurations_WritesNothing_EstimatesComeFromTheDaemonOnly()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        await market.AddHostAsync();

        Assert.All(await Session.Ok<List<ConfigurationResponse>>(await market.Anonymous().GetAsync("/api/v1/configurations")),
            c => Assert.Equal(((decimal?)null, (decimal?)null), (c.EstimatedStorageRate, c.EstimatedRunningRate)));
        Assert.Equal(0, await market.Database.CountAsync("SELECT COUNT(*) FROM configurations WHERE est_storage_rate IS NOT NULL OR est_running_rate IS NOT NULL"));
        Assert.Equal(0, await PointsAsync(market));
        var history = await HistoryAsync(market, "Configuration1");
        Assert.Equal(((decimal?)null, (decimal?)null), (history.EstimatedStorageRate, history.EstimatedRunningRate));
        Assert.Empty(history.Points);

        await market.Service<PriceAverageDaemon>().PassAsync();
        Assert.Equal((3m, 0.2016m), await EstimateAsync(market, "Configuration1"));
    }

    [Fact]
    public async Task TwoReplicasPassingAtOnce_RecordEachPointOnce()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        await market.AddHostAsync();
        var other = market.NewFrontEnd();
        _ = other.Server;
        var daemons = new[] { market.Service<PriceAverageDaemon>(), other.Services.GetService(typeof(PriceAverageDaemon)) as PriceAverageDaemon ?? throw new InvalidOperationException("no daemon") };

        var passes = await Task.WhenAll(daemons.Select(d => Task.Run(() => d.PassAsync())));

        Assert.Equal(Configurations, passes.Sum(p => p.Recorded));
        Assert.Equal(Configurations, await PointsAsync(market));
        Assert.Equal(1, await market.Database.CountAsync("SELECT COUNT(*) FROM price_history WHERE configuration = 'Configuration1'"));
    }

    [Fact]
    public async Task History_OfAnUnknownConfiguration_IsNotFound_AndABadSinceIsAValidationError()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);

        await Problem.AssertAsync(await market.Anonymous().GetAsync("/api/v1/configurations/NoSuchThing/history"), 404, ErrorCodes.UnknownConfiguration);
        await Problem.AssertAsync(await market.Anonymous().GetAsync("/api/v1/configurations/Configuration1/history?since=yesterday"), 400, ErrorCodes.Validation);
        Assert.Equal(HttpStatusCode.OK, (await market.Anonymous().GetAsync("/api/v1/configurations/Configuration1/history")).StatusCode);
    }
}
