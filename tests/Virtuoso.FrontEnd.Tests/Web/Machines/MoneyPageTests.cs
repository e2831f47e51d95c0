using System.Net;
using System.Text.RegularExpressions;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Web.Machines;

/// <summary>
/// Issue 18 on the pages: search sorted by the monthly total for the hours the buyer states (730 assumed and said), the
/// break-even between hosts, rates in human units, reasons as sentences with their code in a title; the delete
/// confirmation page that states what is given up and deletes only on its POST; host delete stating buyers' losses.
/// alpha and beta are the fixture's virt8- and virt13-priced hosts: $3/month + $2.448/hour and $30/month + $0.3744/hour
/// for linux-busybox.
/// </summary>
public sealed class MoneyPageTests(MarketFixture market) : IClassFixture<MarketFixture>
{
    private const string Busybox = "linux-busybox";

    private static string Text(WebUser.Page page) => WebUtility.HtmlDecode(page.Html);

    private static int Row(WebUser.Page page, string host)
    {
        var at = page.Html.IndexOf($"data-host=\"{host}\"", StringComparison.Ordinal);
        Assert.True(at >= 0, $"no row for {host}");
        return at;
    }

    private static async Task<WebUser.Page> Ok(WebUser user, string path)
    {
        var page = await user.GetAsync(path);
        Assert.True(page.Status == HttpStatusCode.OK, $"GET {path} answered {(int)page.Status}: {page.Problem}");
        Assert.Null(page.Problem);
        return page;
    }

    [Fact]
    public async Task Search_SortsByTheMonthlyTotalForTheHours_ShowsTheBreakEven_AndHumanRates()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        var machine = await (await buyer.ApiAsync(market)).RegisterAsync(Busybox, 30m, 3m);

        var few = await Ok(buyer, $"/machines/{machine.Id}/search?hours=5");
        Assert.True(Row(few, "alpha") < Row(few, "beta"), "alpha is cheaper at 5 hours a month");
        Assert.Contains("data-total=\"15.24\"", few.Html);
        Assert.Contains("<strong>$15.24</strong>", few.Html);
        Assert.Contains("<strong>$31.87</strong>", few.Html); // 31.872 to the cent
        Assert.Contains("beta is cheaper than alpha above 13 h/month", Text(few));
        Assert.Contains("value=\"5\"", few.Html);
        Assert.Contains("assume <strong>5 hours a month</strong>", few.Html);
        Assert.DoesNotContain("always on", few.Html);
        // Rates in human units, the host's per-period figures in a detail line, never "3600 seconds".
        Assert.Contains("$3/month storage ($3/GB-month), $2.448/hour running", Text(few));
        Assert.Contains("$3 per 30 days storage period, $2.448 per 1 h running period", Text(few));
        Assert.DoesNotContain("seconds", few.Html);

        var many = await Ok(buyer, $"/machines/{machine.Id}/search?hours=100");
        Assert.True(Row(many, "beta") < Row(many, "alpha"), "beta is cheaper at 100 hours a month");
        Assert.Contains("alpha is cheaper than beta below 13 h/month", Text(many));

        var unsaid = await Ok(buyer, $"/machines/{machine.Id}/search");
        Assert.Contains("assume <strong>730 hours a month</strong> of running (always on)", unsaid.Html);
        Assert.Contains("href=\"#hours\">change</a>", unsaid.Html);
        Assert.True(Row(unsaid, "beta") < Row(unsaid, "alpha"));
    }

    [Theory]
    [InlineData("745")]
    [InlineData("-3")]
    [InlineData("often")]
    public async Task Search_BadHours_Is400WithTheApisCode_AndKeepsWhatWasTyped(string hours)
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        var machine = await (await buyer.ApiAsync(market)).RegisterAsync(Busybox, 30m, 3m);

        var page = await buyer.GetAsync($"/machines/{machine.Id}/search?hours={hours}");

        Assert.Equal((HttpStatusCode.BadRequest, ErrorCodes.InvalidHours), (page.Status, page.ProblemCode));
        Assert.Contains($"value=\"{hours}\"", page.Html);
        Assert.DoesNotContain("data-host=\"alpha\"", page.Html);
    }

    [Fact]
    public async Task Search_ReasonsAreSentences_WithTheCodeInATitle()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        var machine = await (await buyer.ApiAsync(market)).RegisterAsync(Busybox, 3m, 0.3m);

        var page = await Ok(buyer, $"/machines/{machine.Id}/search");

        var beta = Text(page)[Row(page, "beta")..];
        Assert.Contains("title=\"over-storage-bid\" data-code=\"over-storage-bid\">Your storage bid ($3/month) is below this host's price ($30/month).</span>", beta);
        Assert.Contains("title=\"over-running-bid\" data-code=\"over-running-bid\">Your running bid ($0.3/hour) is below this host's price ($0.3744/hour).</span>", beta);
        Assert.DoesNotContain("over-storage-bid;", page.Html);
    }

    [Fact]
    public async Task DeletePage_StatesWhatIsGivenUp_OnlyItsPostDeletes_AndNoInlineScript()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        var api = await buyer.ApiAsync(market);
        var machine = await api.RegisterAsync(Busybox, 30m, 3m);
        await api.StoreAsync(machine.Id, (await market.RoomyHostAsync()).Name);
        var paidUntil = (DateTimeOffset.UtcNow + TimeSpan.FromDays(30)).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

        var list = await Ok(buyer, "/machines");
        Assert.Contains($"href=\"/machines/{machine.Id}/delete\"", list.Html);
        Assert.DoesNotContain("onclick", list.Html);
        Assert.DoesNotContain("confirm(", list.Html);
        Assert.DoesNotContain("onclick", (await Ok(buyer, $"/machines/{machine.Id}")).Html);

        var confirm = await Ok(buyer, $"/machines/{machine.Id}/delete");
        Assert.Contains($"You give up $30.00 of storage already paid (until {paidUntil}).</span> Nothing more is charged.", Text(confirm));
        Assert.Matches($"<form method=\"post\" action=\"/machines/{machine.Id}/delete\"", confirm.Html);
        Assert.NotNull(confirm.AntiforgeryToken);
        Assert.Contains($"<a href=\"/machines/{machine.Id}\">Cancel</a>", confirm.Html);
        Assert.DoesNotContain("onclick", confirm.Html);
        Assert.DoesNotContain("<script>", confirm.Html);
        Assert.Equal("stored", (await api.MachineAsync(machine.Id)).State); // looking changes nothing

        var balance = await api.BalanceAsync();
        var deleted = await buyer.PostFormAsync($"/machines/{machine.Id}/delete", []);
        Assert.Equal((HttpStatusCode.Redirect, "/machines"), (deleted.Status, deleted.Location));
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/api/v1/machines/{machine.Id}")).StatusCode);
        Assert.Equal(balance, await api.BalanceAsync()); // nothing more charged
    }

    [Fact]
    public async Task DeletePage_OfARegisteredMachine_SaysNothingWasPaid_AndOfARunningOne_IsRefused()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        var api = await buyer.ApiAsync(market);
        var registered = await api.RegisterAsync(Busybox, 30m, 3m);
        Assert.Contains("It is on no host: nothing has been paid for it, and nothing is charged.", Text(await Ok(buyer, $"/machines/{registered.Id}/delete")));

        var running = await api.RegisterAsync(Busybox, 30m, 3m);
        await api.StoreAsync(running.Id, (await market.RoomyHostAsync()).Name);
        await api.ActAsync(running.Id, "start");
        var refused = await buyer.GetAsync($"/machines/{running.Id}/delete");
        Assert.Equal((HttpStatusCode.Conflict, ErrorCodes.InvalidState), (refused.Status, refused.ProblemCode));
        Assert.DoesNotContain("method=\"post\" action=\"/machines/" + running.Id + "/delete\"", refused.Html);
        await api.ActAsync(running.Id, "stop");
        // Stopped with (almost) an hour of running prepaid: the page says it goes too.
        Assert.Matches(@"and (59 min|1 h) of prepaid running time \(worth \$0\.37\)", Text(await Ok(buyer, $"/machines/{running.Id}/delete")));
    }

    [Fact]
    public async Task MigratePage_SortsByTotal_AndSaysWhatLeavingGivesUp()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        var api = await buyer.ApiAsync(market);
        var machine = await api.RegisterAsync(Busybox, 1000m, 100m);
        var origin = await market.RoomyHostAsync();
        await api.StoreAsync(machine.Id, origin.Name);

        var few = await Ok(buyer, $"/machines/{machine.Id}/migrate?hours=5");
        Assert.True(Row(few, "alpha") < Row(few, "beta"));
        Assert.Contains("beta is cheaper than alpha above 13 h/month", Text(few));
        Assert.Contains($"Moving now: You give up $30.00 of storage already paid", Text(few));
        Assert.Contains("$30 per 30 days storage period", Text(few));
        var many = await Ok(buyer, $"/machines/{machine.Id}/migrate?hours=100");
        Assert.True(Row(many, "beta") < Row(many, "alpha"));
        var bad = await buyer.GetAsync($"/machines/{machine.Id}/migrate?hours=800");
        Assert.Equal((HttpStatusCode.BadRequest, ErrorCodes.InvalidHours), (bad.Status, bad.ProblemCode));
    }

    [Fact]
    public async Task HostDeletePage_StatesWhatEachBuyerGivesUp_AndThatTheProviderKeepsIt()
    {
        var provider = await WebUser.SignupAsync(market, Roles.Provider);
        var name = MarketFixture.UniqueName("gone");
        await (await provider.ApiAsync(market)).AddHostAsync(HostSpecs.Virt13(name, market.Spare) with { Speed = 100_000, Memory = 100_000, Storage = 100_000 });
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        var api = await buyer.ApiAsync(market);
        var machine = await api.RegisterAsync(Busybox, 1000m, 100m);
        await api.StoreAsync(machine.Id, name);

        var page = await Ok(provider, $"/hosts/{name}/delete");

        var text = Regex.Replace(Regex.Replace(Text(page), "<.*?>", ""), @"\s+", " ");
        Assert.Contains("1 buyer machine is stored on", text);
        Assert.Contains("Nothing already charged is refunded: you keep it, and their owners give up $30.00 of storage and running time they had paid for and not used", text);
        Assert.Contains($"data-machine=\"{machine.Id}\"", page.Html);
        Assert.Contains("$30.00 of storage already paid (until", text);
        var host = await (await provider.ApiAsync(market)).HostAsync(name);
        Assert.Equal(30.00m, host.Machines!.Single().Forfeit!.Storage);
    }

    [Fact]
    public async Task AnotherBuyersDeletePage_AnswersLikeAMissingMachine()
    {
        var owner = await WebUser.SignupAsync(market, Roles.Buyer);
        var machine = await (await owner.ApiAsync(market)).RegisterAsync(Busybox, 30m, 3m);
        var intruder = await WebUser.SignupAsync(market, Roles.Buyer);
        var missing = Guid.NewGuid();
        await Ok(intruder, "/machines"); // the sign-up's one-time notice shown and gone

        var theirs = await intruder.GetAsync($"/machines/{machine.Id}/delete");
        var none = await intruder.GetAsync($"/machines/{missing}/delete");

        Assert.Equal((HttpStatusCode.NotFound, HttpStatusCode.NotFound), (theirs.Status, none.Status));
        Assert.Equal(Normal(none.Html, missing), Normal(theirs.Html, machine.Id));
    }

    /// <summary>The page without what differs between any two answers: the id asked for and the anti-forgery tokens.</summary>
    private static string Normal(string html, Guid id) =>
        Regex.Replace(html.Replace(id.ToString(), "ID", StringComparison.Ordinal), "name=\"__RequestVerificationToken\" type=\"hidden\" value=\"[^\"]+\"", "TOKEN");
}
