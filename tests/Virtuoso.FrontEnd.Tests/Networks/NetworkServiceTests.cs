using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Networks;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Networks;

/// <summary>NetworkServiceTests on SQLite, the default dialect.</summary>
public sealed class NetworkServiceTests(MarketFixture market) : NetworkServiceTests<MarketFixture>(market);

/// <summary>NetworkServiceTests on PostgreSQL, production's dialect (row locks serialize the allocations).</summary>
public sealed class NetworkServicePostgresTests(PostgresMarketFixture market) : NetworkServiceTests<PostgresMarketFixture>(market);

/// <summary>
/// A buyer's private networks through the API (issue 16): <c>default</c> appears once however many ask at once, subnets
/// are judged with a sentence and a stable code, a machine gets the lowest free address of its network when registered
/// or moved, never one another machine has, and its start tells the agent the network's VNI, its address and the peers.
/// </summary>
public abstract class NetworkServiceTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    private static async Task<List<NetworkResponse>> ListAsync(Session s) => await Session.Ok<List<NetworkResponse>>(await s.GetAsync("/api/v1/networks"));

    private static Task<HttpResponseMessage> CreateRawAsync(Session s, string name, string? subnet = null) =>
        s.PostAsync("/api/v1/networks", new CreateNetworkRequest(name, subnet));

    private static async Task<NetworkResponse> CreateAsync(Session s, string name, string? subnet = null)
    {
        var response = await CreateRawAsync(s, name, subnet);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        Assert.Equal($"/api/v1/networks/{name}", response.Headers.Location?.OriginalString);
        return await Session.Ok<NetworkResponse>(response);
    }

    private static Task<HttpResponseMessage> RegisterRawAsync(Session s, string? network, string name = "m") =>
        s.PostAsync("/api/v1/machines", new RegisterRequest("Configuration1", name, null, null, null, null, null, 1000m, 100m, network));

    private static async Task<MachineResponse> RegisterAsync(Session s, string? network, string name = "m")
    {
        var response = await RegisterRawAsync(s, network, name);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await Session.Ok<MachineResponse>(response);
    }

    private static Task<HttpResponseMessage> MoveAsync(Session s, Guid machine, string network) =>
        s.PatchAsync($"/api/v1/machines/{machine:D}", new EditMachineRequest(null, null, null, null, null, null, null, null, Network: network));

    private Task<long> NetworkCountAsync(Session s) => market.CountAsync("SELECT COUNT(*) FROM networks WHERE owner = @owner", ("owner", s.Username));

    [Fact]
    public async Task Default_IsCreatedLazily_OnceUnderConcurrency()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        Assert.Equal(0, await NetworkCountAsync(buyer));

        var lists = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => ListAsync(buyer)));

        foreach (var list in lists)
            Assert.Equal(("default", "10.128.0.0/24"), (Assert.Single(list).Name, list[0].Subnet));
        Assert.Equal(1, await NetworkCountAsync(buyer));
        Assert.Single(await buyer.EventsAsync(), e => e.Kind == "network-created");
    }

    [Fact]
    public async Task Create_List_Delete()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);

        var lab = await CreateAsync(buyer, "lab_2", "192.168.10.0/24");
        var plain = await CreateAsync(buyer, "plain");

        Assert.Equal(("lab_2", "192.168.10.0/24", 0), (lab.Name, lab.Subnet, lab.Machines.Count));
        Assert.Equal("10.128.0.0/24", plain.Subnet);
        Assert.Equal(["default", "lab_2", "plain"], (await ListAsync(buyer)).Select(n => n.Name));
        Assert.Equal("lab_2", (await Session.Ok<NetworkResponse>(await buyer.GetAsync("/api/v1/networks/lab_2"))).Name);
        Assert.Equal(HttpStatusCode.NoContent, (await buyer.DeleteAsync("/api/v1/networks/lab_2")).StatusCode);
        Assert.Equal(["default", "plain"], (await ListAsync(buyer)).Select(n => n.Name));
        await Problem.AssertAsync(await buyer.DeleteAsync("/api/v1/networks/lab_2"), 404, ErrorCodes.NotFound);
        // Every network has its own VNI, unique in the marketplace.
        var vnis = await market.Database.Database.ReadAsync(c => Dapper.SqlMapper.QueryAsync<long>(c, "SELECT vni FROM networks"));
        Assert.Equal(vnis.Count(), vnis.Distinct().Count());
        Assert.All(vnis, v => Assert.InRange(v, 1, NetworkService.MaxVni));
    }

    public static TheoryData<string, string> BadSubnets() => new()
    {
        { "10.128.0.0", "must be an IPv4 CIDR such as 10.128.0.0/24" },
        { "10.128.0.0/", "must be an IPv4 CIDR" },
        { "10.128.0.256/24", "must be an IPv4 CIDR" },
        { "fd00::/64", "must be an IPv4 CIDR" },
        { "10.128.0.1/24", "has host bits set: the network address of a /24 containing 10.128.0.1 is 10.128.0.0" },
        { "10.0.0.0/15", "prefix must be /16 to /29" },
        { "10.128.0.0/30", "prefix must be /16 to /29" },
        { "8.8.8.0/24", "inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16), not 8.8.8.0/24" },
        { "172.32.0.0/16", "inside a private range" },
        { "10.0.0.0/16", "overlaps 10.0.2.0/24" },
        { "10.0.2.0/29", "overlaps 10.0.2.0/24" },
    };

    [Theory]
    [MemberData(nameof(BadSubnets))]
    public async Task Create_WithABadSubnet_IsInvalidSubnet_SayingWhatIsWrong(string subnet, string says)
    {
        var buyer = await market.SharedBuyerAsync();
        var before = await NetworkCountAsync(buyer);

        var problem = await Problem.AssertAsync(await CreateRawAsync(buyer, "bad", subnet), 400, ErrorCodes.InvalidSubnet);

        Assert.Contains(says, Problem.Detail(problem));
        Assert.Equal(before, await NetworkCountAsync(buyer));
    }

    [Theory]
    [InlineData("")]
    [InlineData("-lab")]
    [InlineData("a.b")]
    [InlineData("thirty-three-characters-long-name")]
    public async Task Create_WithABadName_IsInvalid(string name)
    {
        var buyer = await market.SharedBuyerAsync();
        Assert.Contains("network name must be", Problem.Detail(await Problem.AssertAsync(await CreateRawAsync(buyer, name), 400, ErrorCodes.Validation)));
    }

    [Fact]
    public async Task Create_ATakenName_IsNetworkNameTaken()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        await CreateAsync(buyer, "lab", "172.16.0.0/16");
        await ListAsync(buyer);

        var taken = await Problem.AssertAsync(await CreateRawAsync(buyer, "lab", "192.168.0.0/24"), 409, ErrorCodes.NetworkNameTaken);
        Assert.Contains("you already have a network named 'lab'", Problem.Detail(taken));
        await Problem.AssertAsync(await CreateRawAsync(buyer, "default"), 409, ErrorCodes.NetworkNameTaken);
        // Another buyer may use the same name and subnet: each network is its own segment.
        await CreateAsync(await market.SignupAsync(Roles.Buyer), "lab", "172.16.0.0/16");
    }

    [Fact]
    public async Task Delete_InUse_NamesTheMachines_DefaultComesBackLazily()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        await CreateAsync(buyer, "lab", "192.168.1.0/24");
        var a = await RegisterAsync(buyer, "lab", "alpha-vm");
        await RegisterAsync(buyer, "lab", "beta-vm");
        var d = await RegisterAsync(buyer, null, "in-default");

        var inUse = await Problem.AssertAsync(await buyer.DeleteAsync("/api/v1/networks/lab"), 409, ErrorCodes.NetworkInUse);
        Assert.Contains("network lab has machines alpha-vm, beta-vm attached", Problem.Detail(inUse));
        Assert.Equal(["alpha-vm", "beta-vm"], Assert.Single(await ListAsync(buyer), n => n.Name == "lab").Machines);
        await Problem.AssertAsync(await buyer.DeleteAsync("/api/v1/networks/default"), 409, ErrorCodes.NetworkInUse);

        Assert.Equal(HttpStatusCode.NoContent, (await buyer.DeleteAsync($"/api/v1/machines/{d.Id:D}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await buyer.DeleteAsync("/api/v1/networks/default")).StatusCode);
        Assert.Equal(0, await market.CountAsync("SELECT COUNT(*) FROM networks WHERE owner = @o AND name = 'default'", ("o", buyer.Username)));
        Assert.Equal(["lab", "default"], (await ListAsync(buyer)).Select(n => n.Name));
        Assert.Equal("lab", (await buyer.MachineAsync(a.Id)).Network);
    }

    [Fact]
    public async Task Register_GivesTheLowestFreeAddress_ReusesFreedOnes_AndAFullSubnetRegistersNothing()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        await CreateAsync(buyer, "tiny", "10.9.0.0/29");
        var machines = new List<MachineResponse>();
        for (var i = 0; i < 5; i++) machines.Add(await RegisterAsync(buyer, "tiny", $"m{i}"));

        Assert.Equal(["10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"], machines.Select(m => m.PrivateAddress));
        Assert.All(machines, m => Assert.Equal("tiny", m.Network));
        var balance = await buyer.BalanceAsync();
        var full = await Problem.AssertAsync(await RegisterRawAsync(buyer, "tiny", "sixth"), 409, ErrorCodes.SubnetFull);
        Assert.Contains("network tiny (10.9.0.0/29) is full: all its 5 addresses are taken", Problem.Detail(full));
        Assert.Equal(5, (await buyer.MachinesAsync()).Count);
        Assert.Equal(balance, await buyer.BalanceAsync());

        Assert.Equal(HttpStatusCode.NoContent, (await buyer.DeleteAsync($"/api/v1/machines/{machines[2].Id:D}")).StatusCode);
        Assert.Equal("10.9.0.4", (await RegisterAsync(buyer, "tiny", "again")).PrivateAddress);
        var listed = await buyer.MachinesAsync();
        Assert.All(listed, m => Assert.Equal("tiny", m.Network));
        Assert.Equal(5, listed.Select(m => m.PrivateAddress).Distinct().Count());

        // Without a network: default, created then.
        var inDefault = await RegisterAsync(buyer, null);
        Assert.Equal(("default", "10.128.0.2"), (inDefault.Network, inDefault.PrivateAddress));
    }

    [Fact]
    public async Task ConcurrentRegistrations_GetDistinctAddresses()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);

        var machines = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => RegisterAsync(buyer, null, $"c{i}")));

        Assert.Equal(Enumerable.Range(2, 12).Select(i => $"10.128.0.{i}").Order(), machines.Select(m => m.PrivateAddress!).Order());
        Assert.Equal(1, await NetworkCountAsync(buyer));
    }

    [Fact]
    public async Task Edit_Network_MovesWithANewAddress_WhenNotRunning_AndIsRefusedWhileRunning()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        await CreateAsync(buyer, "lab", "192.168.7.0/24");
        await RegisterAsync(buyer, "lab", "first-in-lab");
        var registered = await RegisterAsync(buyer, null, "registered");

        var moved = await Session.Ok<MachineResponse>(await MoveAsync(buyer, registered.Id, "lab"));
        Assert.Equal(("lab", "192.168.7.3", registered.Version), (moved.Network, moved.PrivateAddress, moved.Version));
        // The same network again keeps the address.
        Assert.Equal("192.168.7.3", (await Session.Ok<MachineResponse>(await MoveAsync(buyer, registered.Id, "lab"))).PrivateAddress);
        Assert.Contains(await buyer.EventsAsync(registered.Id), e => e.Kind == "network-changed" && e.Message.Contains("moved to network lab as 192.168.7.3"));

        var (stored, _) = await buyer.StoredMachineAsync();
        Assert.Equal("lab", (await Session.Ok<MachineResponse>(await MoveAsync(buyer, stored.Id, "lab"))).Network);
        await buyer.ActAsync(stored.Id, "start");
        var running = await Problem.AssertAsync(await MoveAsync(buyer, stored.Id, "default"), 409, ErrorCodes.InvalidState);
        Assert.Contains("running: stop it first", Problem.Detail(running));
        await buyer.ActAsync(stored.Id, "suspend");
        Assert.Contains("suspended: stop it first", Problem.Detail(await Problem.AssertAsync(await MoveAsync(buyer, stored.Id, "default"), 409, ErrorCodes.InvalidState)));
        await buyer.ActAsync(stored.Id, "resume");
        await buyer.ActAsync(stored.Id, "stop");
        var back = await Session.Ok<MachineResponse>(await MoveAsync(buyer, stored.Id, "default"));
        Assert.Equal(("default", "10.128.0.2"), (back.Network, back.PrivateAddress));

        await Problem.AssertAsync(await MoveAsync(buyer, stored.Id, "nowhere"), 404, ErrorCodes.NotFound);
        // With other fields: a registered machine only, as every edit; the spec edit and the move are one.
        var both = await Session.Ok<MachineResponse>(await buyer.PatchAsync($"/api/v1/machines/{registered.Id:D}",
            new EditMachineRequest("renamed", null, null, null, null, null, null, null, Network: "default")));
        Assert.Equal(("renamed", "default", "10.128.0.3"), (both.Name, both.Network, both.PrivateAddress));
    }

    [Fact]
    public async Task AnotherBuyersNetwork_IsNotFound()
    {
        var alice = await market.SignupAsync(Roles.Buyer);
        var bob = await market.SignupAsync(Roles.Buyer);
        await CreateAsync(alice, "secret", "10.20.0.0/16");
        var bobs = await RegisterAsync(bob, null);

        await Problem.AssertAsync(await bob.GetAsync("/api/v1/networks/secret"), 404, ErrorCodes.NotFound);
        await Problem.AssertAsync(await bob.DeleteAsync("/api/v1/networks/secret"), 404, ErrorCodes.NotFound);
        var register = await Problem.AssertAsync(await RegisterRawAsync(bob, "secret"), 404, ErrorCodes.NotFound);
        Assert.Contains("you have no network named 'secret'", Problem.Detail(register));
        await Problem.AssertAsync(await MoveAsync(bob, bobs.Id, "secret"), 404, ErrorCodes.NotFound);
        Assert.DoesNotContain(await ListAsync(bob), n => n.Name == "secret");
        Assert.Equal(1, await market.CountAsync("SELECT COUNT(*) FROM networks WHERE name = 'secret'"));
        await Problem.AssertAsync(await market.Provider.GetAsync("/api/v1/networks"), 403, ErrorCodes.WrongRole);
    }

    [Fact]
    public async Task Start_CarriesThePrivateNetwork_WithThePeersOnOtherHosts_AndTheSyncPushesThem()
    {
        await using var one = await FakeAgent.StartAsync("net-one", "127.0.0.2");
        await using var two = await FakeAgent.StartAsync("net-two", "127.0.0.3");
        var hostOne = await market.Provider.AddHostAsync(HostSpecs.Virt13(MarketFixture.UniqueName("net-one"), one) with { Address = "127.0.0.2", Speed = 100_000, Memory = 100_000, Storage = 100_000 });
        var hostTwo = await market.Provider.AddHostAsync(HostSpecs.Virt13(MarketFixture.UniqueName("net-two"), two) with { Address = "127.0.0.3", Speed = 100_000, Memory = 100_000, Storage = 100_000 });
        var buyer = await market.SignupAsync(Roles.Buyer);
        await CreateAsync(buyer, "lab", "192.168.50.0/24");
        var a = await buyer.StoreAsync((await RegisterAsync(buyer, "lab", "a")).Id, hostOne.Name);
        var b = await buyer.StoreAsync((await RegisterAsync(buyer, "lab", "b")).Id, hostTwo.Name);
        var c = await buyer.StoreAsync((await RegisterAsync(buyer, null, "c")).Id, hostOne.Name);
        var vni = (int)await market.CountAsync("SELECT vni FROM networks WHERE owner = @o AND name = 'lab'", ("o", buyer.Username));
        var defaultVni = (int)await market.CountAsync("SELECT vni FROM networks WHERE owner = @o AND name = 'default'", ("o", buyer.Username));

        await buyer.ActAsync(a.Id, "start");
        await buyer.ActAsync(c.Id, "start");

        var sent = one.Commands[(a.Id, "start")].Network!;
        Assert.Equal((vni, "192.168.50.2", 24), (sent.Vni, sent.Address, sent.PrefixLength));
        Assert.Equal(["127.0.0.3"], sent.Peers);
        var alone = one.Commands[(c.Id, "start")].Network!;
        Assert.Equal((defaultVni, "10.128.0.2", 24, 0), (alone.Vni, alone.Address, alone.PrefixLength, alone.Peers.Count));
        await buyer.ActAsync(a.Id, "suspend");
        await buyer.ActAsync(a.Id, "resume");
        Assert.Equal(["127.0.0.3"], one.Commands[(a.Id, "resume")].Network!.Peers);
        var shown = await buyer.MachineAsync(b.Id);
        Assert.Equal(("lab", "192.168.50.3"), (shown.Network, shown.PrivateAddress));

        // The desired state of each host: its networks with their peers, and every host's underlay address.
        var sync = market.Factory.Services.GetRequiredService<NetworkSync>();
        var desiredOne = await sync.DesiredAsync(hostOne.Name);
        Assert.Equal(new[] { (defaultVni, ""), (vni, "127.0.0.3") }.Order(), desiredOne.Networks.Select(n => (n.Vni, string.Join(",", n.Peers))).Order());
        Assert.Contains("127.0.0.2", desiredOne.Hosts);
        Assert.Contains("127.0.0.3", desiredOne.Hosts);
        Assert.Contains("127.0.0.1", desiredOne.Hosts);
        var desiredTwo = await sync.DesiredAsync(hostTwo.Name);
        Assert.Equal((vni, "127.0.0.2"), (Assert.Single(desiredTwo.Networks).Vni, Assert.Single(Assert.Single(desiredTwo.Networks).Peers)));

        // The stores pushed at once (or the periodic pass did): the agent of host two was told its peer.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!two.NetworkPushes.Any(p => p.Networks.Any(n => n.Vni == vni && n.Peers.Contains("127.0.0.2"))))
        {
            Assert.True(DateTime.UtcNow < deadline, "host two was never told about its peer");
            await Task.Delay(100);
        }

        // Once b leaves host two, host one's lab has no peer left.
        Assert.Equal(HttpStatusCode.NoContent, (await buyer.DeleteAsync($"/api/v1/machines/{b.Id:D}")).StatusCode);
        Assert.Empty(Assert.Single((await sync.DesiredAsync(hostOne.Name)).Networks, n => n.Vni == vni).Peers);
        Assert.Empty((await sync.DesiredAsync(hostTwo.Name)).Networks);
    }

    [Fact]
    public async Task AMachineFromBeforeNetworks_JoinsDefault_AtItsStart()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        var (machine, _) = await buyer.StoredMachineAsync();
        // As a machine registered before migration 0016 (the test's own connection is read-only: the front-end's writes).
        var db = market.Factory.Services.GetRequiredService<Virtuoso.FrontEnd.Data.Database>();
        await db.WriteAsync(async (c, tx) =>
        {
            await Dapper.SqlMapper.ExecuteAsync(c, "UPDATE machines SET network = NULL, private_address = NULL WHERE id = @id", new { id = machine.Id.ToString("D") }, tx);
            return await Dapper.SqlMapper.ExecuteAsync(c, "DELETE FROM networks WHERE owner = @o", new { o = buyer.Username }, tx);
        });
        Assert.Null((await buyer.MachineAsync(machine.Id)).Network);

        var started = await buyer.ActAsync(machine.Id, "start");

        Assert.Equal(("default", "10.128.0.2"), (started.Network, started.PrivateAddress));
        Assert.Equal("10.128.0.2", market.Spare.Commands[(machine.Id, "start")].Network!.Address);
        Assert.Contains(await buyer.EventsAsync(machine.Id), e => e.Kind == "network-attached");
    }
}
