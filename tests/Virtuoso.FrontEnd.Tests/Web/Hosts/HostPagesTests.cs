using System.Net;
using System.Net.Sockets;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Web.Hosts;

/// <summary>HostPagesTests on SQLite.</summary>
public sealed class HostPagesTests(MarketFixture market) : HostPagesTests<MarketFixture>(market);

/// <summary>HostPagesTests on PostgreSQL.</summary>
public sealed class HostPagesPostgresTests(PostgresMarketFixture market) : HostPagesTests<PostgresMarketFixture>(market);

/// <summary>
/// Issue 18 on the provider's pages: My hosts says last seen, the measured bogomips and why a host is offline, and tests the
/// connection with a form; Add host makes a secret, tests before adding and suggests the speed; Edit host replaces the secret;
/// Set up a host can be followed.
/// </summary>
public abstract class HostPagesTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    private Dictionary<string, string> AddFields(string name, int port, string secret) => new()
    {
        ["Form.Name"] = name, ["Form.Address"] = "127.0.0.1", ["Form.Port"] = port.ToString(), ["Form.Processor"] = "x86_64",
        ["Form.ConnectSpeed"] = "1 Gbit/s", ["Form.Secret"] = secret, ["Form.Speed"] = "10000", ["Form.Memory"] = "4096", ["Form.Storage"] = "20000",
        ["Form.SpeedUnit"] = "1000", ["Form.SpeedPrice"] = "0.00001", ["Form.MemoryUnit"] = "4", ["Form.MemoryPrice"] = "0.00001", ["Form.RunningPeriod"] = "3600",
        ["Form.StorageUnit"] = "100", ["Form.StoragePrice"] = "0.01", ["Form.StoragePeriod"] = "30",
        ["Form.PublicAddress"] = "127.0.0.1", ["Form.Ports"] = "41000-41099",
    };

    [Fact]
    public async Task WrongSecret_TestSaysSo_EditReplacesIt_ThenTheTestIsOkWithBogomips()
    {
        var provider = await WebUser.SignupAsync(market, Roles.Provider);
        var name = MarketFixture.UniqueName("webtest");
        Assert.Equal(HttpStatusCode.Redirect, (await provider.PostFormAsync("/hosts/add", AddFields(name, market.Spare.Port, "not-the-agents-secret-0123"))).Status);

        var hosts = await provider.GetAsync("/hosts");
        Assert.Contains("last seen <span data-last-seen>never</span>", hosts.Html);
        Assert.Contains("data-cause=\"wrong-secret\"", hosts.Html);

        var tested = await provider.PostFormAsync("/hosts?handler=test", new() { ["name"] = name }, formPage: "/hosts");
        Assert.Equal(HttpStatusCode.OK, tested.Status);
        Assert.Contains("data-test-code=\"wrong-secret\"", tested.Html);
        Assert.Contains("Wrong secret", tested.Html);

        Assert.Contains("id=\"replace-secret\"", (await provider.GetAsync($"/hosts/{name}/edit")).Html);
        var edit = AddFields(name, market.Spare.Port, market.Spare.Secret);
        Assert.Equal(HttpStatusCode.Redirect, (await provider.PostFormAsync($"/hosts/{name}/edit", edit)).Status);

        var ok = await provider.PostFormAsync("/hosts?handler=test", new() { ["name"] = name }, formPage: "/hosts");
        Assert.Contains("data-test-code=\"ok\"", ok.Html);
        Assert.Contains("It measures 9600 bogomips", ok.Html);
        Assert.Contains("The agent measures <strong data-bogomips>9600 bogomips</strong>", ok.Html);
        Assert.Contains("last seen <span data-last-seen>just now</span>", ok.Html);
        await (await provider.ApiAsync(market)).DeleteAsync($"/api/v1/hosts/{name}");
    }

    [Fact]
    public async Task TestConnection_OfAnotherProvidersHost_IsNotFound_AndNeedsItsToken()
    {
        var provider = await WebUser.SignupAsync(market, Roles.Provider);

        var others = await provider.PostFormAsync("/hosts?handler=test", new() { ["name"] = "alpha" }, formPage: "/hosts");
        Assert.Equal((HttpStatusCode.NotFound, ErrorCodes.NotFound), (others.Status, others.ProblemCode));
        Assert.Equal(HttpStatusCode.BadRequest, (await provider.PostRawAsync("/hosts?handler=test", new() { ["name"] = "alpha" })).Status);
    }

    [Fact]
    public async Task AddHost_WithoutSecret_ShowsTheInstallCommandOnce_AndMyHostsMakesANewOne()
    {
        var provider = await WebUser.SignupAsync(market, Roles.Provider);
        var form = await provider.GetAsync("/hosts/add");
        Assert.Contains("name=\"Form.Secret\"", form.Html);
        Assert.DoesNotMatch("name=\"Form.Secret\" value=\"[^\"]", form.Html); // no secret made up front any more (issue 19)
        var name = MarketFixture.UniqueName("joining");
        var fields = AddFields(name, market.Spare.Port, "");
        var added = await provider.PostFormAsync("/hosts/add", fields);
        Assert.Equal(HttpStatusCode.OK, added.Status);
        var command = System.Text.RegularExpressions.Regex.Match(added.Html, "id=\"join-command\"><code>(curl -fsSL [^<]+)</code>").Groups[1].Value;
        Assert.Matches(@"^curl -fsSL http://[^ ]+/install/agent\.sh \| bash -s -- --join vj_[A-Za-z0-9_-]{43}$", command);

        var hosts = await provider.GetAsync("/hosts");
        Assert.Contains("data-cause=\"waiting-for-join\"", hosts.Html);
        Assert.DoesNotContain(command, hosts.Html); // shown once
        var renewed = await provider.PostFormAsync("/hosts?handler=join", new() { ["name"] = name }, formPage: "/hosts");
        var again = System.Text.RegularExpressions.Regex.Match(renewed.Html, "id=\"join-command\"><code>(curl -fsSL [^<]+)</code>").Groups[1].Value;
        Assert.StartsWith("curl -fsSL ", again);
        Assert.NotEqual(command, again);
    }

    [Fact]
    public async Task AddHost_TestsBeforeAdding_AndSuggestsTheSpeed()
    {
        var provider = await WebUser.SignupAsync(market, Roles.Provider);
        var fields = AddFields(MarketFixture.UniqueName("tested"), market.Spare.Port, market.Spare.Secret);
        fields.Remove("Form.Speed");
        var tested = await provider.PostFormAsync("/hosts/add?handler=test", fields, formPage: "/hosts/add");
        Assert.Equal(HttpStatusCode.OK, tested.Status);
        Assert.Contains("data-test-code=\"ok\"", tested.Html);
        Assert.Matches("name=\"Form.Speed\"[^>]*value=\"9600\"", tested.Html);
        // Shown at /hosts/add?handler=test, the form still adds when submitted.
        Assert.Matches("<form method=\"post\" action=\"/hosts/add\" class=\"form\">\\s*<input name=\"__RequestVerificationToken\"", tested.Html);

        var refused = await provider.PostFormAsync("/hosts/add?handler=test", AddFields("x", FreePort(), market.Spare.Secret), formPage: "/hosts/add");
        Assert.Contains("data-test-code=\"connection-refused\"", refused.Html);
        var bad = await provider.PostFormAsync("/hosts/add?handler=test", AddFields("x", market.Spare.Port, "short"), formPage: "/hosts/add");
        Assert.Equal((HttpStatusCode.BadRequest, ErrorCodes.Validation), (bad.Status, bad.ProblemCode));
    }

    [Fact]
    public async Task Setup_SaysEveryStep_WithTheAgentsRealPorts()
    {
        var setup = (await WebUser.Anonymous(market).GetAsync("/setup")).Html;

        foreach (var step in new[]
                 {
                     "apt-get install -y qemu-system-x86 qemu-utils genisoimage rsync iproute2 nftables curl",
                     "dotnet publish src/Virtuoso.Agent -c Release -r linux-x64 --self-contained -o out/agent",
                     "--secret-file /etc/virtuoso/agent.secret", "/etc/systemd/system/virtuoso-agent.service", "KillMode=process",
                     "systemctl enable --now virtuoso-agent", "--urls http://0.0.0.0:7001 --vmmp-port 7101", "<td>4789</td><td>UDP</td>",
                     "<td>7101</td><td>TCP</td>", "32768–60999", "/proc/cpuinfo",
                 })
            Assert.Contains(step, System.Net.WebUtility.HtmlDecode(setup));
        Assert.DoesNotContain("dotnet build", setup.Replace("<code>dotnet build</code> would need the whole SDK", ""));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
