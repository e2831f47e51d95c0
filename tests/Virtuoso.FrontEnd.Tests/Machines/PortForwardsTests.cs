using System.Net;
using System.Text.Json;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Machines;

/// <summary>PortForwardsTests on SQLite, the default dialect.</summary>
public sealed class PortForwardsTests(MarketFixture market) : PortForwardsTests<MarketFixture>(market);

/// <summary>PortForwardsTests on PostgreSQL, production's dialect.</summary>
public sealed class PortForwardsPostgresTests(PostgresMarketFixture market) : PortForwardsTests<PostgresMarketFixture>(market);

/// <summary>
/// Forwarded ports (issue 14 item 3) through the API: a host's public address and range, the ports a start allocates
/// (SSH first, then the extra ones asked for), no two machines sharing one even when they start at once, a range that is
/// exhausted refusing the start and changing nothing, and every way a machine stops running giving them back.
/// </summary>
public abstract class PortForwardsTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    private const string Address = "203.0.113.7";

    [Fact]
    public async Task Start_ForwardsSshAndTheAskedPortsFromTheHostsRange_AndShowsThemWhileRunning()
    {
        var host = await HostAsync("41000-41009");
        var buyer = await market.SignupAsync(Roles.Buyer);
        var id = await StoredAsync(buyer, host);
        var asked = await Session.Ok<MachineResponse>(await buyer.PostAsync($"/api/v1/machines/{id:D}/ports", new PortRequest(8080)));
        Assert.Equal([8080], asked.ExtraPorts);
        Assert.Null(asked.Ssh); // not running: nothing forwarded
        Assert.Null(asked.Ports);

        var started = await buyer.ActAsync(id, "start");

        Assert.Equal(new SshEndpoint(Address, 41000), started.Ssh);
        Assert.Equal(new Dictionary<string, string> { ["22"] = $"{Address}:41000", ["8080"] = $"{Address}:41001" }, started.Ports);
        Assert.Equal([new PortForward(41000, 22), new PortForward(41001, 8080)], market.Spare.Forwards[id]);
        // The wire shape of GET /machines/{id}: ssh {address, port}, ports {guest: "address:port"}.
        var json = JsonDocument.Parse(await (await buyer.GetAsync($"/api/v1/machines/{id:D}")).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(Address, json.GetProperty("ssh").GetProperty("address").GetString());
        Assert.Equal(41000, json.GetProperty("ssh").GetProperty("port").GetInt32());
        Assert.Equal($"{Address}:41001", json.GetProperty("ports").GetProperty("8080").GetString());
        Assert.Equal(started.Ssh, Assert.Single(await buyer.MachinesAsync(), m => m.Id == id).Ssh);

        // A port asked for while it runs applies from the next start; one removed stays until then too.
        await Session.Ok<MachineResponse>(await buyer.PostAsync($"/api/v1/machines/{id:D}/ports", new PortRequest(443)));
        var removed = await Session.Ok<MachineResponse>(await buyer.DeleteAsync($"/api/v1/machines/{id:D}/ports/8080"));
        Assert.Equal([443], removed.ExtraPorts);
        Assert.Equal(["22", "8080"], removed.Ports!.Keys.Order());
        await buyer.ActAsync(id, "stop");
        var again = await buyer.ActAsync(id, "start");
        Assert.Equal(new Dictionary<string, string> { ["22"] = $"{Address}:41000", ["443"] = $"{Address}:41001" }, again.Ports);
        await buyer.ActAsync(id, "stop");
    }

    [Fact]
    public async Task TwoMachines_NeverShareAPort_AnExhaustedRangeRefusesTheStartChangingNothing_AndAStopGivesThePortBack()
    {
        var host = await HostAsync("42000-42001");
        var buyer = await market.SignupAsync(Roles.Buyer);
        var first = await StoredAsync(buyer, host);
        var second = await StoredAsync(buyer, host);
        var third = await StoredAsync(buyer, host);
        Assert.Equal(42000, (await buyer.ActAsync(first, "start")).Ssh!.Port);
        Assert.Equal(42001, (await buyer.ActAsync(second, "start")).Ssh!.Port);
        var before = await StateOfAsync(buyer, third, host);

        var refused = await Problem.AssertAsync(await buyer.PostAsync($"/api/v1/machines/{third:D}/start"), 409, ErrorCodes.NoPorts);

        Assert.Contains($"host {host} has no free port", Problem.Detail(refused), StringComparison.Ordinal);
        Assert.Contains("42000-42001", Problem.Detail(refused), StringComparison.Ordinal);
        Assert.Equal(before, await StateOfAsync(buyer, third, host));
        Assert.Equal(AgentStates.Stopped, market.Spare.Machines[third].State); // the agent was not even asked

        await buyer.ActAsync(first, "stop");
        Assert.Equal(42000, (await buyer.ActAsync(third, "start")).Ssh!.Port);
        await buyer.ActAsync(second, "stop");
        await buyer.ActAsync(third, "stop");
        Assert.Equal(0L, await ForwardsOnAsync(host));
    }

    [Fact]
    public async Task StartsAtOnce_GetDistinctPorts_AndThoseBeyondTheRangeAreRefused()
    {
        var host = await HostAsync("43000-43003");
        var buyer = await market.SignupAsync(Roles.Buyer);
        var ids = new List<Guid>();
        for (var i = 0; i < 6; i++) ids.Add(await StoredAsync(buyer, host));

        var answers = await Task.WhenAll(ids.Select(id => buyer.PostAsync($"/api/v1/machines/{id:D}/start")));

        var started = new List<MachineResponse>();
        foreach (var a in answers)
        {
            if (a.StatusCode == HttpStatusCode.OK) started.Add(await Session.Ok<MachineResponse>(a));
            else await Problem.AssertAsync(a, 409, ErrorCodes.NoPorts);
        }
        Assert.Equal(4, started.Count);
        Assert.Equal([43000, 43001, 43002, 43003], started.Select(m => m.Ssh!.Port).Order());
        foreach (var m in started) await buyer.ActAsync(m.Id, "stop");
    }

    [Fact]
    public async Task SuspendPowerOffDeleteAndAFailedStart_GiveThePortsBack_AndResumeGetsThemAnew()
    {
        var host = await HostAsync("44000-44009");
        var buyer = await market.SignupAsync(Roles.Buyer);
        var id = await StoredAsync(buyer, host);
        await buyer.ActAsync(id, "start");

        var suspended = await buyer.ActAsync(id, "suspend");
        Assert.Null(suspended.Ssh);
        Assert.Equal(0L, await ForwardsOfAsync(id));
        Assert.False(market.Spare.Forwards.ContainsKey(id));
        Assert.Equal(44000, (await buyer.ActAsync(id, "resume")).Ssh!.Port);

        // The guest powers itself off: the host monitor records it stopped, and its ports go with it.
        market.Spare.PowerOff(id);
        await WaitAsync(async () => (await buyer.MachineAsync(id)).State == "stopped");
        Assert.Equal(0L, await ForwardsOfAsync(id));

        // A start the agent refuses does not happen: the ports allocated with its claim are given back.
        market.Spare.FailNext("start");
        await Problem.AssertAsync(await buyer.PostAsync($"/api/v1/machines/{id:D}/start"), 502, ErrorCodes.AgentFailed);
        Assert.Equal("stopped", (await buyer.MachineAsync(id)).State);
        Assert.Equal(0L, await ForwardsOfAsync(id));

        await Session.Ok<MachineResponse>(await buyer.PostAsync($"/api/v1/machines/{id:D}/ports", new PortRequest(8080)));
        Assert.Equal(HttpStatusCode.NoContent, (await buyer.DeleteAsync($"/api/v1/machines/{id:D}")).StatusCode);
        Assert.Equal(0L, await market.CountAsync("SELECT COUNT(*) FROM machine_ports WHERE machine = @m", ("m", id.ToString("D"))));
    }

    /// <summary>
    /// A port another program holds on the host (the kernel lent it to an outgoing connection, say): the agent refuses
    /// the start with port-busy, changing nothing, and the front-end tries again with other ports; so does a resume.
    /// Only when every try meets a held port is the buyer told, and then the machine holds no port.
    /// </summary>
    [Fact]
    public async Task APortHeldByAnotherProgramOnTheHost_IsSkipped_TheStartAndResumeGetOtherPorts()
    {
        var host = await HostAsync("45000-45009");
        var buyer = await market.SignupAsync(Roles.Buyer);
        var id = await StoredAsync(buyer, host);
        await Session.Ok<MachineResponse>(await buyer.PostAsync($"/api/v1/machines/{id:D}/ports", new PortRequest(8080)));
        market.Spare.HeldPorts[45001] = true;

        var started = await buyer.ActAsync(id, "start");

        // The first try had 45000 (SSH) and 45001 (8080); the second avoids both (every port of a failed try is avoided).
        Assert.Equal(("running", 45002, "203.0.113.7:45003"), (started.State, started.Ssh!.Port, started.Ports!["8080"]));
        Assert.Equal([45002, 45003], market.Spare.Forwards[id].Select(f => f.HostPort).Order());
        Assert.Equal(2L, await ForwardsOfAsync(id));
        // The buyer's log says the ports were skipped, not that the start failed; charged once.
        var events = await buyer.EventsAsync(id);
        Assert.Equal("start not done with host " + host + "'s ports 45000, 45001: another program on the host holds one of them; other ports are tried",
            Assert.Single(events, e => e.Kind == "ports-skipped").Message);
        Assert.DoesNotContain(events, e => e.Kind == "error");
        Assert.Single(events, e => e.Kind == "started");

        await buyer.ActAsync(id, "suspend");
        market.Spare.HeldPorts[45000] = true;
        market.Spare.HeldPorts[45002] = true;
        var resumed = await buyer.ActAsync(id, "resume");
        Assert.Equal((45004, "203.0.113.7:45005"), (resumed.Ssh!.Port, resumed.Ports!["8080"]));

        // Every port held: after its tries the resume is refused, the machine stays suspended and holds no port.
        await buyer.ActAsync(id, "suspend");
        foreach (var p in Enumerable.Range(45000, 10)) market.Spare.HeldPorts[p] = true;
        var resumes = market.Spare.Calls.Count(c => c == $"resume {id:D}");
        var problem = await Problem.AssertAsync(await buyer.PostAsync($"/api/v1/machines/{id:D}/resume"), 502, ErrorCodes.AgentFailed);
        Assert.Contains("held by another program", problem.GetProperty("detail").GetString());
        Assert.Equal("suspended", (await buyer.MachineAsync(id)).State);
        Assert.Equal(0L, await ForwardsOfAsync(id));
        Assert.Equal(resumes + Virtuoso.FrontEnd.Machines.MachineService.PortBusyAttempts, market.Spare.Calls.Count(c => c == $"resume {id:D}"));
    }

    [Fact]
    public async Task DeletingTheHost_EvictsARunningMachine_AndFreesItsPorts()
    {
        var host = await HostAsync("45000-45009");
        var buyer = await market.SignupAsync(Roles.Buyer);
        var id = await StoredAsync(buyer, host);
        await buyer.ActAsync(id, "start");

        Assert.Equal(HttpStatusCode.NoContent, (await market.Provider.DeleteAsync($"/api/v1/hosts/{host}")).StatusCode);

        var evicted = await buyer.MachineAsync(id);
        Assert.Equal(("registered", null as SshEndpoint), (evicted.State, evicted.Ssh));
        Assert.Equal(0L, await ForwardsOfAsync(id));
    }

    public static TheoryData<int, int, string> PortRefusals() => new()
    {
        { 0, 400, ErrorCodes.Validation },
        { 65536, 400, ErrorCodes.Validation },
        { 22, 400, ErrorCodes.Validation },
    };

    [Theory]
    [MemberData(nameof(PortRefusals))]
    public async Task AskingForABadGuestPort_IsRefused_AndNothingIsStored(int port, int status, string code)
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        var machine = await buyer.RegisterAsync("Configuration1", 1000m, 100m);

        await Problem.AssertAsync(await buyer.PostAsync($"/api/v1/machines/{machine.Id:D}/ports", new PortRequest(port)), status, code);

        Assert.Empty((await buyer.MachineAsync(machine.Id)).ExtraPorts!);
    }

    [Fact]
    public async Task FiveExtraPorts_AreTheMost_AskingTwiceChangesNothing_AndOthersMachinesAreNotFound()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        var machine = await buyer.RegisterAsync("Configuration1", 1000m, 100m);
        foreach (var p in new[] { 9000, 80, 443, 8080, 8443, 80 })
            await Session.Ok<MachineResponse>(await buyer.PostAsync($"/api/v1/machines/{machine.Id:D}/ports", new PortRequest(p)));

        var refused = await Problem.AssertAsync(await buyer.PostAsync($"/api/v1/machines/{machine.Id:D}/ports", new PortRequest(9001)), 409, ErrorCodes.TooManyPorts);

        Assert.Contains("at most 5", Problem.Detail(refused), StringComparison.Ordinal);
        Assert.Equal([80, 443, 8080, 8443, 9000], (await buyer.MachineAsync(machine.Id)).ExtraPorts);
        await Problem.AssertAsync(await buyer.DeleteAsync($"/api/v1/machines/{machine.Id:D}/ports/9001"), 404, ErrorCodes.NotFound);
        var other = await market.SignupAsync(Roles.Buyer);
        await Problem.AssertAsync(await other.PostAsync($"/api/v1/machines/{machine.Id:D}/ports", new PortRequest(7000)), 404, ErrorCodes.NotFound);
        await Problem.AssertAsync(await other.DeleteAsync($"/api/v1/machines/{machine.Id:D}/ports/80"), 404, ErrorCodes.NotFound);
        Assert.Equal(5, (await buyer.MachineAsync(machine.Id)).ExtraPorts!.Count);
    }

    [Fact]
    public async Task AHost_DefaultsTo127001And40000To40999_AndEditsItsAddressAndRange()
    {
        var added = await market.AddHostAsync();
        Assert.Equal(("127.0.0.1", "40000-40999"), (added.PublicAddress, added.Ports));

        var edited = await Session.Ok<HostResponse>(await market.Provider.PatchAsync($"/api/v1/hosts/{added.Name}",
            new EditHostRequest(null, null, null, null, null, null, null, null, null, null, null, "vm.example.org", "50000-50099")));

        Assert.Equal(("vm.example.org", "50000-50099"), (edited.PublicAddress, edited.Ports));
    }

    public static TheoryData<string?, string?, string> HostRefusals() => new()
    {
        { null, "80-90", "between 1024 and 65535" },
        { null, "50000-40000", "FIRST ≤ LAST" },
        { null, "lots", "FIRST-LAST" },
        { "not an address", null, "IPv4 address or a DNS name" },
        { "300.1.2.3", null, "IPv4 address or a DNS name" },
    };

    [Theory]
    [MemberData(nameof(HostRefusals))]
    public async Task ABadAddressOrRange_IsRefusedOnAddAndEdit_AndChangesNothing(string? address, string? ports, string reason)
    {
        var name = MarketFixture.UniqueName("bad-ports");
        var add = await market.Provider.PostAsync("/api/v1/hosts", HostSpecs.Virt13(name, market.Spare) with { PublicAddress = address, Ports = ports });
        Assert.Contains(reason, Problem.Detail(await Problem.AssertAsync(add, 400, ErrorCodes.Validation)), StringComparison.Ordinal);
        await Problem.AssertAsync(await market.Provider.GetAsync($"/api/v1/hosts/{name}"), 404, ErrorCodes.NotFound);

        var host = await HostAsync("46000-46009");
        var before = Snapshot.Of(await market.Provider.HostAsync(host));
        var edit = await market.Provider.PatchAsync($"/api/v1/hosts/{host}",
            new EditHostRequest(null, null, null, null, null, null, null, null, null, null, null, address, ports));
        Assert.Contains(reason, Problem.Detail(await Problem.AssertAsync(edit, 400, ErrorCodes.Validation)), StringComparison.Ordinal);
        Assert.Equal(before, Snapshot.Of(await market.Provider.HostAsync(host)));
    }

    private async Task<string> HostAsync(string ports) =>
        (await market.AddHostAsync((name, agent) => HostSpecs.Virt13(name, agent) with
        {
            Speed = 1_000_000, Memory = 1_000_000, Storage = 1_000_000, PublicAddress = Address, Ports = ports,
        })).Name;

    private static async Task<Guid> StoredAsync(Session buyer, string host)
    {
        var machine = await buyer.RegisterAsync("Configuration1", 1000m, 100m);
        await buyer.StoreAsync(machine.Id, host);
        return machine.Id;
    }

    private Task<long> ForwardsOfAsync(Guid id) => market.CountAsync("SELECT COUNT(*) FROM port_forwards WHERE machine = @m", ("m", id.ToString("D")));

    private Task<long> ForwardsOnAsync(string host) => market.CountAsync("SELECT COUNT(*) FROM port_forwards WHERE host = @h", ("h", host));

    /// <summary>What a refused start must leave alone: the machine as shown, its intents, the buyer's events and balance, the host's forwards.</summary>
    private async Task<string> StateOfAsync(Session buyer, Guid id, string host) =>
        Snapshot.Of(await buyer.MachineAsync(id)) + $" balance={await buyer.BalanceAsync()}" +
        $" intents={await market.CountAsync("SELECT COUNT(*) FROM machine_intents WHERE machine = @m", ("m", id.ToString("D")))}" +
        $" events={await market.CountAsync("SELECT COUNT(*) FROM events WHERE account = @a", ("a", buyer.Username))}" +
        $" forwards={await ForwardsOnAsync(host)}";

    private static async Task WaitAsync(Func<Task<bool>> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!await done())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the condition did not hold within 15 s");
            await Task.Delay(100);
        }
    }
}
