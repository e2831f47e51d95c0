using System.Net;
using System.Text.RegularExpressions;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Web;

/// <summary>
/// What every page gets from the layout and the front-end's static files (issue 18): the icon (no page's request for
/// /favicon.ico ends in 404), the tables script, and the role's links both in the wide header and in the phone's menu.
/// </summary>
public sealed partial class WebSetupTests(MarketFixture market) : IClassFixture<MarketFixture>
{
    [Fact]
    public async Task FaviconIco_RedirectsToTheSvgIcon_WhichIsServedAsSvg()
    {
        var anonymous = WebUser.Anonymous(market);
        var ico = await anonymous.GetAsync("/favicon.ico");
        Assert.Equal(HttpStatusCode.Redirect, ico.Status);
        Assert.Equal("/static/favicon.svg", ico.Location);

        var svg = await anonymous.GetAsync("/static/favicon.svg");
        Assert.Equal(HttpStatusCode.OK, svg.Status);
        Assert.Equal("image/svg+xml", svg.Response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("<svg", svg.Html);
    }

    [Fact]
    public async Task AStaticFileThatIsNotThere_IsNotFound()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await WebUser.Anonymous(market).GetAsync("/static/nothing.svg")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await WebUser.Anonymous(market).GetAsync("/static/site.exe")).Status);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(Roles.Buyer)]
    [InlineData(Roles.Provider)]
    public async Task EveryPage_LinksTheIconAndTablesScript_AndOffersTheSameLinksInThePhonesMenu(string? role)
    {
        var user = role is null ? WebUser.Anonymous(market) : await WebUser.SignupAsync(market, role);
        var page = await user.GetAsync(role == Roles.Provider ? "/hosts" : role == Roles.Buyer ? "/machines" : "/");
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains("<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">", page.Html);
        Assert.Contains("<script src=\"/static/tables.js\" defer></script>", page.Html);
        var script = await user.GetAsync("/static/tables.js");
        Assert.Equal(HttpStatusCode.OK, script.Status);
        Assert.Contains("data-label", script.Html);

        var wide = Links(Between(page.Html, "<nav class=\"links\"", "</nav>"));
        var menu = Links(Between(page.Html, "<details class=\"menu\">", "</details>"));
        Assert.Contains("/setup", wide);
        Assert.Contains(role == Roles.Provider ? "/hosts/add" : "/configurations", wide);
        Assert.Equal(wide, menu.Where(l => l != "/login?switch=1"));
        Assert.Equal(role is not null, menu.Contains("/login?switch=1"));
    }

    private static string Between(string html, string start, string end)
    {
        var from = html.IndexOf(start, StringComparison.Ordinal);
        Assert.True(from >= 0, $"no {start} in the page");
        return html[from..html.IndexOf(end, from, StringComparison.Ordinal)];
    }

    private static List<string> Links(string html) => Href().Matches(html).Select(m => WebUtility.HtmlDecode(m.Groups[1].Value)).ToList();

    [GeneratedRegex("<a [^>]*href=\"([^\"]+)\"")]
    private static partial Regex Href();
}
