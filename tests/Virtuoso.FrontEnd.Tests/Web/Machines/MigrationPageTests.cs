using System.Net;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Web.Machines;

/// <summary>MigrationPageTests on SQLite.</summary>
public sealed class MigrationPageTests(MarketFixture market) : MigrationPageTests<MarketFixture>(market);

/// <summary>MigrationPageTests on PostgreSQL.</summary>
public sealed class MigrationPagePostgresTests(PostgresMarketFixture market) : MigrationPageTests<PostgresMarketFixture>(market);

/// <summary>
/// The migrate and migration-status pages (report §5.1.5, Figures 20–21) on fake agents whose destination speaks VMMP:
/// every other host with room and its prices, methods and arrival charge; prepaid running time not carried; the form
/// starts the migration and the status page follows it to the end; refusals as the API's.
/// </summary>
public abstract class MigrationPageTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    [Fact]
    public async Task MigratePage_ListsTheOtherHostsWithPricesAndMethods_AndTheFormMigrates_StatusFollowsToTheEnd()
    {
        await using var origin = await FakeAgent.StartAsync("web-origin");
        await using var destination = await FakeAgent.StartAsync("web-dest");
        var o = await market.Provider.AddHostAsync(HostSpecs.Virt8(MarketFixture.UniqueName("worigin"), origin) with { Speed = 100_000, Memory = 100_000, Storage = 100_000 });
        var d = await market.Provider.AddHostAsync(HostSpecs.Virt13(MarketFixture.UniqueName("wdest"), destination) with { Speed = 100_000, Memory = 100_000, Storage = 100_000 });
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        var api = await buyer.ApiAsync(market);
        var machine = await api.RegisterAsync("linux-busybox", 1000m, 100m);
        machine = await api.StoreAsync(machine.Id, o.Name);
        await api.ActAsync(machine.Id, "start");

        // Running: the targets can be looked at (as GET .../migration-targets lists them), but the state table does not allow
        // migrating: no form, and a posted one is refused with the API's status and message.
        var running = await buyer.GetAsync($"/machines/{machine.Id}/migrate");
        Assert.Equal(HttpStatusCode.OK, running.Status);
        Assert.Contains("id=\"not-now\"", running.Html);
        Assert.Contains($"data-host=\"{d.Name}\"", running.Html);
        Assert.DoesNotContain("Migrate here", running.Html);
        var refused = await buyer.PostFormAsync($"/machines/{machine.Id}/migrate", new() { ["host"] = d.Name, ["method"] = "SCP" });
        var viaApi = await Problem.AssertAsync(await api.PostAsync($"/api/v1/machines/{machine.Id}/migrate", new MigrateRequest(d.Name, "SCP")), 409, ErrorCodes.InvalidState);
        Assert.Equal((HttpStatusCode.Conflict, ErrorCodes.InvalidState), (refused.Status, refused.ProblemCode));
        Assert.Contains(Virtuoso.Core.Plain.Sentence(Problem.Detail(viaApi)), refused.Problem); // the API's message, said as a sentence
        machine = await api.ActAsync(machine.Id, "stop");

        var page = await buyer.GetAsync($"/machines/{machine.Id}/migrate");
        Assert.True(page.Status == HttpStatusCode.OK, page.Problem);
        Assert.Contains("not carried", page.Html);
        Assert.Contains($"data-host=\"{d.Name}\"", page.Html);
        Assert.DoesNotContain($"data-host=\"{o.Name}\"", page.Html); // not the host it is on
        Assert.Contains("$30 per 30 days storage period", page.Html); // virt13's storage for linux-busybox, charged on arrival
        Assert.Contains("value=\"SCP\"", page.Html);
        // A price ceiling below the destination's storage rate filters it out.
        Assert.DoesNotContain($"data-host=\"{d.Name}\"", (await buyer.GetAsync($"/machines/{machine.Id}/migrate?maxStorage=10")).Html);

        var started = await buyer.PostFormAsync($"/machines/{machine.Id}/migrate", new() { ["host"] = d.Name, ["method"] = "SCP" });
        Assert.Equal((HttpStatusCode.Redirect, $"/machines/{machine.Id}/migration"), (started.Status, started.Location));

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        WebUser.Page status;
        while (true)
        {
            status = await buyer.GetAsync($"/machines/{machine.Id}/migration");
            Assert.Equal(HttpStatusCode.OK, status.Status);
            if (!status.Html.Contains("http-equiv=\"refresh\"", StringComparison.Ordinal)) break;
            Assert.True(DateTime.UtcNow < deadline, "the migration did not end");
            await Task.Delay(100);
        }
        Assert.Contains($"id=\"migration-phase\">{MigrationStates.Done}<", status.Html);
        var after = await api.MachineAsync(machine.Id);
        Assert.Equal((d.Name, "stopped", machine.Version + 1), (after.Host, after.State, after.Version));

        // Someone else's machine: the same answer as a missing one.
        var intruder = await WebUser.SignupAsync(market, Roles.Buyer);
        foreach (var path in new[] { "migrate", "migration" })
        {
            var theirs = await intruder.GetAsync($"/machines/{machine.Id}/{path}");
            var none = await intruder.GetAsync($"/machines/{Guid.NewGuid()}/{path}");
            Assert.Equal((HttpStatusCode.NotFound, none.Problem), (theirs.Status, theirs.Problem));
        }
    }
}
