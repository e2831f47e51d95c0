using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Network;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Agent.Tests.Network;

public class NetworkValidationTests
{
    private static readonly PrivateNetwork Good = new(42, "10.128.0.5", 24, ["192.0.2.1"]);

    [Fact]
    public void Command_WithAGoodNetwork_Passes()
    {
        Assert.Null(MachineValidation.Command(new MachineCommand(0, 1, Network: Good)).Error);
        Assert.Null(MachineValidation.Command(new MachineCommand(0, 1, Network: Good with { Vni = 16_777_215, PrefixLength = 16, Peers = [] })).Error);
    }

    public static TheoryData<PrivateNetwork, string> Bad => new()
    {
        { Good with { Vni = 0 }, "network.vni must be 1..16777215, not 0" },
        { Good with { Vni = 16_777_216 }, "network.vni" },
        { Good with { PrefixLength = 15 }, "network.prefixLength must be 16..29, not 15" },
        { Good with { PrefixLength = 30 }, "network.prefixLength" },
        { Good with { Address = "fd00::5" }, "network.address 'fd00::5' is not an IPv4 address" },
        { Good with { Address = "10.128.5" }, "network.address" },
        { Good with { Peers = ["alpha.example"] }, "network.peers: 'alpha.example' is not an IPv4 address" },
        { Good with { Peers = ["192.0.2.1; rm -rf /"] }, "network.peers" },
        { Good with { Peers = ["010.0.0.1"] }, "network.peers" },
        { Good with { Peers = ["0.0.0.0"] }, "network.peers" },
        { Good with { Peers = ["239.1.1.1"] }, "network.peers" },
        { Good with { Peers = null! }, "network.peers is required" },
    };

    [Theory]
    [MemberData(nameof(Bad))]
    public void Command_WithABadNetwork_IsAValidationError(PrivateNetwork network, string problem)
    {
        var error = MachineValidation.Command(new MachineCommand(0, 1, Network: network)).Error;

        Assert.Equal(ErrorCodes.Validation, error?.Code);
        Assert.Contains(problem, error!.Message);
    }

    [Fact]
    public void AgentNetworks_AreCheckedWhole()
    {
        Assert.Empty(NetworkValidation.Check(new AgentNetworks([new NetworkPeers(42, ["192.0.2.1"])], ["192.0.2.1", "192.0.2.2"])));
        Assert.Equal(["an AgentNetworks body with networks and hosts is required"], NetworkValidation.Check(new AgentNetworks([], null!)));
        Assert.Equal([
            "hosts: 'beta' is not an IPv4 address",
            "network 42 is listed twice",
            "networks[].vni must be 1..16777215, not -1",
            "network -1 peers: '::1' is not an IPv4 address",
        ], NetworkValidation.Check(new AgentNetworks(
            [new NetworkPeers(42, []), new NetworkPeers(42, []), new NetworkPeers(-1, ["::1"])], ["beta"])));
    }
}
