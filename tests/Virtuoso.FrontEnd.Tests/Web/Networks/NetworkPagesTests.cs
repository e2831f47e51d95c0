using System.Net;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Web.Networks;

/// <summary>NetworkPagesTests on SQLite.</summary>
public sealed class NetworkPagesTests(MarketFixture market) : NetworkPagesTests<MarketFixture>(market);

/// <summary>NetworkPagesTests on PostgreSQL.</summary>
public sealed class NetworkPagesPostgresTests(PostgresMarketFixture market) : NetworkPagesTests<PostgresMarketFixture>(market);

/// <summary>
/// The private networks page, the register form's network and the machine page's network (issue 16): linked in a buyer's
/// navigation; create and delete through the same service as the API, refusals with the API's code.
/// </summary>
public abstract class NetworkPagesTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    [Fact]
    public async Task Page_InTheBuyersNavigation_CreatesListsAndDeletes_RefusingInUseAndBadSubnets()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        Assert.Contains("href=\"/networks\"", (await buyer.GetAsync("/machines")).Html);
        Assert.Contains("data-network=\"default\"", (await buyer.GetAsync("/networks")).Html);

        var created = await buyer.PostFormAsync("/networks?handler=create", new() { ["name"] = "lab", ["subnet"] = "192.168.3.0/24" }, formPage: "/networks");
        Assert.Equal((HttpStatusCode.Redirect, "/networks"), (created.Status, created.Location));
        var listed = await buyer.GetAsync("/networks");
        Assert.Contains("data-network=\"lab\"", listed.Html);
        Assert.Contains("192.168.3.0/24", listed.Html);

        var bad = await buyer.PostFormAsync("/networks?handler=create", new() { ["name"] = "bad", ["subnet"] = "10.0.0.0/16" }, formPage: "/networks");
        Assert.Equal((HttpStatusCode.BadRequest, ErrorCodes.InvalidSubnet), (bad.Status, bad.ProblemCode));
        Assert.Contains("overlaps 10.0.2.0/24", bad.Html);

        var api = await buyer.ApiAsync(market);
        var response = await api.PostAsync("/api/v1/machines", new RegisterRequest("Configuration1", "in-lab", null, null, null, null, null, 1000m, 100m, "lab"));
        var machine = await Session.Ok<MachineResponse>(response);
        var inUse = await buyer.PostFormAsync("/networks?handler=delete", new() { ["name"] = "lab" }, formPage: "/networks");
        Assert.Equal((HttpStatusCode.Conflict, ErrorCodes.NetworkInUse), (inUse.Status, inUse.ProblemCode));
        Assert.Contains("in-lab", inUse.Html);

        // The machine page shows the place and moves it (registered: allowed).
        var page = await buyer.GetAsync($"/machines/{machine.Id:D}");
        Assert.Contains("lab, address 192.168.3.2", page.Html);
        var moved = await buyer.PostFormAsync($"/machines/{machine.Id:D}?handler=network", new() { ["network"] = "default" }, formPage: $"/machines/{machine.Id:D}");
        Assert.Equal(HttpStatusCode.Redirect, moved.Status);
        Assert.Equal(("default", "10.128.0.2"), ((await api.MachineAsync(machine.Id)).Network, (await api.MachineAsync(machine.Id)).PrivateAddress));

        Assert.Equal(HttpStatusCode.Redirect, (await buyer.PostFormAsync("/networks?handler=delete", new() { ["name"] = "lab" }, formPage: "/networks")).Status);
        Assert.DoesNotContain("data-network=\"lab\"", (await buyer.GetAsync("/networks")).Html);
    }

    [Fact]
    public async Task RegisterForm_OffersMyNetworks_AndTheMachinePage_RefusesAMoveWhileRunning()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        var api = await buyer.ApiAsync(market);
        await Session.Ok<NetworkResponse>(await api.PostAsync("/api/v1/networks", new CreateNetworkRequest("lab", "172.16.5.0/24")));
        var form = await buyer.GetAsync("/machines/register?config=Configuration1");
        Assert.Contains("<option value=\"lab\">lab</option>", form.Html);
        Assert.Contains("<option value=\"default\" selected=\"selected\">default</option>", form.Html);

        var (machine, _) = await api.StoredMachineAsync();
        await api.ActAsync(machine.Id, "start");
        var page = await buyer.GetAsync($"/machines/{machine.Id:D}");
        Assert.DoesNotContain("id=\"network-form\"", page.Html);
        Assert.Contains("running: stop it first", page.Html);
        var refused = await buyer.PostFormAsync($"/machines/{machine.Id:D}?handler=network", new() { ["network"] = "lab" }, formPage: "/networks");
        Assert.Equal((HttpStatusCode.Conflict, ErrorCodes.InvalidState), (refused.Status, refused.ProblemCode));
    }
}
