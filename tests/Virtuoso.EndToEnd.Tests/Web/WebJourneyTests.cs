using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Virtuoso.EndToEnd.Tests.Support;

namespace Virtuoso.EndToEnd.Tests.Web;

/// <summary>
/// Issue 3's browser journeys on real parts: headless Chromium (Debian's) on the real front-end, real agents, real QEMU
/// and the project's Linux guest. Every step is a click or a form, as a person would do it; the results are checked
/// against the agents. With VIRTUOSO_SCREENSHOTS=1 (scripts/screenshots) the screenshots of the main pages go to
/// docs/screenshots (the README's tour). The pages of a running machine, which LayoutTests' crawl does not reach, are
/// checked to fit a phone and a laptop.
/// </summary>
[Collection(RealQemu.Name)]
public sealed partial class WebJourneyTests
{
    private static readonly TimeSpan Boot = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Provider_SignsUpAddsAHostEditsItsPrices_SeesItInTheMarketplace_AndABuyersMachineAndIncomeOnIt()
    {
        Assert.True(Repo.GuestImageBuilt, $"the guest image is not built in {Repo.Images}: run guest/build-image.sh (./test does)");
        await using var m = await Marketplace.StartAsync("gamma");
        await using var browser = await Browser.LaunchAsync(m.Url);
        var page = await browser.PageAsync();

        await page.GotoAsync("/");
        await Expect(page.Locator("#setup-link")).ToBeVisibleAsync(); // visible without logging in (Figure 3)
        await Browser.ScreenshotAsync(page, "home");
        await page.ClickAsync("#setup-link");
        await Expect(page.Locator("h1")).ToHaveTextAsync("Set up a host");
        await Browser.ScreenshotAsync(page, "setup");

        await page.ClickAsync("header >> text=Sign up");
        await page.CheckAsync("input[name=type][value=provider]");
        await page.FillAsync("input[name=username]", "web-provider");
        await page.FillAsync("input[name=email]", "provider@example.com");
        await page.FillAsync("input[name=password]", "provider-pass-1");
        await page.ClickAsync("button:has-text('Create account')");
        await Expect(page).ToHaveURLAsync(new Regex("/hosts$"));
        await Expect(page.Locator(".empty")).ToContainTextAsync("You have no hosts yet");

        var gamma = m.Agents["gamma"];
        await page.ClickAsync("header >> text=Add a host");
        await page.FillAsync("input[name='Form.Name']", "gamma");
        await page.FillAsync("input[name='Form.Address']", "127.0.0.1");
        await page.FillAsync("input[name='Form.Port']", gamma.Port.ToString(CultureInfo.InvariantCulture));
        await page.FillAsync("input[name='Form.Secret']", gamma.Secret);
        await page.FillAsync("input[name='Form.Speed']", "10000");
        await page.FillAsync("input[name='Form.Memory']", "4096");
        await page.FillAsync("input[name='Form.Storage']", "20000");
        await Browser.ScreenshotAsync(page, "host-add");
        await page.ClickAsync("button:has-text('Add host')");
        await Expect(page).ToHaveURLAsync(new Regex("/hosts$"));
        // Issue 20: its agent gets its certificate with the secret (virtuoso-agent enroll on the host); then the marketplace reaches it over TLS.
        await m.EnrollAsync("gamma");
        for (var i = 0; i < 20 && !(await page.Locator("[data-host=gamma] h2").InnerTextAsync()).Contains("online", StringComparison.Ordinal); i++)
        {
            await Task.Delay(500);
            await page.ReloadAsync();
        }
        await Expect(page.Locator("[data-host=gamma] h2")).ToContainTextAsync("online");

        // Edit its prices: virt8's defaults become virt13's (design §3.1); the totals are shown locked.
        await page.ClickAsync("[data-host=gamma] >> text=Edit prices");
        await Expect(page.Locator("input[name='Form.Speed']")).ToBeDisabledAsync();
        await page.FillAsync("input[name='Form.MemoryPrice']", "0.000001");
        await page.FillAsync("input[name='Form.StoragePrice']", "0.1");
        await Browser.ScreenshotAsync(page, "host-edit");
        await page.ClickAsync("button:has-text('Save changes')");
        await Expect(page.Locator(".notice")).ToContainTextAsync("Host gamma saved");

        await page.ClickAsync("header >> text=Provider marketplace");
        await Expect(page.Locator("#market [data-host=gamma]")).ToContainTextAsync("web-provider");
        await Expect(page.Locator("#market [data-host=gamma]")).ToContainTextAsync("$0.1");
        await Browser.ScreenshotAsync(page, "marketplace");

        // A buyer (through the CLI) stores linux-busybox on gamma at the new prices and starts it.
        (await m.CliAsync("b", "signup", "cli-buyer", "--password", "buyer-pass-1", "--email", "b@example.com", "--buyer")).Ok();
        (await m.CliAsync("b", "login", "cli-buyer", "--password", "buyer-pass-1")).Ok();
        var id = (await m.CliAsync("b", "--json", "register", "--config", "linux-busybox", "--storage-bid", "30", "--running-bid", "3")).Ok().Json.GetProperty("id").GetGuid();
        (await m.CliAsync("b", "store", id.ToString(), "--host", "gamma")).Ok();
        (await m.CliAsync("b", "start", id.ToString())).Ok();

        await page.ClickAsync("header >> text=My hosts");
        await Expect(page.Locator($"[data-host=gamma] tr[data-machine='{id}']")).ToContainTextAsync("running");
        await Expect(page.Locator("[data-host=gamma] rect.reserved[data-resource=memory]")).ToHaveAttributeAsync("data-reserved", "256");
        await Browser.ScreenshotAsync(page, "hosts");
        await page.ClickAsync("header >> text=My account");
        // Figure 31's second row: $30 of storage and $0.3744 of running, both to the provider.
        await Expect(page.Locator("[data-host=gamma] h3")).ToContainTextAsync("earned $30.3744");
        await Expect(page.Locator($"[data-host=gamma] tr[data-machine='{id}']")).ToContainTextAsync("$30.3744");
        await Expect(page.Locator("#balance")).ToHaveTextAsync("$1030.3744");
        await Browser.ScreenshotAsync(page, "provider-account");

        // Issue 20 point 2: an API key made on My account → API keys, shown once in a copy box that fits a phone, works
        // on the API (read: it looks, and is refused a write), and is revoked after a confirmation.
        await page.ClickAsync("#api-keys");
        await Expect(page.Locator(".empty")).ToContainTextAsync("No API keys yet");
        await page.FillAsync("input[name=name]", "dashboard");
        await page.SelectOptionAsync("select[name=scope]", "read");
        await page.SelectOptionAsync("select[name=expires]", "7d");
        await page.ClickAsync("button:has-text('Make key')");
        var key = await page.InputValueAsync("#new-key");
        Assert.StartsWith("vk_", key);
        await page.ClickAsync("[data-copy='#new-key']");
        Assert.Equal(key, await page.EvaluateAsync<string>("() => window.getSelection().toString() || document.activeElement.value.substring(document.activeElement.selectionStart, document.activeElement.selectionEnd)"));
        await Browser.AssertFitsAtBothWidthsAsync(page, "a new API key");
        using (var api = new HttpClient { BaseAddress = new Uri(m.Url) })
        {
            api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            Assert.Contains("gamma", await api.GetStringAsync("/api/v1/hosts"));
            Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await api.DeleteAsync("/api/v1/hosts/gamma")).StatusCode);
            await page.GotoAsync("/account/tokens");
            await Expect(page.Locator("tr[data-token=dashboard]")).ToContainTextAsync("read");
            Assert.Equal(0, await page.Locator("#new-key").CountAsync()); // shown once
            page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
            await page.ClickAsync("tr[data-token=dashboard] button:has-text('Revoke')");
            await Expect(page.Locator(".notice")).ToContainTextAsync("API key dashboard revoked");
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await api.GetAsync("/api/v1/hosts")).StatusCode);
        }
        (await m.CliAsync("b", "stop", id.ToString())).Ok();
    }

    [Fact]
    public async Task Buyer_SignsUpRegistersLinuxBusyboxSearchesStoresStartsSuspendsResumesStops_InTheBrowser()
    {
        Assert.True(Repo.GuestImageBuilt, $"the guest image is not built in {Repo.Images}: run guest/build-image.sh (./test does)");
        await using var m = await Marketplace.StartAsync("alpha", "beta");
        await AddHostsAsync(m);
        await using var browser = await Browser.LaunchAsync(m.Url);
        var page = await browser.PageAsync();

        await page.GotoAsync("/signup");
        await page.FillAsync("input[name=username]", "web-buyer");
        await page.FillAsync("input[name=email]", "buyer@example.com");
        await page.FillAsync("input[name=password]", "buyer-pass-1");
        await page.ClickAsync("button:has-text('Create account')");
        await Expect(page).ToHaveURLAsync(new Regex("/machines$"));
        await Expect(page.Locator(".notice")).ToContainTextAsync("opening credit of $1000");

        // The price-average daemon (every 2 s here) estimates linux-busybox over alpha and beta: (3 + 30) / 2 a month.
        await page.ClickAsync("header >> text=Browse configurations");
        for (var i = 0; i < 30 && !(await page.Locator("tr[data-config=linux-busybox]").InnerTextAsync()).Contains("$16.5", StringComparison.Ordinal); i++)
        {
            await Task.Delay(1000);
            await page.ReloadAsync();
        }
        await Expect(page.Locator("tr[data-config=linux-busybox]")).ToContainTextAsync("$16.5");
        await Expect(page.Locator("svg.price-chart[data-config=linux-busybox]")).ToBeVisibleAsync();
        await Browser.ScreenshotAsync(page, "configurations");
        await page.ClickAsync("tr[data-config=linux-busybox] >> text=Register…");
        await page.FillAsync("input[name='Form.StorageBid']", "30");
        await page.FillAsync("input[name='Form.RunningBid']", "3");
        await Browser.ScreenshotAsync(page, "register");
        await page.ClickAsync("button:has-text('Register machine')");
        await Expect(page.Locator("h1")).ToHaveTextAsync("linux-busybox is registered");
        var id = Guid.Parse(Regex.Match(page.Url, "/machines/([0-9a-f-]{36})/registered").Groups[1].Value);

        await page.ClickAsync("text=Search providers");
        await Expect(page.Locator("tr[data-host=beta]")).ToContainTextAsync("$0.3744 per 1 h running period");
        await Expect(page.Locator("tr[data-host=alpha]")).ToContainTextAsync("$2.448 per 1 h running period");
        await Browser.ScreenshotAsync(page, "search");
        await page.ClickAsync("tr[data-host=beta] >> button:has-text('Store here')");
        await Expect(page.Locator(".notice")).ToContainTextAsync("is stored on beta");
        await AssertStateAsync(m, page, id, "stored", 1, "stopped");

        await ClickActionAsync(page, id, "Start");
        await AssertStateAsync(m, page, id, "running", 1, "running");
        await SerialConsole.WaitForAsync(() => SerialAsync(browser, id), "Virtuoso guest ready", Boot);
        await Browser.ScreenshotAsync(page, "my-computers");
        await Browser.AssertFitsAtBothWidthsAsync(page, "my-computers");

        // The console in the browser (design §7): noVNC over the front-end's WebSocket proxy, a one-time ticket and a
        // fresh VNC password behind the page. See the guest's screen, type into its shell, find the line on serial.
        await page.GotoAsync("/machines");
        await page.ClickAsync($"tr[data-machine='{id}'] >> text=Console");
        await Expect(page.Locator("#console")).ToHaveAttributeAsync("data-state", "connected", new() { Timeout = 60_000 });
        var canvas = page.Locator("#screen canvas");
        await Expect(canvas).ToBeVisibleAsync();
        // Not blank: the guest's text console has pixels of more than one colour.
        var colours = 0;
        for (var i = 0; i < 40 && colours < 2; i++)
        {
            colours = await canvas.EvaluateAsync<int>(@"c => {
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                const seen = new Set();
                for (let i = 0; i < d.length && seen.size < 2; i += 4 * 97) seen.add(d[i] << 16 | d[i + 1] << 8 | d[i + 2]);
                return seen.size; }");
            if (colours < 2) await Task.Delay(500);
        }
        Assert.True(colours >= 2, "the console shows a blank screen");
        await Browser.ScreenshotAsync(page, "console");
        await Browser.AssertFitsAtBothWidthsAsync(page, "console");
        var before = (await SerialAsync(browser, id)).Length;
        await canvas.ClickAsync();
        await page.Keyboard.PressAsync("Enter");
        // Typed as a person types it: noVNC sends QEMU the keys' scancodes, so '>' must come with Shift held, as on a
        // real keyboard (Playwright's Type sends the character without pressing Shift).
        await page.Keyboard.TypeAsync("echo vnc-typed-ok ", new() { Delay = 60 });
        await page.Keyboard.PressAsync("Shift+Period");
        await page.Keyboard.TypeAsync(" /dev/ttyS0", new() { Delay = 60 });
        await page.Keyboard.PressAsync("Enter");
        await SerialConsole.WaitForAsync(() => SerialAsync(browser, id), "vnc-typed-ok", TimeSpan.FromSeconds(60), before);

        await ClickActionAsync(page, id, "Suspend");
        await AssertStateAsync(m, page, id, "suspended", 2, "suspended");
        await ClickActionAsync(page, id, "Resume");
        await AssertStateAsync(m, page, id, "running", 2, "running");
        await ClickActionAsync(page, id, "Stop");
        await AssertStateAsync(m, page, id, "stopped", 3, "stopped");

        await page.ClickAsync("header >> text=My account");
        await Expect(page.Locator("#balance")).ToHaveTextAsync("$969.5756"); // Figure 31: 1000 − 0.05 − 30 − 0.3744
        await Expect(page.Locator($"#costs tr[data-machine='{id}']")).ToContainTextAsync("not currently running");
        await Browser.ScreenshotAsync(page, "account");
        await page.GotoAsync($"/machines/{id}");
        await Expect(page.Locator(".timeline")).ToContainTextAsync("Stopped on beta");
        await Browser.ScreenshotAsync(page, "machine");
        await Browser.AssertFitsAtBothWidthsAsync(page, "machine");
    }

    private static async Task ClickActionAsync(IPage page, Guid id, string button)
    {
        await page.GotoAsync("/machines");
        await page.ClickAsync($"tr[data-machine='{id}'] >> button:has-text('{button}')");
        await Expect(page).ToHaveURLAsync(new Regex("/machines$"), new() { Timeout = 120_000 });
        await Expect(page.Locator(".problem")).ToHaveCountAsync(0);
    }

    /// <summary>The page shows the state, and the front-end's version equals the agent's (§7.1.5).</summary>
    private static async Task AssertStateAsync(Marketplace m, IPage page, Guid id, string state, long version, string agentState)
    {
        await Expect(page.Locator($"tr[data-machine='{id}']")).ToHaveAttributeAsync("data-state", state);
        await Expect(page.Locator($"tr[data-machine='{id}']")).ToContainTextAsync($"v{version}");
        var onAgent = await m.AgentMachineAsync("beta", id);
        Assert.Equal((agentState, version), (onAgent.State, onAgent.Version));
    }

    /// <summary>The serial log through the web's own address, with the browser's session cookie.</summary>
    private static async Task<string> SerialAsync(Browser browser, Guid id)
    {
        var r = await browser.Context.APIRequest.GetAsync($"/machines/{id}/serial");
        return r.Ok ? await r.TextAsync() : "";
    }

    private static Task AddHostsAsync(Marketplace m) => m.ProviderWithReportHostsAsync("e2e-provider");

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
    private static IPageAssertions Expect(IPage page) => Assertions.Expect(page);
}
