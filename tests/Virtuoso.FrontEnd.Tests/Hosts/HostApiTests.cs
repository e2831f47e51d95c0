using Microsoft.AspNetCore.Hosting;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Hosts;

/// <summary>HostApiTests on SQLite, the default dialect.</summary>
public sealed class HostApiTests(MarketFixture market) : HostApiTests<MarketFixture>(market);

/// <summary>HostApiTests on PostgreSQL, production's dialect.</summary>
public sealed class HostApiPostgresTests(PostgresMarketFixture market) : HostApiTests<PostgresMarketFixture>(market);

/// <summary>
/// HostService through the API (report §5.2.2–§5.2.3): add with locked totals, edits that are never
/// retroactive, delete sending machines back to registered, the marketplace, and every refusal changing nothing.
/// </summary>
public abstract class HostApiTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    [Fact]
    public async Task AddHost_Virt8_IsOnlineAtOnceAndListedInTheMarketWithoutItsSecret()
    {
        var name = MarketFixture.UniqueName("virt8");

        var host = await market.Provider.AddHostAsync(HostSpecs.Virt8(name, market.Spare));

        Assert.True(host.Online);
        Assert.Equal(market.Spare.Secret, host.Secret);
        Assert.Equal((10000L, 1000L, 0.00001m, 4096L, 4L, 0.00001m, 3600L, 20000L, 100L, 0.01m, 30L),
            (host.Speed, host.SpeedUnit, host.SpeedPrice, host.Memory, host.MemoryUnit, host.MemoryPrice, host.RunningPeriod,
             host.Storage, host.StorageUnit, host.StoragePrice, host.StoragePeriod));
        var listed = (await Session.Ok<List<HostResponse>>(await market.Anonymous().GetAsync("/api/v1/market"))).Single(h => h.Name == name);
        Assert.Equal(("127.0.0.1", market.Spare.Port, market.Provider.Username, true), (listed.Address, listed.Port, listed.Owner, listed.Online));
        Assert.Null(listed.Secret);
        Assert.Null(listed.Machines);
    }

    [Fact]
    public async Task Market_ListsEveryProvidersHostsWithoutSecrets()
    {
        var market_ = await Session.Ok<List<HostResponse>>(await market.Anonymous().GetAsync("/api/v1/market"));

        Assert.Contains(market_, h => h.Name == "alpha" && h.Port == market.Alpha.Port && h.SpeedPrice == 0.00001m && h.StoragePrice == 0.01m);
        Assert.Contains(market_, h => h.Name == "beta" && h.Port == market.Beta.Port && h.MemoryPrice == 0.000001m && h.StoragePrice == 0.1m);
        Assert.All(market_, h => Assert.Null(h.Secret));
        Assert.DoesNotContain(market.Alpha.Secret, await (await market.Anonymous().GetAsync("/api/v1/market")).Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("speedPrice", "-0.00001")]
    [InlineData("speedPrice", "0")]
    [InlineData("memoryPrice", "1e12")]
    [InlineData("storagePrice", "1e40")]
    [InlineData("storagePrice", "\"NaN\"")]
    [InlineData("memoryPrice", "NaN")]
    [InlineData("speedPrice", "\"-Infinity\"")]
    [InlineData("storagePrice", "\"cheap\"")]
    [InlineData("speedUnit", "0")]
    [InlineData("memoryUnit", "-4")]
    [InlineData("storageUnit", "1e30")]
    [InlineData("runningPeriod", "0")]
    [InlineData("storagePeriod", "-30")]
    [InlineData("speed", "0")]
    [InlineData("memory", "-4096")]
    [InlineData("storage", "100000000000000")]
    [InlineData("speed", "\"fast\"")]
    [InlineData("port", "0")]
    [InlineData("port", "70000")]
    [InlineData("address", "\"\"")]
    [InlineData("name", "\"has space\"")]
    [InlineData("secret", "\"short\"")]
    public async Task AddHost_WithInvalidValue_IsRefusedAsValidationAndAddsNothing(string field, string rawJson)
    {
        var name = MarketFixture.UniqueName("bad-host");
        var hosts = await HostCount();

        var response = await market.Provider.PostAsync("/api/v1/hosts", WithRaw(HostSpecs.Virt8(name, market.Spare), field, rawJson));

        await Problem.AssertAsync(response, 400, ErrorCodes.Validation);
        Assert.Equal(hosts, await HostCount());
        Assert.Equal(0, await market.CountAsync("SELECT COUNT(*) FROM hosts WHERE name = @n", ("@n", name)));
    }

    [Fact]
    public async Task AddHost_WithTakenName_IsRefusedAndLeavesTheOtherHostAlone()
    {
        var alpha = await market.Provider.HostAsync("alpha");

        var response = await market.Provider.PostAsync("/api/v1/hosts", HostSpecs.Virt13("alpha", market.Spare));

        await Problem.AssertAsync(response, 409, ErrorCodes.HostNameTaken);
        Snapshot.Same(alpha with { Online = true }, await market.Provider.HostAsync("alpha") with { Online = true });
    }

    [Theory]
    [InlineData("speedPrice", "-1")]
    [InlineData("memoryPrice", "0")]
    [InlineData("storagePrice", "1e12")]
    [InlineData("storagePrice", "\"NaN\"")]
    [InlineData("speedPrice", "NaN")]
    [InlineData("speedUnit", "0")]
    [InlineData("memoryUnit", "\"big\"")]
    [InlineData("runningPeriod", "-3600")]
    [InlineData("storagePeriod", "0")]
    [InlineData("storagePeriod", "1e30")]
    [InlineData("port", "0")]
    [InlineData("address", "\"\"")]
    [InlineData("address", "\"a b\"")] // issue 20: accepted, then 500 on every buyer call for the host's machines
    [InlineData("address", "\"http://alpha\"")]
    [InlineData("address", "\"0x7f.0.0.1\"")]
    public async Task EditHost_WithInvalidValue_IsRefusedAsValidationAndChangesNothing(string field, string rawJson)
    {
        var host = await market.RoomyHostAsync();
        var before = await market.Provider.HostAsync(host.Name);

        var response = await market.Provider.PatchAsync($"/api/v1/hosts/{host.Name}", $"{{\"{field}\": {rawJson}}}");

        await Problem.AssertAsync(response, 400, ErrorCodes.Validation);
        Snapshot.Same(before, await market.Provider.HostAsync(host.Name));
    }

    [Fact]
    public async Task EditHost_Totals_CannotBeChanged()
    {
        var host = await market.RoomyHostAsync();
        var before = await market.Provider.HostAsync(host.Name);

        var response = await market.Provider.PatchAsync($"/api/v1/hosts/{host.Name}", """{"speed": 1, "memory": 1, "storage": 1}""");

        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest, $"{(int)response.StatusCode}");
        var after = await market.Provider.HostAsync(host.Name);
        Assert.Equal((before.Speed, before.Memory, before.Storage), (after.Speed, after.Memory, after.Storage));
        Assert.Equal((1_000_000L, 1_000_000L, 1_000_000L), (after.Speed, after.Memory, after.Storage));
    }

    [Fact]
    public async Task EditHost_AfterAStore_IsNotRetroactiveButNewSearchesSeeTheNewRates()
    {
        var host = await market.AddHostAsync(); // priced like virt13
        var buyer = await market.SharedBuyerAsync();
        var stored = await buyer.StoreAsync((await buyer.RegisterAsync("linux-busybox", 1000m, 100m)).Id, host.Name);
        Assert.Equal((30m, 0.3744m), (stored.StoragePrice, stored.RunningPrice));

        var edited = await Session.Ok<HostResponse>(await market.Provider.PatchAsync($"/api/v1/hosts/{host.Name}",
            new EditHostRequest(null, null, null, 0.000002m, null, null, 0.2m, null, null, null, null)));

        Assert.Equal((0.000002m, 0.2m), (edited.MemoryPrice, edited.StoragePrice));
        // The stored machine keeps the prices it was stored at (§5.2.3), everywhere it is shown ...
        Snapshot.Same(stored, await buyer.MachineAsync(stored.Id));
        var onHost = edited.Machines!.Single(m => m.Id == stored.Id);
        Assert.Equal((30m, 0.3744m), (onHost.StoragePrice, onHost.RunningPrice));
        var page = (await buyer.AccountAsync()).Machines.Single(m => m.Id == stored.Id);
        Assert.Equal((30m, 0.3744m), (page.StoragePrice, page.RunningPrice));
        // ... and is charged at them: starting it costs the old 0.3744, not the new 0.6048.
        var balance = await buyer.BalanceAsync();
        await buyer.ActAsync(stored.Id, "start");
        Assert.Equal(balance - 0.3744m, await buyer.BalanceAsync());
        // A new search sees the new rates: 10 chunks × 0.2 × 30 and (4 × 0.00001 + 64 × 0.000002) × 3600.
        var fresh = await buyer.RegisterAsync("linux-busybox", 1000m, 100m);
        var rates = (await buyer.SearchAsync(fresh.Id)).Single(r => r.Host == host.Name);
        Assert.Equal((60m, 0.6048m), (rates.StorageRate, rates.RunningRate));
    }

    [Fact]
    public async Task OtherProvidersHost_CannotBeSeenEditedOrDeleted_AsIfItDidNotExist()
    {
        var other = await market.SignupAsync(Roles.Provider, "other-provider");
        var alpha = await market.Provider.HostAsync("alpha");
        var hosts = await HostCount();

        foreach (var (method, body) in new (HttpMethod, object?)[]
                 { (HttpMethod.Get, null), (HttpMethod.Patch, new EditHostRequest(null, 1m, null, null, null, null, null, null, null, null, null)), (HttpMethod.Delete, null) })
        {
            var theirs = await Problem.AssertAsync(await other.SendAsync(method, "/api/v1/hosts/alpha", body), 404, ErrorCodes.NotFound);
            var none = await Problem.AssertAsync(await other.SendAsync(method, "/api/v1/hosts/no-such-host", body), 404, ErrorCodes.NotFound);
            Assert.Equal(Problem.Detail(none).Replace("no-such-host", "alpha", StringComparison.Ordinal), Problem.Detail(theirs));
        }

        Snapshot.Same(alpha with { Online = true }, await market.Provider.HostAsync("alpha") with { Online = true });
        Assert.Equal(hosts, await HostCount());
        Assert.Empty(await Session.Ok<List<HostResponse>>(await other.GetAsync("/api/v1/hosts")));
    }

    [Fact]
    public async Task DeleteHost_SendsItsMachinesBackToRegisteredAndTellsTheirOwners()
    {
        var host = await market.AddHostAsync();
        var buyer = await market.SharedBuyerAsync();
        var stored = await buyer.StoreAsync((await buyer.RegisterAsync("Configuration1", 3m, 1m)).Id, host.Name);
        var running = await buyer.ActAsync((await buyer.StoreAsync((await buyer.RegisterAsync("Configuration1", 3m, 1m)).Id, host.Name)).Id, "start");
        var suspended = await buyer.ActAsync((await buyer.StoreAsync((await buyer.RegisterAsync("Configuration1", 3m, 1m)).Id, host.Name)).Id, "start");
        suspended = await buyer.ActAsync(suspended.Id, "suspend");
        var balance = await buyer.BalanceAsync();
        var hosts = await HostCount();

        var response = await market.Provider.DeleteAsync($"/api/v1/hosts/{host.Name}");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        foreach (var before in new[] { stored, running, suspended })
        {
            var after = await buyer.MachineAsync(before.Id);
            Assert.Equal(("registered", before.Version + 1, (string?)null, (decimal?)null), (after.State, after.Version, after.Host, after.StoragePrice));
            Assert.Equal((before.StorageBid, before.RunningBid), (after.StorageBid, after.RunningBid));
            Assert.False(market.Spare.Machines.ContainsKey(before.Id), "its disk is removed from the agent");
            var told = Assert.Single(await buyer.EventsAsync(before.Id), e => e.Kind == "host-deleted");
            Assert.Contains(host.Name, told.Message);
        }
        Assert.Equal(balance, await buyer.BalanceAsync()); // charges already made are not refunded, and nothing more is taken
        Assert.Equal(hosts - 1, await HostCount());
        await Problem.AssertAsync(await market.Provider.GetAsync($"/api/v1/hosts/{host.Name}"), 404, ErrorCodes.NotFound);
        // Registered again, the machine can be stored elsewhere.
        var moved = await buyer.StoreAsync(stored.Id, (await market.RoomyHostAsync()).Name);
        Assert.Equal(("stored", stored.Version + 2), (moved.State, moved.Version));
        Assert.Equal((AgentStates.Stopped, moved.Version), (market.Spare.Machines[moved.Id].State, market.Spare.Machines[moved.Id].Version));
    }

    private Task<long> HostCount() => market.CountAsync("SELECT COUNT(*) FROM hosts");

    /// <summary>The request as JSON with <paramref name="field"/> replaced by raw JSON text (which may be invalid JSON, like NaN).</summary>
    private static string WithRaw(AddHostRequest request, string field, string rawJson)
    {
        var node = JsonSerializer.SerializeToNode(request, Json.Options)!.AsObject();
        node[field] = "__raw__";
        return node.ToJsonString().Replace("\"__raw__\"", rawJson, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a b")]
    [InlineData("alpha:7000")]
    public async Task AddHost_WithAnAddressThatIsNeitherANameNorAnIp_IsRefused_AndAddsNothing(string address)
    {
        var name = MarketFixture.UniqueName("bad-address");
        var problem = await Problem.AssertAsync(await market.Provider.PostAsync("/api/v1/hosts", HostSpecs.Virt8(name, market.Spare) with { Address = address }), 400, ErrorCodes.Validation);
        Assert.Contains("host name", Problem.Detail(problem));
        await Problem.AssertAsync(await market.Provider.GetAsync($"/api/v1/hosts/{name}"), 404, ErrorCodes.NotFound);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("169.254.169.254")]
    [InlineData("10.0.0.5")]
    [InlineData("localhost")]
    public async Task AddOrEditHost_OnAnInternalAddress_IsRefusedUnlessTheOperatorAllowsIt(string address)
    {
        // A front-end of the same marketplace with the production default: internal addresses off (issue 20: SSRF).
        await using var production = market.Factory.WithWebHostBuilder(b => b.UseSetting("Virtuoso:AllowPrivateHostAddresses", "false"));
        var provider = new Session(Session.WithToken(production.CreateClient(), market.Provider.Token), market.Provider.Username, market.Provider.Password, market.Provider.Token, null);
        var name = MarketFixture.UniqueName("internal");

        var refused = await Problem.AssertAsync(await provider.PostAsync("/api/v1/hosts", HostSpecs.Virt8(name, market.Spare) with { Address = address }), 400, ErrorCodes.Validation);
        Assert.Contains("does not connect to", Problem.Detail(refused));
        await Problem.AssertAsync(await provider.GetAsync($"/api/v1/hosts/{name}"), 404, ErrorCodes.NotFound);

        var host = await market.RoomyHostAsync();
        var before = await market.Provider.HostAsync(host.Name);
        await Problem.AssertAsync(await provider.PatchAsync($"/api/v1/hosts/{host.Name}", $"{{\"address\": \"{address}\"}}"), 400, ErrorCodes.Validation);
        Snapshot.Same(before, await market.Provider.HostAsync(host.Name));
    }
}
