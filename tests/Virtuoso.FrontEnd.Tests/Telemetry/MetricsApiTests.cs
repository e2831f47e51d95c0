using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Billing;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Telemetry;

/// <summary>
/// The classes that read counters run alone: the meter is looked up by name, so a front-end of another class running at
/// the same time in this process could add to what these compare.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "metrics";
}

/// <summary>A market whose <c>/metrics</c> needs a token and whose gauges read the database at every scrape (SQLite).</summary>
public class MetricsMarket : MarketFixture
{
    public const string Token = "metrics-test-token-0123456789";

    public MetricsMarket() : this(new SqliteTestDatabase()) { }

    private protected MetricsMarket(TestDatabase database) : base(database, new Dictionary<string, string?>
    {
        ["Virtuoso:MetricsToken"] = Token,
        ["Virtuoso:MetricsGaugeCacheSeconds"] = "0",
    })
    {
    }

    internal HttpClient Scraper()
    {
        var client = Anonymous();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return client;
    }
}

/// <summary><see cref="MetricsMarket"/> on PostgreSQL, production's dialect (the gauges' queries).</summary>
public sealed class MetricsPostgresMarket() : MetricsMarket(new PostgresTestDatabase());

[Collection(MetricsCollection.Name)]
public sealed class MetricsApiTests(MetricsMarket market) : MetricsApiTests<MetricsMarket>(market);

[Collection(MetricsCollection.Name)]
public sealed class MetricsApiPostgresTests(MetricsPostgresMarket market) : MetricsApiTests<MetricsPostgresMarket>(market);

/// <summary>
/// <c>/metrics</c> of the front-end (issue 19 point 3) through the API on fake agents: counters compared before and after
/// the actions that move them, gauges compared with the database. Written once, run on each dialect.
/// </summary>
public abstract class MetricsApiTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MetricsMarket
{
    private const string Actions = "virtuoso_machine_actions_total";

    [Fact]
    public async Task Metrics_WithTokenSet_AreRefusedWithoutIt_AndServedWithIt()
    {
        await Problem.AssertAsync(await market.Anonymous().GetAsync("/metrics"), 401, ErrorCodes.Unauthenticated);
        var wrong = market.Anonymous();
        wrong.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MetricsMarket.Token + "x");
        await Problem.AssertAsync(await wrong.GetAsync("/metrics"), 401, ErrorCodes.Unauthenticated);

        var scrape = await PrometheusText.ScrapeAsync(market.Scraper());
        Assert.True(scrape.Has("virtuoso_hosts"), "the hosts gauge is there from the start");
    }

    [Fact]
    public async Task StoreAndStart_MoveTheActionCounters_TheRouteCounters_AndTheMachineGauge()
    {
        var buyer = await market.SharedBuyerAsync();
        var host = await market.RoomyHostAsync();
        var machine = await buyer.RegisterAsync("Configuration1", 1_000_000m, 1_000_000m);
        var before = await PrometheusText.ScrapeAsync(market.Scraper());

        await buyer.StoreAsync(machine.Id, host.Name);
        await buyer.ActAsync(machine.Id, "start");
        var after = await PrometheusText.ScrapeAsync(market.Scraper());

        double Moved(string name, params (string, string)[] labels) => after.Sum(name, labels) - before.Sum(name, labels);
        Assert.Equal(1, Moved(Actions, ("action", "store"), ("outcome", "committed")));
        Assert.Equal(1, Moved(Actions, ("action", "start"), ("outcome", "committed")));
        Assert.Equal(0, Moved(Actions, ("action", "stop")));
        Assert.Equal(2, Moved("virtuoso_machine_action_duration_seconds_count"));
        // ASP.NET Core's own request metric, by route template (never the machine's id) and status.
        Assert.Equal(1, Moved("http_server_request_duration_seconds_count", ("http_route", "/api/v1/machines/{id:guid}/start"), ("http_response_status_code", "200")));
        Assert.DoesNotContain(after.Values("http_server_request_duration_seconds_count", "http_route"), r => r.Contains(machine.Id.ToString(), StringComparison.OrdinalIgnoreCase));

        var running = await market.CountAsync("SELECT COUNT(*) FROM machines WHERE state = 'running'");
        Assert.True(running >= 1);
        Assert.Equal(running, after.Sum("virtuoso_machines", ("state", "running")));
        Assert.Equal(await market.CountAsync("SELECT COUNT(*) FROM machines"), after.Sum("virtuoso_machines"));
        Assert.Equal(await market.CountAsync("SELECT COUNT(*) FROM hosts"), after.Sum("virtuoso_hosts"));
        Assert.True(after.Sum("virtuoso_hosts", ("status", "online")) >= 1, "the fake agents answer the host monitor");
    }

    [Fact]
    public async Task AFailedStart_IsCountedWithTheCodeTheBuyerGot()
    {
        var buyer = await market.SharedBuyerAsync();
        var (machine, _) = await StoredAsync(buyer);
        var before = await PrometheusText.ScrapeAsync(market.Scraper());

        market.Spare.FailNext("start");
        var refused = await buyer.PostAsync($"/api/v1/machines/{machine:D}/start");
        await Problem.AssertAsync(refused, 502, ErrorCodes.AgentFailed);
        const string code = ErrorCodes.AgentFailed;
        var after = await PrometheusText.ScrapeAsync(market.Scraper());

        Assert.Equal(1, after.Sum(Actions, ("action", "start"), ("outcome", code)) - before.Sum(Actions, ("action", "start"), ("outcome", code)));
        Assert.Equal(0, after.Sum(Actions, ("action", "start"), ("outcome", "committed")) - before.Sum(Actions, ("action", "start"), ("outcome", "committed")));
    }

    private async Task<(Guid Machine, string Host)> StoredAsync(Session buyer)
    {
        var host = await market.RoomyHostAsync();
        var machine = await buyer.RegisterAsync("Configuration1", 1_000_000m, 1_000_000m);
        await buyer.StoreAsync(machine.Id, host.Name);
        return (machine.Id, host.Name);
    }
}

/// <summary>The billing daemon's metrics, on a clock the test moves (<see cref="BillingMarket"/>: daemons off, passes run by the test).</summary>
[Collection(MetricsCollection.Name)]
public sealed class BillingMetricsTests : IAsyncLifetime
{
    private BillingMarket _market = null!;

    public async Task InitializeAsync() => _market = await BillingMarket.CreateAsync(settings: new Dictionary<string, string> { ["Virtuoso:MetricsGaugeCacheSeconds"] = "0" });

    public async Task DisposeAsync() => await _market.DisposeAsync();

    [Fact]
    public async Task APass_CountsItsDuration_AndTheChargesItMade_ByKindAndAmount()
    {
        var users = await Task.WhenAll(_market.SignupAsync(Roles.Provider), _market.SignupAsync(Roles.Buyer));
        var (host, _) = await _market.AddHostAsync(users[0], BillingDaemonTests.Virt13);
        var buyer = _market.As(users[1]);
        var machine = await buyer.RegisterAsync("Configuration1", 1_000_000m, 1_000_000m);
        await buyer.StoreAsync(machine.Id, host.Name);
        await buyer.ActAsync(machine.Id, "start");
        var scraper = _market.FrontEnd.CreateClient();
        var before = await PrometheusText.ScrapeAsync(scraper);

        _market.Clock.Advance(TimeSpan.FromHours(1)); // the second running period begins: one running charge of 0.2016 (virt13, Configuration1)
        var pass = await _market.PassAsync();
        var after = await PrometheusText.ScrapeAsync(scraper);

        Assert.Equal((0, 1), (pass.StorageCharges, pass.RunningCharges));
        double Moved(string name, params (string, string)[] labels) => after.Sum(name, labels) - before.Sum(name, labels);
        Assert.Equal(1, Moved("virtuoso_billing_pass_duration_seconds_count"));
        Assert.Equal(1, Moved("virtuoso_billing_charges_total", ("kind", "running")));
        Assert.Equal(0, Moved("virtuoso_billing_charges_total", ("kind", "storage")));
        Assert.Equal(0.2016, Moved("virtuoso_billing_charged_dollars_total", ("kind", "running")), 9);
        Assert.Equal(1, after.Sum("virtuoso_machines", ("state", "running")));
    }
}

/// <summary>Trace context (issue 19 point 3): a request's W3C trace id reaches the agent the front-end calls for it.</summary>
public sealed class TraceContextTests(MarketFixture market) : IClassFixture<MarketFixture>
{
    [Fact]
    public async Task AStore_CarriesTheCallersTraceIdToTheAgent_InANewSpan()
    {
        var buyer = await market.SharedBuyerAsync();
        var host = await market.RoomyHostAsync();
        var machine = await buyer.RegisterAsync("Configuration1", 1_000_000m, 1_000_000m);
        var (trace, span) = (ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom());

        using var store = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/machines/{machine.Id:D}/store")
        {
            Content = JsonContent.Create(new StoreRequest(host.Name)),
        };
        store.Headers.Add("traceparent", $"00-{trace}-{span}-01");
        using var response = await buyer.Http.SendAsync(store);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var create = market.Spare.TraceParents.Where(t => t.Path == $"/v1/machines/{machine.Id:D}").ToList();
        Assert.NotEmpty(create);
        foreach (var (_, traceParent) in create)
        {
            var parts = traceParent.Split('-');
            Assert.Equal(4, parts.Length);
            Assert.Equal(trace.ToString(), parts[1]); // the caller's trace
            Assert.NotEqual(span.ToString(), parts[2]); // under the front-end's own span, not the caller's
        }
    }

    [Fact]
    public async Task Metrics_WithoutAToken_ArePublic()
    {
        var scrape = await PrometheusText.ScrapeAsync(market.Anonymous());
        Assert.True(scrape.Has("virtuoso_machines") || scrape.Has("virtuoso_hosts"), "the marketplace's gauges are served");
    }
}
