using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Virtuoso.EndToEnd.Tests.Support;

namespace Virtuoso.EndToEnd.Tests.Web;

/// <summary>
/// Issue 18 in real Chromium on the real front-end and agents, at 1280 and 390 px wide: search sorted by what a host costs
/// a month for the hours the buyer types (alpha priced like virt8, $3/month + $2.448/hour, first at 5 hours; beta like
/// virt13, $30/month + $0.3744/hour, first at 100), with the break-even shown; then the delete confirmation page, read and
/// cancelled at one width, read and confirmed at the other. A stored machine only: nothing runs, so no guest boots.
/// </summary>
[Collection(RealQemu.Name)]
public sealed class MoneyJourneyTests
{
    [Fact]
    public async Task Buyer_SeesTheCheapestHostForTheirHours_AndTheBreakEven_ThenReadsWhatDeletingMigratingOrTheHostsDeletionGivesUp_AtBothWidths()
    {
        Assert.True(Repo.GuestImageBuilt, $"the guest image is not built in {Repo.Images}: run guest/build-image.sh (./test does)");
        await using var m = await Marketplace.StartAsync("alpha", "beta");
        await AddHostsAsync(m);
        (await m.CliAsync("b", "signup", "money-buyer", "--password", "buyer-pass-1", "--email", "money@example.com", "--buyer")).Ok();
        (await m.CliAsync("b", "login", "money-buyer", "--password", "buyer-pass-1")).Ok();
        var id = (await m.CliAsync("b", "--json", "register", "--config", "linux-busybox", "--storage-bid", "30", "--running-bid", "3")).Ok().Json.GetProperty("id").GetGuid();

        await using var browser = await Browser.LaunchAsync(m.Url);
        var page = await browser.PageAsync();
        await LogInAsync(page, "money-buyer", "buyer-pass-1", "/machines$");

        foreach (var width in new[] { 1280, 390 })
        {
            await page.SetViewportSizeAsync(width, 844);
            await page.GotoAsync($"/machines/{id}/search");
            await Expect(page.Locator("#assumption")).ToContainTextAsync("730 hours a month");

            // Typed into the hours field and submitted, as a person does (a GET form, no script).
            await page.FillAsync("#hours", "5");
            await page.ClickAsync("button:has-text('Show the totals')");
            await Expect(page).ToHaveURLAsync(new Regex("hours=5$"));
            var first = page.Locator("#matching tbody tr").First;
            await Expect(first).ToHaveAttributeAsync("data-host", "alpha");
            await Expect(first).ToContainTextAsync("$15.24");
            await Expect(page.Locator("#break-even")).ToContainTextAsync("beta is cheaper than alpha above 13 h/month");
            await Expect(page.Locator("tr[data-host=alpha]")).ToContainTextAsync("$2.448/hour running");
            await Expect(page.Locator("tr[data-host=alpha]")).ToContainTextAsync("$3 per 30 days storage period, $2.448 per 1 h running period");

            await page.FillAsync("#hours", "100");
            await page.ClickAsync("button:has-text('Show the totals')");
            await Expect(first).ToHaveAttributeAsync("data-host", "beta");
            await Expect(first).ToContainTextAsync("$67.44");
            await Expect(page.Locator("#break-even")).ToContainTextAsync("alpha is cheaper than beta below 13 h/month");
            await Expect(page.Locator("#assumption")).ToContainTextAsync("100 hours a month");
        }

        // Stored on beta (its first storage period, $30, charged now); then the delete confirmation at each width.
        await page.SetViewportSizeAsync(1280, 844);
        await page.ClickAsync("tr[data-host=beta] >> button:has-text('Store here')");
        await Expect(page.Locator(".notice")).ToContainTextAsync("is stored on beta");
        var paidUntil = DateTime.UtcNow.AddDays(30).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var given = $"You give up $30.00 of storage already paid (until {paidUntil})";

        // Migrating says the same before the click, with what the destination charges on arrival.
        await page.GotoAsync($"/machines/{id}/migrate");
        await Expect(page.Locator("#forfeit")).ToContainTextAsync(given);
        await Expect(page.Locator("#targets tr[data-host=alpha]")).ToContainTextAsync("$3");

        // The provider, about to delete beta, reads what the machine's owner gives up (at a phone's width).
        await page.SetViewportSizeAsync(390, 844);
        await LogInAsync(page, "money-provider", "provider-pass", "/hosts$");
        await page.GotoAsync("/hosts/beta/delete");
        await Expect(page.Locator("#host-forfeit")).ToContainTextAsync("their owners give up $30.00 of storage and running time they had paid for");
        await Expect(page.Locator($"#affected tr[data-machine='{id}']")).ToContainTextAsync(given["You give up ".Length..]);
        await page.SetViewportSizeAsync(1280, 844);
        await LogInAsync(page, "money-buyer", "buyer-pass-1", "/machines$");

        await page.GotoAsync("/machines");
        await page.ClickAsync($"tr[data-machine='{id}'] >> text=Delete…");
        await Expect(page).ToHaveURLAsync(new Regex($"/machines/{id}/delete$"));
        await Expect(page.Locator("#forfeit")).ToContainTextAsync(given);
        await Expect(page.Locator("#forfeit")).ToContainTextAsync("Nothing more is charged.");
        await page.ClickAsync("text=Cancel");
        await Expect(page).ToHaveURLAsync(new Regex($"/machines/{id}$"));
        Assert.Equal("stopped", (await m.AgentMachineAsync("beta", id)).State); // a stored machine is a stopped one on its agent

        await page.SetViewportSizeAsync(390, 844);
        await page.GotoAsync("/machines");
        await page.ClickAsync($"tr[data-machine='{id}'] >> text=Delete…");
        await Expect(page.Locator("#forfeit")).ToContainTextAsync(given);
        await page.ClickAsync("button:has-text('Delete linux-busybox')");
        await Expect(page).ToHaveURLAsync(new Regex("/machines$"));
        await Expect(page.Locator($"tr[data-machine='{id}']")).ToHaveCountAsync(0);
        // Nothing more was charged: the $0.05 registration fee and the $30 of storage only.
        var account = (await m.CliAsync("b", "--json", "account")).Ok().Json;
        Assert.Equal(969.95m, account.GetProperty("balance").GetDecimal());
    }

    /// <summary>Logs in (or switches user) through the form, as a person does.</summary>
    private static async Task LogInAsync(IPage page, string user, string password, string home)
    {
        await page.GotoAsync("/login?switch=1");
        await page.FillAsync("input[name=username]", user);
        await page.FillAsync("input[name=password]", password);
        await page.ClickAsync("button:has-text('Log in')");
        await Expect(page).ToHaveURLAsync(new Regex(home));
    }

    private static Task AddHostsAsync(Marketplace m) => m.ProviderWithReportHostsAsync("money-provider");

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
    private static IPageAssertions Expect(IPage page) => Assertions.Expect(page);
}
