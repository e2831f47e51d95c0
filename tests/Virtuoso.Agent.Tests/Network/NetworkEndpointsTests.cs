using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Agent.Network;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Agent.Tests.Network;

/// <summary>Private networks through the control API (issue 16), with a fake VMM and a fake host network.</summary>
public sealed class NetworkEndpointsTests : IAsyncLifetime
{
    private readonly TestDirectory _dir = new();
    private readonly FakeVmm _vmm = new();
    private readonly FakeHostLinks _host = new();
    private AgentFactory _agent = null!;
    private HttpClient _client = null!;

    private static readonly PrivateNetwork Net = new(42, "10.128.0.5", 24, ["192.0.2.2"]);

    public Task InitializeAsync() => StartAgentAsync("on");

    private Task StartAgentAsync(string privateNetworks)
    {
        _agent = new AgentFactory(_dir.Sub("data"), _vmm, new Dictionary<string, string?> { ["private-networks"] = privateNetworks },
            services: s =>
            {
                s.AddSingleton<ICommandRunner>(_host);
                s.AddSingleton<OpenDhcp>((_, _) => null);
            });
        _client = _agent.CreateAuthenticatedClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _dir.Dispose();
    }

    private async Task<Guid> CreateAsync()
    {
        var id = Guid.Parse("0a1b2c3d-4e5f-4a5b-8c7d-" + Guid.NewGuid().ToString("N")[..12]);
        await _client.CreateAsync(AgentApi.Blank(id, mac: "02:00:00:00:00:0a"));
        return id;
    }

    private JsonElement Record(Guid id) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(_agent.DataDirectory, "machines", id.ToString("D"), "machine.json"))).RootElement;

    [Fact]
    public async Task Start_WithNetwork_GivesAPrivateNicOnItsTap_AndReportsIt()
    {
        var id = await CreateAsync();
        var tap = NetworkNames.Tap(id);

        var machine = await _client.CommandAsync(id, "start", new MachineCommand(1, 2, Network: Net));

        Assert.Equal(new AgentNic(42, "02:00:00:00:00:0a", "10.128.0.5", tap, "vbr-2a"), machine.Nic);
        Assert.Equal(tap, Assert.Single(_vmm.Launches).PrivateTap);
        Assert.Contains(tap, _host.Links);
        Assert.True(Record(id).GetProperty("privateNic").GetBoolean());
        Assert.Equal(machine.Nic, (await _client.GetMachineAsync(id)).Nic);
    }

    [Fact]
    public async Task SuspendResume_KeepsTheNic_AResumeWithoutNetworkLeavesItUnplugged()
    {
        var id = await CreateAsync();
        var tap = NetworkNames.Tap(id);
        await _client.CommandAsync(id, "start", new MachineCommand(1, 2, Network: Net));

        var suspended = await _client.CommandAsync(id, "suspend", new MachineCommand(2, 3));
        Assert.NotNull(suspended.Nic); // suspended with one
        Assert.DoesNotContain(tap, _host.Links); // QEMU ended: its tap goes

        var resumed = await _client.CommandAsync(id, "resume", new MachineCommand(3, 4));
        Assert.Equal(tap, _vmm.Launches.Last().PrivateTap);
        Assert.Contains($"ip link set dev {tap} mtu 1450 nomaster up", _host.Changes);
        Assert.Null(resumed.Nic);

        await _client.CommandAsync(id, "suspend", new MachineCommand(4, 5));
        var rejoined = await _client.CommandAsync(id, "resume", new MachineCommand(5, 6, Network: Net with { Peers = ["192.0.2.7"] }));
        Assert.Equal("vbr-2a", rejoined.Nic?.Bridge);
        Assert.Equal(["192.0.2.7"], _host.Fdb("vx-2a"));
    }

    [Fact]
    public async Task ResumeOfAMachineStartedWithoutNic_HasNone_EvenWithANetwork()
    {
        var id = await CreateAsync();
        await _client.CommandAsync(id, "start", new MachineCommand(1, 2));
        await _client.CommandAsync(id, "suspend", new MachineCommand(2, 3));

        var resumed = await _client.CommandAsync(id, "resume", new MachineCommand(3, 4, Network: Net));

        Assert.All(_vmm.Launches, l => Assert.Null(l.PrivateTap));
        Assert.Null(resumed.Nic);
        Assert.Empty(_host.Commands);
    }

    [Fact]
    public async Task Stop_RemovesTheNic_AndTheNextStartWithoutNetworkHasNone()
    {
        var id = await CreateAsync();
        await _client.CommandAsync(id, "start", new MachineCommand(1, 2, Network: Net));

        var stopped = await _client.CommandAsync(id, "stop", new MachineCommand(2, 3));
        Assert.Null(stopped.Nic);
        Assert.Equal(new SortedSet<string> { "eth0", "lo" }, _host.Links); // tap, bridge and VXLAN gone
        Assert.False(Record(id).GetProperty("privateNic").GetBoolean());

        await _client.CommandAsync(id, "start", new MachineCommand(3, 4));
        Assert.Null(_vmm.Launches.Last().PrivateTap);
    }

    [Fact]
    public async Task QemuThatEndsOnItsOwn_LosesItsTapWithinTheSweep()
    {
        var id = await CreateAsync();
        await _client.CommandAsync(id, "start", new MachineCommand(1, 2, Network: Net));

        _vmm.Crash(id);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (_host.Links.Contains(NetworkNames.Tap(id)) && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.DoesNotContain(NetworkNames.Tap(id), _host.Links);
        Assert.DoesNotContain("vbr-2a", _host.Links);
    }

    [Fact]
    public async Task Start_WhenANetworkCommandFails_IsAgentFailed_AndLeavesNothing()
    {
        var id = await CreateAsync();
        _host.FailOn = "ip tuntap";

        var response = await _client.PostAsJsonAsync(AgentRoutes.Command(id, "start"), new MachineCommand(1, 2, Network: Net));

        var problem = await AgentApi.AssertProblemAsync(response, HttpStatusCode.BadGateway, ErrorCodes.AgentFailed);
        Assert.Contains("ip tuntap add dev", problem);
        Assert.Empty(_vmm.Launches);
        Assert.Equal(new SortedSet<string> { "eth0", "lo" }, _host.Links);
        Assert.Equal(AgentStates.Stopped, (await _client.GetMachineAsync(id)).State);
    }

    [Fact]
    public async Task Start_WhenQemuFails_RemovesTheTap()
    {
        var id = await CreateAsync();
        _vmm.FailNext = "start";

        var response = await _client.PostAsJsonAsync(AgentRoutes.Command(id, "start"), new MachineCommand(1, 2, Network: Net));

        await AgentApi.AssertProblemAsync(response, HttpStatusCode.BadGateway, ErrorCodes.AgentFailed);
        Assert.Equal(new SortedSet<string> { "eth0", "lo" }, _host.Links);
    }

    [Fact]
    public async Task Start_WithABadNetwork_IsAValidationError()
    {
        var id = await CreateAsync();

        var response = await _client.PostAsJsonAsync(AgentRoutes.Command(id, "start"), new MachineCommand(1, 2, Network: Net with { Peers = ["beta.example"] }));

        await AgentApi.AssertProblemAsync(response, HttpStatusCode.BadRequest, ErrorCodes.Validation);
        Assert.Empty(_host.Commands);
    }

    [Fact]
    public async Task PutNetworks_SetsThePeers_Is204_AndRefusesBadOnes()
    {
        var id = await CreateAsync();
        await _client.CommandAsync(id, "start", new MachineCommand(1, 2, Network: Net));

        var ok = await _client.PutAsJsonAsync(AgentRoutes.Networks, new AgentNetworks([new NetworkPeers(42, ["192.0.2.3", "192.0.2.4"])], ["192.0.2.3", "192.0.2.4"]));
        var bad = await _client.PutAsJsonAsync(AgentRoutes.Networks, new AgentNetworks([new NetworkPeers(0, ["192.0.2.3"])], ["beta"]));
        var anonymous = await _agent.CreateClient().PutAsJsonAsync(AgentRoutes.Networks, new AgentNetworks([], []));

        Assert.Equal(HttpStatusCode.NoContent, ok.StatusCode);
        Assert.Equal(["192.0.2.3", "192.0.2.4"], _host.Fdb("vx-2a"));
        await AgentApi.AssertProblemAsync(bad, HttpStatusCode.BadRequest, ErrorCodes.Validation);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task PrivateNetworksOff_IgnoresTheCommandsNetwork()
    {
        await _agent.DisposeAsync();
        await StartAgentAsync("off");
        var id = await CreateAsync();

        var machine = await _client.CommandAsync(id, "start", new MachineCommand(1, 2, Network: Net));
        var put = await _client.PutAsJsonAsync(AgentRoutes.Networks, new AgentNetworks([new NetworkPeers(42, ["192.0.2.3"])], []));

        Assert.Null(machine.Nic);
        Assert.Null(Assert.Single(_vmm.Launches).PrivateTap);
        Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);
        Assert.Empty(_host.Commands);
    }

    [Fact]
    public async Task Restart_ReopensTheNicOfARunningMachine_WithoutTouchingItsTap()
    {
        var id = await CreateAsync();
        await _client.CommandAsync(id, "start", new MachineCommand(1, 2, Network: Net));
        await _agent.DisposeAsync();
        var before = _host.Changes.Count;

        await StartAgentAsync("on");
        var machine = await _client.GetMachineAsync(id); // the agent has recovered before it serves

        Assert.Equal("vbr-2a", machine.Nic?.Bridge);
        var after = _host.Changes.Skip(before).ToList();
        Assert.DoesNotContain(after, c => c.Contains("tuntap", StringComparison.Ordinal) || c.StartsWith("ip link del", StringComparison.Ordinal));
        Assert.Equal("nft -f -", after.Last());
    }

    [Fact]
    public async Task Export_OfASuspendedMachine_SaysWhetherItHasAPrivateNic()
    {
        var with = await CreateAsync();
        var without = await CreateAsync();
        foreach (var (id, network) in new[] { (with, Net), (without, (PrivateNetwork?)null) })
        {
            await _client.CommandAsync(id, "start", new MachineCommand(1, 2, Network: network));
            await _client.CommandAsync(id, "suspend", new MachineCommand(2, 3));
        }

        var a = await AgentApi.ReadAsync<ExportManifest>(await _client.PutAsJsonAsync(MigrationRoutes.Export(with), new ExportRequest(3, new string('t', 32))));
        var b = await AgentApi.ReadAsync<ExportManifest>(await _client.PutAsJsonAsync(MigrationRoutes.Export(without), new ExportRequest(3, new string('u', 32))));

        Assert.True(a.PrivateNic);
        Assert.False(b.PrivateNic);
    }
}
