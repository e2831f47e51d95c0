using Virtuoso.Core.Networks;

namespace Virtuoso.Core.Tests.Networks;

/// <summary>The rules of a private network's subnet and its addresses (issue 16).</summary>
public sealed class SubnetTests
{
    [Theory]
    [InlineData("10.128.0.0/24", 24, "10.128.0.2", "10.128.0.254", 253)]
    [InlineData("192.168.7.0/29", 29, "192.168.7.2", "192.168.7.6", 5)]
    [InlineData("172.16.0.0/16", 16, "172.16.0.2", "172.16.255.254", 65533)]
    [InlineData("10.0.3.0/24", 24, "10.0.3.2", "10.0.3.254", 253)]
    public void Parse_AcceptsPrivateCidrs_AndGivesTheirHostRange(string text, int prefix, string first, string last, long capacity)
    {
        var subnet = Subnet.Parse(text).Subnet!.Value;
        Assert.Equal((text, prefix, first, last, capacity),
            (subnet.ToString(), subnet.PrefixLength, Subnet.Format(subnet.FirstHost), Subnet.Format(subnet.LastHost), subnet.Capacity));
    }

    [Theory]
    [InlineData(null, "IPv4 CIDR")]
    [InlineData("10.128.0.0", "IPv4 CIDR")]
    [InlineData("10.128.0/24", "IPv4 CIDR")]
    [InlineData(" 10.1.0.0/24x", "IPv4 CIDR")]
    [InlineData("10.128.0.0/-1", "IPv4 CIDR")]
    [InlineData("010.128.0.0/240", "IPv4 CIDR")]
    [InlineData("10.128.0.4/24", "host bits set")]
    [InlineData("10.0.0.0/8", "prefix must be /16 to /29")]
    [InlineData("10.0.0.0/31", "prefix must be /16 to /29")]
    [InlineData("100.64.0.0/16", "inside a private range")]
    [InlineData("172.15.0.0/16", "inside a private range")]
    [InlineData("192.169.0.0/16", "inside a private range")]
    [InlineData("10.0.0.0/22", "overlaps 10.0.2.0/24")]
    [InlineData("10.0.2.8/29", "overlaps 10.0.2.0/24")]
    public void Parse_Refuses_SayingWhy(string? text, string why)
    {
        var (subnet, error) = Subnet.Parse(text);
        Assert.Null(subnet);
        Assert.Contains(why, error);
    }

    [Fact]
    public void LowestFree_SkipsTakenAndForeignAddresses_AndIsNullWhenFull()
    {
        var subnet = Subnet.Parse("10.9.0.0/29").Subnet!.Value;
        Assert.Equal("10.9.0.2", subnet.LowestFree([]));
        Assert.Equal("10.9.0.4", subnet.LowestFree(["10.9.0.2", "10.9.0.3", null, "10.8.0.4", "10.9.0.6"]));
        Assert.Null(subnet.LowestFree(["10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"]));
    }
}

/// <summary>Who carries which network, and with which peers (issue 16).</summary>
public sealed class NetworkPlanTests
{
    private static readonly Dictionary<string, string> Underlay = new() { ["a"] = "192.0.2.1", ["b"] = "192.0.2.2", ["c"] = "192.0.2.3", ["same-as-a"] = "192.0.2.1" };

    [Fact]
    public void Peers_AreTheOtherHostsOfTheNetwork_Distinct_WithoutTheHostsOwnAddress()
    {
        Membership[] m = [new(7, "a"), new(7, "b"), new(7, "b"), new(7, "same-as-a"), new(8, "c"), new(7, "unknown")];
        Assert.Equal(["192.0.2.2"], NetworkPlan.PeersOf(7, "a", m, Underlay));
        Assert.Equal(["192.0.2.1"], NetworkPlan.PeersOf(7, "b", m, Underlay));
        Assert.Empty(NetworkPlan.PeersOf(8, "c", m, Underlay));
        // A machine's host that holds none of the network yet (a start right after a store): all members are peers.
        Assert.Equal(["192.0.2.1", "192.0.2.2"], NetworkPlan.PeersOf(7, "c", m, Underlay));
    }

    [Fact]
    public void For_AHost_ListsEachNetworkStoredThere_OnceByVni_WithItsPeers()
    {
        Membership[] m = [new(9, "a"), new(7, "a"), new(7, "b"), new(8, "c")];
        var plan = NetworkPlan.For("a", m, Underlay);
        Assert.Equal([7, 9], plan.Networks.Select(n => n.Vni));
        Assert.Equal(["192.0.2.2"], plan.Networks[0].Peers);
        Assert.Empty(plan.Networks[1].Peers);
        Assert.Empty(NetworkPlan.For("nowhere", m, Underlay).Networks);
    }
}
