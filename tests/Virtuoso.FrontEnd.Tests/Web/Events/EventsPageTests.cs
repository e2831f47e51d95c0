using System.Net;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Tests.Events;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Web.Events;

/// <summary>Issue 19 point 3: the operator's page of all events, /events.</summary>
public sealed class EventsPageTests(EventsMarket market) : IClassFixture<EventsMarket>
{
    private async Task<WebUser> OperatorAsync()
    {
        var anon = WebUser.Anonymous(market);
        var op = new WebUser(anon.Http, anon.Cookies, Ledger.Operator, EventsMarket.OperatorPassword);
        Assert.Equal(HttpStatusCode.Redirect, (await op.LoginAsync()).Status);
        return op;
    }

    [Fact]
    public async Task Operator_SeesTheAgentsEventsAndTheFrontEnds_FiltersThem_AndIsLinkedToThePage()
    {
        var (host, agent) = await market.OwnHostAsync();
        await using var _ = agent;
        var machine = Guid.NewGuid();
        agent.AppendEvent("accelerator", state: "tcg", detail: "no /dev/kvm here");
        agent.AppendEvent("vmmp", machine, detail: "QUERY from 10.0.0.9");
        await market.Collector.CollectAllAsync();
        var op = await OperatorAsync();

        var all = await op.GetAsync("/events");
        Assert.Equal(HttpStatusCode.OK, all.Status);
        Assert.Contains("href=\"/events\">All events</a>", all.Html);
        Assert.Contains("QUERY from 10.0.0.9", all.Html);
        Assert.Contains("data-kind=\"host-added\" data-origin=\"front-end\"", all.Html);

        var onlyVmmp = await op.GetAsync($"/events?host={host}&kind=vmmp");
        Assert.Contains("QUERY from 10.0.0.9", onlyVmmp.Html);
        Assert.DoesNotContain("no /dev/kvm here", onlyVmmp.Html);
        Assert.Contains($"value=\"{host}\"", onlyVmmp.Html); // the form keeps the filters

        var none = await op.GetAsync($"/events?host={host}&kind=migrated");
        Assert.Contains("id=\"no-events\"", none.Html);
        Assert.Contains($"No events match host {host}, kind migrated", none.Html);
    }

    [Fact]
    public async Task Operator_PagesOlderEvents_KeepingTheFilters()
    {
        var (host, agent) = await market.OwnHostAsync();
        await using var _ = agent;
        var t = DateTimeOffset.UtcNow;
        for (var i = 0; i < 51; i++) agent.AppendEvent("failed", Guid.NewGuid(), t.AddMilliseconds(i), detail: $"failure number {i}.");
        await market.Collector.CollectAllAsync();
        var op = await OperatorAsync();

        var first = await op.GetAsync($"/events?host={host}");
        var older = System.Text.RegularExpressions.Regex.Match(first.Html, "href=\"([^\"]+)\" id=\"events-older\"").Groups[1].Value;
        Assert.StartsWith($"/events?host={host}&amp;before=", older);
        var second = await op.GetAsync(WebUtility.HtmlDecode(older));

        Assert.Contains("failure number 50.", first.Html);
        Assert.DoesNotContain("failure number 0.", first.Html);
        Assert.Contains("failure number 0.", second.Html);
        Assert.DoesNotContain("failure number 1.", second.Html);
        Assert.Contains("id=\"events-newest\"", second.Html);
    }

    [Theory]
    [InlineData("?machine=not-an-id", ErrorCodes.InvalidFilter)]
    [InlineData("?kind=DROP%20TABLE", ErrorCodes.InvalidFilter)]
    [InlineData("?before=x", ErrorCodes.InvalidCursor)]
    public async Task ABadFilter_IsShownWith400(string query, string code)
    {
        var page = await (await OperatorAsync()).GetAsync("/events" + query);

        Assert.Equal(HttpStatusCode.BadRequest, page.Status);
        Assert.Equal(code, page.ProblemCode);
        Assert.DoesNotContain("id=\"no-events\"", page.Html);
    }

    [Fact]
    public async Task OthersMayNotSeeIt_NorAreLinkedToIt()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);

        var page = await buyer.GetAsync("/events");

        Assert.Equal(HttpStatusCode.Forbidden, page.Status);
        Assert.DoesNotContain("href=\"/events\"", (await buyer.GetAsync("/machines")).Html);
        Assert.Equal(HttpStatusCode.Redirect, (await WebUser.Anonymous(market).GetAsync("/events")).Status);
    }
}
