using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Market;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Web;

/// <summary>WebPageTests on SQLite.</summary>
public sealed class WebPageTests(MarketFixture market) : WebPageTests<MarketFixture>(market);

/// <summary>WebPageTests on PostgreSQL.</summary>
public sealed class WebPagePostgresTests(PostgresMarketFixture market) : WebPageTests<PostgresMarketFixture>(market);

/// <summary>
/// The web interface in process, on fake agents (issue 3 items 1, 3, 4): every page renders for its kind of user and
/// in its empty state; role, ownership and state are refused exactly as the API refuses them; forms need their
/// anti-forgery token; the session cookie is HttpOnly, SameSite, Secure over HTTPS, new on every log-in and dead
/// after log-out; the log-in form answers 429 when hammered.
/// </summary>
public abstract class WebPageTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    // ---- pages render ----

    [Fact]
    public async Task Home_Anonymous_ShowsTheSetupLinkAndLogIn()
    {
        var home = await WebUser.Anonymous(market).GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, home.Status);
        Assert.Contains("href=\"/setup\"", home.Html);
        Assert.Contains("href=\"/login\"", home.Html);
        var setup = await WebUser.Anonymous(market).GetAsync("/setup");
        Assert.Equal(HttpStatusCode.OK, setup.Status);
        Assert.Contains("virtuoso-agent", setup.Html);
        Assert.Contains("--secret-file", setup.Html);
    }

    [Fact]
    public async Task FreshBuyerAndProvider_EveryPageRenders_WithItsEmptyState()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        Assert.Contains("You have no machines yet", (await Ok(buyer, "/machines")).Html);
        Assert.Contains("No machines yet, so nothing is charged", (await Ok(buyer, "/account")).Html);
        Assert.Contains("Configuration1", (await Ok(buyer, "/configurations")).Html);
        Assert.Contains("linux-busybox", (await Ok(buyer, "/configurations")).Html);
        Assert.Contains("alpha", (await Ok(buyer, "/market")).Html);
        Assert.Contains("name=\"Form.StorageBid\"", (await Ok(buyer, "/machines/register?config=linux-busybox")).Html);

        var provider = await WebUser.SignupAsync(market, Roles.Provider);
        Assert.Contains("You have no hosts yet", (await Ok(provider, "/hosts")).Html);
        Assert.Contains("You have no hosts yet", (await Ok(provider, "/account")).Html);
        var addHost = (await Ok(provider, "/hosts/add")).Html;
        Assert.Contains("name=\"Form.Secret\"", addHost);
        Assert.Contains("name=\"Form.PublicAddress\"", addHost);
        Assert.Contains("name=\"Form.Ports\"", addHost);
        await Ok(provider, "/market");
        await Ok(provider, "/setup");
    }

    [Fact]
    public async Task ARunningMachine_ShowsTheSshCommandToPaste_OnMyComputersAndItsPage()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        var api = await buyer.ApiAsync(market);
        var (machine, _) = await api.StoredMachineAsync("linux-busybox");
        var started = await api.ActAsync(machine.Id, "start");
        var ssh = $"ssh -p {started.Ssh!.Port} root@{started.Ssh.Address}";

        Assert.Contains(ssh, (await Ok(buyer, "/machines")).Html);
        Assert.Contains(ssh, (await Ok(buyer, $"/machines/{machine.Id}")).Html);

        await api.ActAsync(machine.Id, "stop");
        Assert.DoesNotContain("data-ssh", (await Ok(buyer, "/machines")).Html);
    }

    [Fact]
    public async Task BuyerWithAStoredMachine_EveryPageRenders_WithPricesAndTimeline()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        var (machine, host) = await (await buyer.ApiAsync(market)).StoredMachineAsync("linux-busybox");
        var mine = await Ok(buyer, "/machines");
        Assert.Contains($"data-machine=\"{machine.Id}\" data-state=\"stored\"", mine.Html);
        var detail = await Ok(buyer, $"/machines/{machine.Id}");
        Assert.Contains("registered", detail.Html); // the timeline's first event
        Assert.Contains("stored", detail.Html);
        Assert.Contains("Virtuoso guest ready", detail.Html); // the fake agent's serial log
        var account = await Ok(buyer, "/account");
        Assert.Contains($"$30 per 30 days", account.Html);
        Assert.Contains("not currently running", account.Html);
        Assert.Contains("$1 per day of storage", account.Html); // 30 / 30 days
        Assert.Contains("id=\"ledger\"", account.Html);
        var serial = await buyer.Http.GetAsync($"/machines/{machine.Id}/serial");
        Assert.Equal(FakeAgent.SerialText, await serial.Content.ReadAsStringAsync());
        var csv = await buyer.Http.GetAsync("/account/statement?month=" + DateTime.UtcNow.ToString("yyyy-MM"));
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        Assert.Contains("registration-fee", await csv.Content.ReadAsStringAsync());

        // The provider sees the machine and its income on the host.
        var provider = await LoginAsAsync(market.Provider.Username, market.Provider.Password);
        Assert.Contains(machine.Id.ToString(), (await Ok(provider, "/hosts")).Html);
        var income = await Ok(provider, "/account");
        Assert.Contains($"data-machine=\"{machine.Id}\"", income.Html);
        Assert.Contains(host.Name, income.Html);
    }

    // ---- role, ownership, state: as the API ----

    [Fact]
    public async Task Anonymous_IsSentToLogIn_AndWrongRole_Gets403()
    {
        var anon = WebUser.Anonymous(market);
        foreach (var path in new[] { "/machines", "/hosts", "/account", "/hosts/add", "/machines/register" })
        {
            var page = await anon.GetAsync(path);
            Assert.Equal(HttpStatusCode.Redirect, page.Status);
            Assert.StartsWith("/login?returnUrl=", page.Location);
        }
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        var provider = await WebUser.SignupAsync(market, Roles.Provider);
        foreach (var path in new[] { "/hosts", "/hosts/add", "/hosts/alpha/edit" })
            Assert.Equal(HttpStatusCode.Forbidden, (await buyer.GetAsync(path)).Status);
        foreach (var path in new[] { "/machines", "/machines/register", $"/machines/{Guid.NewGuid()}" })
            Assert.Equal(HttpStatusCode.Forbidden, (await provider.GetAsync(path)).Status);
        // A provider's form post to a buyer's action is refused before anything runs.
        var token = (await provider.GetAsync("/hosts/add")).AntiforgeryToken!;
        Assert.Equal(HttpStatusCode.Forbidden, (await provider.PostRawAsync($"/machines/{Guid.NewGuid()}/start", new() { ["__RequestVerificationToken"] = token })).Status);
    }

    [Fact]
    public async Task AnotherBuyersMachine_AnswersExactlyLikeOneThatDoesNotExist_AndChangesNothing()
    {
        var owner = await WebUser.SignupAsync(market, Roles.Buyer);
        var (machine, _) = await (await owner.ApiAsync(market)).StoredMachineAsync();
        var intruder = await WebUser.SignupAsync(market, Roles.Buyer);
        var missing = Guid.NewGuid();
        foreach (var verb in new[] { "start", "delete", "store" })
        {
            var theirs = await intruder.PostFormAsync($"/machines/{machine.Id}/{verb}", new() { ["host"] = "alpha" }, "/machines");
            var none = await intruder.PostFormAsync($"/machines/{missing}/{verb}", new() { ["host"] = "alpha" }, "/machines");
            Assert.Equal(HttpStatusCode.NotFound, theirs.Status);
            Assert.Equal((none.Status, none.ProblemCode, Normal(none.Html, missing)), (theirs.Status, theirs.ProblemCode, Normal(theirs.Html, machine.Id)));
        }
        foreach (var page in new[] { "", "/edit", "/search", "/registered", "/serial", "/delete" })
        {
            var theirs = await intruder.GetAsync($"/machines/{machine.Id}{page}");
            var none = await intruder.GetAsync($"/machines/{missing}{page}");
            Assert.Equal(HttpStatusCode.NotFound, theirs.Status);
            Assert.Equal((none.Status, Normal(none.Html, missing)), (theirs.Status, Normal(theirs.Html, machine.Id)));
        }
        var after = await (await owner.ApiAsync(market)).MachineAsync(machine.Id);
        Assert.Equal(("stored", machine.Version), (after.State, after.Version));
    }

    [Fact]
    public async Task ActionNotAllowedInTheState_IsRefusedWithTheApisStatusAndMessage()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        var api = await buyer.ApiAsync(market);
        var machine = await api.RegisterAsync("Configuration1", 1000m, 100m);
        var web = await buyer.PostFormAsync($"/machines/{machine.Id}/start", [], "/machines");
        var viaApi = await Problem.AssertAsync(await api.PostAsync($"/api/v1/machines/{machine.Id}/start"), 409, ErrorCodes.InvalidState);
        Assert.Equal(HttpStatusCode.Conflict, web.Status);
        Assert.Equal(ErrorCodes.InvalidState, web.ProblemCode);
        Assert.Contains(Virtuoso.Core.Plain.Sentence(Problem.Detail(viaApi)), web.Problem); // the API's message, said as a sentence
        Assert.Equal("registered", (await api.MachineAsync(machine.Id)).State);
    }

    [Fact]
    public async Task MyComputers_ShowsExactlyTheActionsEachStateAllows_AndTheFormsWork()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        var api = await buyer.ApiAsync(market);
        var host = await market.RoomyHostAsync();
        var machine = await api.RegisterAsync("linux-busybox", 1000m, 100m);
        Assert.Equal(["delete", "edit", "search", "store"], Actions(await Ok(buyer, "/machines"), machine.Id));

        var stored = await buyer.PostFormAsync($"/machines/{machine.Id}/store", new() { ["host"] = host.Name }, $"/machines/{machine.Id}/search");
        Assert.Equal((HttpStatusCode.Redirect, "/machines"), (stored.Status, stored.Location));
        Assert.Equal(["delete", "migrate", "start"], Actions(await Ok(buyer, "/machines"), machine.Id));

        await Act(buyer, machine.Id, "start");
        Assert.Equal(["console", "stop", "suspend"], Actions(await Ok(buyer, "/machines"), machine.Id));
        await Act(buyer, machine.Id, "suspend");
        Assert.Equal(["delete", "migrate", "resume"], Actions(await Ok(buyer, "/machines"), machine.Id));
        await Act(buyer, machine.Id, "resume");
        await Act(buyer, machine.Id, "stop");
        Assert.Equal(["delete", "migrate", "start"], Actions(await Ok(buyer, "/machines"), machine.Id));
        var now = await api.MachineAsync(machine.Id);
        Assert.Equal(("stopped", 3L), (now.State, now.Version));
        var listed = await Ok(buyer, "/machines");
        Assert.Equal(now.Actions.Order(), Actions(listed, machine.Id));
        Assert.Contains($"data-machine=\"{machine.Id}\" data-state=\"stopped\"", listed.Html);
        Assert.Contains($"{machine.Id.ToString()[..8]} · v3</small>", listed.Html);
        // Delete leads to its confirmation page (issue 18), whose form posts the deletion.
        var deleted = await buyer.PostFormAsync($"/machines/{machine.Id}/delete", [], $"/machines/{machine.Id}/delete");
        Assert.Equal((HttpStatusCode.Redirect, "/machines"), (deleted.Status, deleted.Location));
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/api/v1/machines/{machine.Id}")).StatusCode);
    }

    [Fact]
    public async Task RegisterAndEditForms_UseTheApisRules()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        var fields = new Dictionary<string, string>
        {
            ["config"] = "linux-busybox", ["Form.Name"] = "web-box", ["Form.Processor"] = "x86_64", ["Form.Speed"] = "4000", ["Form.Memory"] = "64",
            ["Form.Disk"] = "1000", ["Form.Os"] = "linux", ["Form.StorageBid"] = "30", ["Form.RunningBid"] = "3",
        };
        var tooSmall = await buyer.PostFormAsync("/machines/register", fields, "/machines/register?config=linux-busybox");
        Assert.Equal((HttpStatusCode.BadRequest, ErrorCodes.BelowImageMinimum), (tooSmall.Status, tooSmall.ProblemCode));
        fields["Form.Memory"] = "256";
        var registered = await buyer.PostFormAsync("/machines/register", fields, "/machines/register?config=linux-busybox");
        Assert.Equal(HttpStatusCode.Redirect, registered.Status);
        var confirmation = await Ok(buyer, registered.Location!);
        Assert.Contains("$30</dd>", confirmation.Html.Replace(" per month", "", StringComparison.Ordinal));
        var id = Guid.Parse(registered.Location!.Split('/')[2]);
        fields.Remove("config");
        fields["Form.RunningBid"] = "not-a-number";
        var garbled = await buyer.PostFormAsync($"/machines/{id}/edit", fields);
        Assert.Equal((HttpStatusCode.BadRequest, ErrorCodes.Validation), (garbled.Status, garbled.ProblemCode));
        fields["Form.RunningBid"] = "2.5";
        Assert.Equal(HttpStatusCode.Redirect, (await buyer.PostFormAsync($"/machines/{id}/edit", fields)).Status);
        Assert.Equal(2.5m, (await (await buyer.ApiAsync(market)).MachineAsync(id)).RunningBid);
    }

    [Fact]
    public async Task Provider_AddsEditsAndDeletesAHost_LockedFieldsStayLocked()
    {
        var provider = await WebUser.SignupAsync(market, Roles.Provider);
        var name = MarketFixture.UniqueName("webhost");
        var fields = new Dictionary<string, string>
        {
            ["Form.Name"] = name, ["Form.Address"] = "127.0.0.1", ["Form.Port"] = market.Spare.Port.ToString(), ["Form.Processor"] = "x86_64",
            ["Form.ConnectSpeed"] = "1 Gbit/s", ["Form.Secret"] = market.Spare.Secret, ["Form.Speed"] = "10000", ["Form.Memory"] = "4096", ["Form.Storage"] = "20000",
            ["Form.SpeedUnit"] = "1000", ["Form.SpeedPrice"] = "0.00001", ["Form.MemoryUnit"] = "4", ["Form.MemoryPrice"] = "0.00001", ["Form.RunningPeriod"] = "3600",
            ["Form.StorageUnit"] = "100", ["Form.StoragePrice"] = "0.01", ["Form.StoragePeriod"] = "30",
        };
        Assert.Equal(HttpStatusCode.Redirect, (await provider.PostFormAsync("/hosts/add", fields)).Status);
        var again = await provider.PostFormAsync("/hosts/add", fields);
        Assert.Equal((HttpStatusCode.Conflict, ErrorCodes.HostNameTaken), (again.Status, again.ProblemCode));

        var edit = await Ok(provider, $"/hosts/{name}/edit");
        Assert.Matches("name=\"Form.Speed\"[^>]*disabled", edit.Html);
        fields["Form.Speed"] = "99"; // locked: posting it anyway changes nothing
        fields["Form.StoragePrice"] = "0.1";
        Assert.Equal(HttpStatusCode.Redirect, (await provider.PostFormAsync($"/hosts/{name}/edit", fields)).Status);
        var host = await (await provider.ApiAsync(market)).HostAsync(name);
        Assert.Equal((10000L, 0.1m), (host.Speed, host.StoragePrice));
        Assert.Contains("data-reserved=\"0\" data-total=\"10000\"", (await Ok(provider, "/hosts")).Html);
        Assert.Contains(name, (await Ok(provider, "/market")).Html);

        // Another provider's host answers like a missing one.
        var other = await WebUser.SignupAsync(market, Roles.Provider);
        var theirs = await other.PostFormAsync($"/hosts/{name}/delete", [], "/hosts");
        var none = await other.PostFormAsync("/hosts/no-such-host/delete", [], "/hosts");
        Assert.Equal(HttpStatusCode.NotFound, theirs.Status);
        Assert.Equal(none.Problem!.Replace("no-such-host", name, StringComparison.Ordinal), theirs.Problem);
        Assert.Equal(HttpStatusCode.Redirect, (await provider.PostFormAsync($"/hosts/{name}/delete", [])).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await (await provider.ApiAsync(market)).GetAsync($"/api/v1/hosts/{name}")).StatusCode);
    }

    [Fact]
    public async Task Configurations_DrawEachEstimateOverTime_AsInlineSvg()
    {
        await market.Factory.Services.GetRequiredService<PriceAverageDaemon>().PassAsync();
        var page = await Ok(WebUser.Anonymous(market), "/configurations");
        Assert.Contains("<svg class=\"chart price-chart\" data-config=\"linux-busybox\"", page.Html);
        Assert.Contains("<path d=\"M", page.Html);
    }

    // ---- forms and sessions ----

    [Fact]
    public async Task PostWithoutAntiforgeryToken_IsRefused_AndChangesNothing()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        var api = await buyer.ApiAsync(market);
        var machine = await api.RegisterAsync("Configuration1", 1000m, 100m);
        var forged = await buyer.PostRawAsync($"/machines/{machine.Id}/delete", []);
        Assert.Equal(HttpStatusCode.BadRequest, forged.Status);
        Assert.Contains("anti-forgery", forged.Html);
        Assert.Equal("registered", (await api.MachineAsync(machine.Id)).State);
        // Another user's token does not do either.
        var other = await WebUser.SignupAsync(market, Roles.Buyer);
        var token = (await other.GetAsync("/machines")).AntiforgeryToken!;
        Assert.Equal(HttpStatusCode.BadRequest, (await buyer.PostRawAsync($"/machines/{machine.Id}/delete", new() { ["__RequestVerificationToken"] = token })).Status);
        Assert.Equal("registered", (await api.MachineAsync(machine.Id)).State);
    }

    [Fact]
    public async Task SessionCookie_IsHttpOnlyAndSameSite_SecureOnlyOverHttps()
    {
        var name = MarketFixture.UniqueName("cookie");
        var http = WebUser.Anonymous(market);
        var signup = await http.PostFormAsync("/signup", new() { ["username"] = name, ["email"] = "c@example.org", ["password"] = "cookie-password", ["type"] = Roles.Buyer });
        var cookie = SetCookie(signup);
        Assert.Contains("httponly", cookie);
        Assert.Contains("samesite=lax", cookie);
        Assert.DoesNotContain("secure", cookie);

        var https = WebUser.Anonymous(market, "https");
        var login = await https.PostFormAsync("/login", new() { ["username"] = name, ["password"] = "cookie-password" });
        Assert.Equal(HttpStatusCode.Redirect, login.Status);
        var secure = SetCookie(login);
        Assert.Contains("secure", secure);
        Assert.Contains("httponly", secure);
        // Issue 20: HSTS under HTTPS only (over plain HTTP the header would mean nothing, and must not be sent).
        Assert.Equal("max-age=31536000", login.Response.Headers.GetValues("Strict-Transport-Security").Single());
        Assert.False(signup.Response.Headers.Contains("Strict-Transport-Security"));
    }

    [Fact]
    public async Task EveryLogIn_GetsANewSession_AndTheOldOneStopsWorking_AsDoesALoggedOutOne()
    {
        var user = await WebUser.SignupAsync(market, Roles.Buyer);
        var first = user.SessionCookie!;
        Assert.Equal(HttpStatusCode.Redirect, (await user.LoginAsync()).Status);
        var second = user.SessionCookie!;
        Assert.NotEqual(first, second);
        Assert.Equal(HttpStatusCode.Redirect, (await WithCookie(first).GetAsync("/machines")).Status); // the old session is gone
        Assert.Equal(HttpStatusCode.OK, (await WithCookie(second).GetAsync("/machines")).Status);

        var logout = await user.PostFormAsync("/logout", [], "/machines");
        Assert.Equal(HttpStatusCode.Redirect, logout.Status);
        Assert.Equal(HttpStatusCode.Redirect, (await WithCookie(second).GetAsync("/machines")).Status);
        Assert.Equal(0L, await market.CountAsync("SELECT COUNT(*) FROM sessions WHERE username = @u", ("u", user.Username)));
    }

    [Fact]
    public async Task CookieSession_HasTheBearersPrincipalShape_AndTheApiIgnoresTheCookie()
    {
        var user = await WebUser.SignupAsync(market, Roles.Buyer);
        // The API stays bearer-only: a cookie does not authenticate it (no cross-site form can reach it).
        Assert.Equal(HttpStatusCode.Unauthorized, (await user.Http.GetAsync("/api/v1/account")).StatusCode);
        var api = await user.ApiAsync(market);
        Assert.Equal(user.Username, (await api.AccountAsync()).Username);
    }

    [Fact]
    public async Task LogIn_HammeredOnOneAccount_Answers429_WithoutCheckingThePassword()
    {
        var user = await WebUser.SignupAsync(market, Roles.Buyer);
        var anon = WebUser.Anonymous(market);
        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
            answers.Add((await anon.PostFormAsync("/login", new() { ["username"] = user.Username, ["password"] = "wrong-password" })).Status);
        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.Unauthorized, 5), HttpStatusCode.TooManyRequests], answers);
        var limited = await anon.PostFormAsync("/login", new() { ["username"] = user.Username, ["password"] = user.Password });
        Assert.Equal((HttpStatusCode.TooManyRequests, ErrorCodes.RateLimited), (limited.Status, limited.ProblemCode));
        Assert.Null(anon.SessionCookie);
        // Another account from the same address is not blocked by it.
        var other = await WebUser.SignupAsync(market, Roles.Buyer);
        Assert.Equal(HttpStatusCode.Redirect, (await WebUser.Anonymous(market).PostFormAsync("/login", new() { ["username"] = other.Username, ["password"] = other.Password })).Status);
    }

    [Fact]
    public async Task LogIn_HammeredFromOneAddress_Answers429_WhateverTheAccounts()
    {
        // A second front-end on the same database whose per-address limit is 2 posts a minute.
        await using var strict = market.Factory.WithWebHostBuilder(b => b.UseSetting("Virtuoso:LoginAttemptsPerAddressPerMinute", "2"));
        var statuses = new List<HttpStatusCode>();
        var address = TestClientAddress.Fresh(); // its own address: the failures are counted in the shared database
        for (var i = 0; i < 3; i++)
        {
            var http = strict.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
            http.DefaultRequestHeaders.Add(TestClientAddress.Header, address);
            var form = await http.GetStringAsync("/login");
            var token = System.Text.RegularExpressions.Regex.Match(form, "name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"").Groups[1].Value;
            var answer = await http.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
                { ["username"] = MarketFixture.UniqueName("nobody"), ["password"] = "whatever-password", ["__RequestVerificationToken"] = token }));
            statuses.Add(answer.StatusCode);
            if (answer.StatusCode == HttpStatusCode.TooManyRequests) Assert.Contains("Too many attempts", await answer.Content.ReadAsStringAsync());
        }
        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests], statuses);
    }

    // ---- helpers ----

    /// <summary>A page with the machine id and the anti-forgery tokens (random per page) taken out, to compare two answers whole.</summary>
    private static string Normal(string html, Guid id) =>
        System.Text.RegularExpressions.Regex.Replace(html.Replace(id.ToString(), "ID", StringComparison.Ordinal), "value=\"CfDJ[^\"]+\"", "value=\"TOKEN\"");

    private static async Task<WebUser.Page> Ok(WebUser user, string path)
    {
        var page = await user.GetAsync(path);
        Assert.True(page.Status == HttpStatusCode.OK, $"GET {path} answered {(int)page.Status} {page.Location}: {page.Problem}");
        Assert.Null(page.Problem);
        return page;
    }

    private static async Task Act(WebUser buyer, Guid id, string verb)
    {
        var done = await buyer.PostFormAsync($"/machines/{id}/{verb}", [], "/machines");
        Assert.True(done.Status == HttpStatusCode.Redirect, $"{verb} answered {(int)done.Status}: {done.Problem}");
    }

    /// <summary>The actions the machine's row offers: its links and buttons, by the addresses they lead to.</summary>
    private static List<string> Actions(WebUser.Page page, Guid id)
    {
        var start = page.Html.IndexOf($"data-machine=\"{id}\"", StringComparison.Ordinal);
        Assert.True(start >= 0, $"machine {id} is not on the page");
        var row = page.Html[start..page.Html.IndexOf("</tr>", start, StringComparison.Ordinal)];
        var actions = System.Text.RegularExpressions.Regex.Matches(row, $"(?:href|action)=\"/machines/{id}/(\\w+)(?:#hosts)?\"")
            .Select(m => m.Groups[1].Value).ToList();
        // Search and store both lead to the search page: the store link carries #hosts.
        if (row.Contains($"/machines/{id}/search#hosts", StringComparison.Ordinal)) { actions.Remove("search"); actions.Add("store"); }
        return actions.Order().ToList();
    }

    private WebUser WithCookie(string session)
    {
        var user = WebUser.Anonymous(market);
        user.Cookies.Add(new Uri("http://localhost"), new Cookie("virtuoso_session", session));
        return user;
    }

    private async Task<WebUser> LoginAsAsync(string username, string password)
    {
        var user = WebUser.Anonymous(market);
        Assert.Equal(HttpStatusCode.Redirect, (await user.PostFormAsync("/login", new() { ["username"] = username, ["password"] = password })).Status);
        return user;
    }

    private static string SetCookie(WebUser.Page page) =>
        page.Response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("virtuoso_session=", StringComparison.Ordinal)).ToLowerInvariant();

    [Fact]
    public async Task Ledger_AndTimeline_APageAtATime_WithALinkToOlderAndOneBackToTheNewest()
    {
        // Issue 13: lists are paged by a cursor, newest first, 50 to a page.
        var user = await WebUser.SignupAsync(market, Roles.Buyer);
        var api = await user.ApiAsync(market);
        var machine = await api.RegisterAsync("Configuration1", 3m, 1m);
        for (var i = 0; i < 50; i++) // 50 more fees: 52 transfers with the opening credit and the first fee
            await api.RegisterAsync("Configuration1", 3m, 1m);
        for (var i = 0; i < 50; i++) // 51 events of the first machine with its registration
            Assert.Equal(HttpStatusCode.OK, (await api.PatchAsync($"/api/v1/machines/{machine.Id:D}", new EditMachineRequest(null, null, null, null, null, null, 3m + i, null))).StatusCode);

        var newest = await user.GetAsync("/account");
        var olderHref = System.Text.RegularExpressions.Regex.Match(newest.Html, "href=\"(/account\\?before=[0-9]+)#ledger\" id=\"ledger-older\"").Groups[1].Value;
        Assert.NotEqual("", olderHref);
        Assert.DoesNotContain("opening-credit", newest.Html);
        var older = await user.GetAsync(olderHref);
        Assert.Contains("opening-credit", older.Html);
        Assert.Contains("id=\"ledger-newest\"", older.Html);
        Assert.DoesNotContain("id=\"ledger-older\"", older.Html);

        var timeline = await user.GetAsync($"/machines/{machine.Id:D}");
        Assert.Contains("id=\"events-older\"", timeline.Html);
        Assert.DoesNotContain("title=\"registered\">Registered<", timeline.Html);
        var href = System.Net.WebUtility.HtmlDecode(System.Text.RegularExpressions.Regex.Match(timeline.Html, "href=\"([^\"]+)#timeline\" id=\"events-older\"").Groups[1].Value);
        var first = await user.GetAsync(href);
        Assert.Contains("title=\"registered\">Registered<", first.Html);
        Assert.Contains("id=\"events-newest\"", first.Html);
    }
}
