using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Virtuoso.EndToEnd.Tests.Support;

namespace Virtuoso.EndToEnd.Tests.Web;

/// <summary>
/// Issue 19: production's shape, three front-end replicas on one PostgreSQL behind HAProxy (the wiring of ./run --replicas),
/// with real agents, QEMU and Chromium. A buyer's journey in the browser goes through the balancer, which sends each
/// request to the next replica, so forms, sessions, the console's WebSocket and the migration cross replicas; one replica
/// is killed in the middle and the journey goes on. Afterwards nothing is lost and nothing was charged twice.
/// </summary>
[Collection(RealQemu.Name)]
public sealed class ReplicaJourneyTests
{
    private static readonly TimeSpan Boot = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Buyer_ThroughTheBalancer_StoresStartsUsesTheConsoleAndMigrates_WhileAReplicaIsKilled()
    {
        Assert.True(Repo.GuestImageBuilt, $"the guest image is not built in {Repo.Images}: run guest/build-image.sh (./test does)");
        await using var m = await Marketplace.StartReplicatedAsync(3, 60, "alpha", "beta");
        await m.ProviderWithReportHostsAsync("replica-provider");
        await using var browser = await Browser.LaunchAsync(m.Url);
        var page = await browser.PageAsync();

        // Sign up and log in: each form is served by one replica and posted to another (shared anti-forgery keys).
        await page.GotoAsync("/signup");
        await page.FillAsync("input[name=username]", "replica-buyer");
        await page.FillAsync("input[name=email]", "buyer@example.com");
        await page.FillAsync("input[name=password]", "buyer-pass-1");
        await page.ClickAsync("button:has-text('Create account')");
        await Expect(page).ToHaveURLAsync(new Regex("/machines$"));
        await page.ClickAsync("header >> text=Log out");
        await page.GotoAsync("/login");
        await page.FillAsync("input[name=username]", "replica-buyer");
        await page.FillAsync("input[name=password]", "buyer-pass-1");
        await page.ClickAsync("button:has-text('Log in')");
        await Expect(page).ToHaveURLAsync(new Regex("/machines$"));

        await page.GotoAsync("/configurations");
        await page.ClickAsync("tr[data-config=linux-busybox] >> text=Register…");
        await page.FillAsync("input[name='Form.StorageBid']", "30");
        await page.FillAsync("input[name='Form.RunningBid']", "3");
        await page.ClickAsync("button:has-text('Register machine')");
        await Expect(page.Locator("h1")).ToHaveTextAsync("linux-busybox is registered");
        var id = Guid.Parse(Regex.Match(page.Url, "/machines/([0-9a-f-]{36})/registered").Groups[1].Value);
        await page.ClickAsync("text=Search providers");
        await page.ClickAsync("tr[data-host=beta] >> button:has-text('Store here')");
        await Expect(page.Locator(".notice")).ToContainTextAsync("is stored on beta");

        // One replica dies (SIGKILL: no shutdown code runs); the balancer notices within two health checks, and a request
        // that cannot reach it meanwhile goes to another one.
        await m.Replicas[1].StopAsync();

        await ClickActionAsync(page, id, "Start");
        await Expect(page.Locator($"tr[data-machine='{id}']")).ToHaveAttributeAsync("data-state", "running");
        Assert.Equal(("running", 1L), await OnAgentAsync(m, "beta", id));
        await SerialConsole.WaitForAsync(() => SerialAsync(browser, id), "Virtuoso guest ready", Boot);

        // The console's ticket is issued by one replica and its WebSocket opened through the balancer, to any.
        await page.GotoAsync("/machines");
        await page.ClickAsync($"tr[data-machine='{id}'] >> text=Console");
        await Expect(page.Locator("#console")).ToHaveAttributeAsync("data-state", "connected", new() { Timeout = 60_000 });
        var before = (await SerialAsync(browser, id)).Length;
        await page.Locator("#screen canvas").ClickAsync();
        await page.Keyboard.PressAsync("Enter");
        await page.Keyboard.TypeAsync("echo replica-typed-ok ", new() { Delay = 60 });
        await page.Keyboard.PressAsync("Shift+Period");
        await page.Keyboard.TypeAsync(" /dev/ttyS0", new() { Delay = 60 });
        await page.Keyboard.PressAsync("Enter");
        await SerialConsole.WaitForAsync(() => SerialAsync(browser, id), "replica-typed-ok", TimeSpan.FromSeconds(60), before);

        // Suspend, migrate to alpha (the destination reports to the VMMP listener of the replica that started it), resume.
        await ClickActionAsync(page, id, "Suspend");
        await Expect(page.Locator($"tr[data-machine='{id}']")).ToHaveAttributeAsync("data-state", "suspended");
        await page.GotoAsync($"/machines/{id}/migrate");
        await page.ClickAsync("#targets tr[data-host=alpha] >> button:has-text('Migrate here')");
        await Expect(page).ToHaveURLAsync(new Regex($"/machines/{id}/migration$"));
        for (var i = 0; i < 120 && (await OnAgentAsync(m, "alpha", id)).State != "suspended"; i++) await Task.Delay(1000);
        await page.GotoAsync("/machines");
        await Expect(page.Locator($"tr[data-machine='{id}']")).ToContainTextAsync("alpha", new() { Timeout = 60_000 });
        await ClickActionAsync(page, id, "Resume");
        await Expect(page.Locator($"tr[data-machine='{id}']")).ToHaveAttributeAsync("data-state", "running");
        var (state, version) = await OnAgentAsync(m, "alpha", id);
        Assert.Equal("running", state);
        await Expect(page.Locator($"tr[data-machine='{id}']")).ToContainTextAsync($"v{version}");

        // Nothing lost, nothing charged twice: one storage charge per host, one first running period per start or resume;
        // no money made or lost anywhere.
        var charges = await m.QueryPostgresAsync($"SELECT kind, host FROM transfers WHERE machine = '{id}' AND from_account = 'replica-buyer'",
            r => $"{r.GetString(0)}@{(r.IsDBNull(1) ? "" : r.GetString(1))}");
        Assert.Equal(1, charges.Count(c => c == "storage@beta"));
        Assert.Equal(1, charges.Count(c => c == "storage@alpha"));
        Assert.Equal(1, charges.Count(c => c == "running@beta"));
        Assert.Equal(1, charges.Count(c => c == "running@alpha"));
        var total = (await m.QueryPostgresAsync("SELECT amount FROM transfers", r => decimal.Parse(r.GetString(0), System.Globalization.CultureInfo.InvariantCulture))).Sum();
        var balances = await m.QueryPostgresAsync("SELECT balance FROM accounts", r => decimal.Parse(r.GetValue(0).ToString()!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(0m, balances.Sum());
        Assert.True(total > 0);
        Assert.True(m.Replicas[1].HasExited);

        // Every process that is left answers /metrics, and the actions since the kill are counted once over the replicas.
        var survivors = new List<Virtuoso.FrontEnd.Tests.Support.PrometheusText>();
        foreach (var url in new[] { m.ReplicaUrls[0], m.ReplicaUrls[2] })
        {
            using var http = new HttpClient { BaseAddress = new Uri(url) };
            survivors.Add(await Virtuoso.FrontEnd.Tests.Support.PrometheusText.ScrapeAsync(http));
        }
        foreach (var action in new[] { "start", "suspend", "resume" })
            Assert.Equal(1, survivors.Sum(p => p.Sum("virtuoso_machine_actions_total", ("action", action), ("outcome", "committed"))));
        // The migrate page's preferred method, whichever it is (the page chose it, not the test).
        Assert.Equal(1, survivors.Sum(p => p.Sum("virtuoso_migrations_started_total")));
        Assert.Equal(1, survivors.Sum(p => p.Sum("virtuoso_migrations_ended_total", ("outcome", "committed"))));
        Assert.True((await m.FrontEndMetricsAsync()).Sum("virtuoso_hosts", ("status", "online")) == 2, "the balancer's /metrics (any replica's) sees both hosts");
        Assert.True((await m.AgentMetricsAsync("alpha")).Sum("virtuoso_agent_qemu_processes") == 1);
    }

    private static async Task ClickActionAsync(IPage page, Guid id, string button)
    {
        await page.GotoAsync("/machines");
        await page.ClickAsync($"tr[data-machine='{id}'] >> button:has-text('{button}')");
        await Expect(page).ToHaveURLAsync(new Regex("/machines$"), new() { Timeout = 120_000 });
        await Expect(page.Locator(".problem")).ToHaveCountAsync(0);
    }

    private static async Task<(string State, long Version)> OnAgentAsync(Marketplace m, string host, Guid id)
    {
        try
        {
            var a = await m.AgentMachineAsync(host, id);
            return (a.State, a.Version);
        }
        catch (HttpRequestException) { return ("absent", 0); }
    }

    private static async Task<string> SerialAsync(Browser browser, Guid id)
    {
        var r = await browser.Context.APIRequest.GetAsync($"/machines/{id}/serial");
        return r.Ok ? await r.TextAsync() : "";
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
    private static IPageAssertions Expect(IPage page) => Assertions.Expect(page);
}
