using Microsoft.Extensions.Logging.Abstractions;
using Virtuoso.Agent.Network;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Tests.Network;

/// <summary>The host side of the private networks against a recording fake of <c>ip</c>, <c>bridge</c> and <c>nft</c>.</summary>
public class HostNetworkTests
{
    private static readonly Guid A = Guid.Parse("0a1b2c3d-4e5f-4a5b-8c7d-0123456789ab");
    private static readonly Guid B = Guid.Parse("bbbbbbbb-0000-4000-8000-000000000001");
    private readonly FakeHostLinks _host = new();
    private readonly HostNetwork _network;

    public HostNetworkTests() => _network = new HostNetwork(_host, (_, _) => null, NullLogger<HostNetwork>.Instance);

    private static PrivateNetwork Net(string address, params string[] peers) => new(42, address, 24, peers);

    [Fact]
    public async Task Attach_MakesBridgeVxlanFloodListAndTap_ThenTheTables()
    {
        var tap = await _network.AttachAsync(A, "02:00:00:00:00:0a", Net("10.128.0.5", "192.0.2.2", "192.0.2.3"));

        Assert.Equal("vt-0a1b2c3d4e5f", tap);
        Assert.Equal([
            "ip link add name vbr-2a type bridge",
            "ip link set dev vbr-2a addrgenmode none",
            "ip link set dev vbr-2a mtu 1450 up",
            "ip link add name vx-2a type vxlan id 42 dstport 4789 learning",
            "ip link set dev vx-2a addrgenmode none",
            "ip link set dev vx-2a mtu 1450 master vbr-2a up",
            "bridge fdb append 00:00:00:00:00:00 dev vx-2a dst 192.0.2.2",
            "bridge fdb append 00:00:00:00:00:00 dev vx-2a dst 192.0.2.3",
            "ip tuntap add dev vt-0a1b2c3d4e5f mode tap",
            "ip link set dev vt-0a1b2c3d4e5f addrgenmode none",
            "ip link set dev vt-0a1b2c3d4e5f mtu 1450 master vbr-2a up",
            "nft -f -",
        ], _host.Changes);
        Assert.Contains("ether saddr != 02:00:00:00:00:0a drop", _host.Ruleset);
        Assert.Contains("ip saddr { 192.0.2.2, 192.0.2.3 } udp dport 4789 accept", _host.Ruleset);
        Assert.Equal(new AgentNic(42, "02:00:00:00:00:0a", "10.128.0.5", "vt-0a1b2c3d4e5f", "vbr-2a"), _network.Describe(A));
    }

    [Fact]
    public async Task SecondMachineOfTheNetwork_SharesTheBridge_AndTheLastOneRemovesIt()
    {
        await _network.AttachAsync(A, "02:00:00:00:00:0a", Net("10.128.0.5", "192.0.2.2"));
        await _network.AttachAsync(B, "02:00:00:00:00:0b", Net("10.128.0.6", "192.0.2.2"));
        Assert.Single(_host.Changes, c => c.StartsWith("ip link add name vbr-2a", StringComparison.Ordinal));

        await _network.DetachAsync(A);
        Assert.Contains("vbr-2a", _host.Links);
        Assert.DoesNotContain("vt-0a1b2c3d4e5f", _host.Links);
        Assert.DoesNotContain("vt-0a1b2c3d4e5f", _host.Ruleset);

        await _network.DetachAsync(B);
        Assert.Equal(new SortedSet<string> { "eth0", "lo" }, _host.Links);
        Assert.Equal("table bridge virtuoso {}\ndelete table bridge virtuoso\ntable inet virtuoso {}\ndelete table inet virtuoso\n", _host.Ruleset);
        Assert.Null(_network.Describe(B));
    }

    [Fact]
    public async Task SetPeers_MakesTheFloodListExactlyThePeers_AndKeepsUnlistedNetworks()
    {
        await _network.AttachAsync(A, "02:00:00:00:00:0a", Net("10.128.0.5", "192.0.2.2", "192.0.2.3"));
        await _network.AttachAsync(B, "02:00:00:00:00:0b", new PrivateNetwork(7, "10.9.0.5", 24, ["192.0.2.9"]));

        await _network.SetPeersAsync(new AgentNetworks([new NetworkPeers(42, ["192.0.2.3", "192.0.2.4"])], ["192.0.2.1", "192.0.2.3", "192.0.2.4"]));

        Assert.Equal(["192.0.2.3", "192.0.2.4"], _host.Fdb("vx-2a"));
        Assert.Equal(["192.0.2.9"], _host.Fdb("vx-7"));
        Assert.Contains("ip saddr { 192.0.2.1, 192.0.2.3, 192.0.2.4, 192.0.2.9 } udp dport 4789 accept", _host.Ruleset);
        var count = _host.Changes.Count;

        await _network.SetPeersAsync(new AgentNetworks([new NetworkPeers(42, ["192.0.2.3", "192.0.2.4"])], ["192.0.2.1", "192.0.2.3", "192.0.2.4"]));

        Assert.Equal(["nft -f -"], _host.Changes.Skip(count)); // a repeat changes no link
    }

    [Fact]
    public async Task SetPeers_WithoutLocalNetworks_RunsNothing()
    {
        await _network.SetPeersAsync(new AgentNetworks([new NetworkPeers(42, ["192.0.2.3"])], ["192.0.2.1"]));

        Assert.Empty(_host.Commands);
    }

    [Fact]
    public async Task Attach_ReplacesAStaleTap_AndFindsAnExistingBridge()
    {
        _host.AddLink("vt-0a1b2c3d4e5f");
        _host.AddLink("vbr-2a");
        _host.AddLink("vx-2a");

        await _network.AttachAsync(A, "02:00:00:00:00:0a", Net("10.128.0.5"));

        Assert.DoesNotContain(_host.Changes, c => c.StartsWith("ip link add", StringComparison.Ordinal));
        Assert.Contains("ip link del dev vt-0a1b2c3d4e5f", _host.Changes);
        Assert.Contains("ip tuntap add dev vt-0a1b2c3d4e5f mode tap", _host.Changes);
    }

    [Fact]
    public async Task Attach_ExistingTap_AfterARestart_IsKept()
    {
        _host.AddLink("vt-0a1b2c3d4e5f");

        await _network.AttachAsync(A, "02:00:00:00:00:0a", Net("10.128.0.5"), existingTap: true);

        Assert.DoesNotContain(_host.Changes, c => c.Contains("tuntap", StringComparison.Ordinal) || c.StartsWith("ip link del", StringComparison.Ordinal));
        Assert.Contains("ip link set dev vt-0a1b2c3d4e5f mtu 1450 master vbr-2a up", _host.Changes);
        Assert.Contains("vt-0a1b2c3d4e5f", _host.Ruleset);
    }

    [Fact]
    public async Task Attach_WithoutNetwork_IsATapOnNoBridge()
    {
        await _network.AttachAsync(A, "02:00:00:00:00:0a", null);

        Assert.Equal([
            "ip tuntap add dev vt-0a1b2c3d4e5f mode tap",
            "ip link set dev vt-0a1b2c3d4e5f addrgenmode none",
            "ip link set dev vt-0a1b2c3d4e5f mtu 1450 nomaster up",
            "nft -f -",
        ], _host.Changes);
        // An unplugged tap gets nothing through and nothing to the host either.
        Assert.Contains("iifname \"vt-*\" drop", _host.Ruleset);
        Assert.DoesNotContain("jump", _host.Ruleset);
        Assert.Null(_network.Describe(A));
        Assert.True(_network.Holds(A));
    }

    [Theory]
    [InlineData("ip link set dev vt-")]
    [InlineData("nft")]
    public async Task Attach_WhenACommandFails_LeavesNothing_AndSaysWhat(string failing)
    {
        _host.FailOn = failing;

        var e = await Assert.ThrowsAsync<NetworkException>(() => _network.AttachAsync(A, "02:00:00:00:00:0a", Net("10.128.0.5")));

        Assert.Contains("Operation not permitted", e.Message);
        Assert.StartsWith(failing, e.Message);
        Assert.Equal(new SortedSet<string> { "eth0", "lo" }, _host.Links);
        Assert.False(_network.Holds(A));
    }
}
