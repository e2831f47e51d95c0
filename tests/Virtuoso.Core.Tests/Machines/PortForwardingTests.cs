using Virtuoso.Core.Machines;

namespace Virtuoso.Core.Tests.Machines;

public sealed class PortForwardingTests
{
    [Theory]
    [InlineData("40000-40999", 40000, 40999)]
    [InlineData(" 1024-65535 ", 1024, 65535)]
    [InlineData("40000-40000", 40000, 40000)]
    [InlineData("50000", 50000, 50000)]
    public void Range_Parses(string text, int first, int last)
    {
        var (range, error) = PortRange.Parse(text);
        Assert.Null(error);
        Assert.Equal(new PortRange(first, last), range);
    }

    [Theory]
    [InlineData("", "FIRST-LAST")]
    [InlineData("40000-", "FIRST-LAST")]
    [InlineData("-40000", "FIRST-LAST")]
    [InlineData("a-b", "FIRST-LAST")]
    [InlineData("1-2-3", "FIRST-LAST")]
    [InlineData("+4000-5000", "FIRST-LAST")]
    [InlineData("4000000-5000000", "FIRST-LAST")]
    [InlineData("80-8080", "between 1024 and 65535")]
    [InlineData("60000-70000", "between 1024 and 65535")]
    [InlineData("41000-40000", "FIRST ≤ LAST")]
    public void BadRange_IsRefusedWithReason(string text, string reason)
    {
        var (range, error) = PortRange.Parse(text);
        Assert.Null(range);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Allocate_TakesTheLowestFreePorts_SshFirst()
    {
        var (forwards, refusal) = PortForwarding.Allocate(new PortRange(40000, 40010), new HashSet<int> { 40000, 40002 },
            PortForwarding.GuestPorts([8080, 443]));

        Assert.Null(refusal);
        Assert.Equal([new Forward(40001, 22), new Forward(40003, 443), new Forward(40004, 8080)], forwards);
    }

    [Fact]
    public void Allocate_IgnoresTakenPortsOutsideTheRange()
    {
        var (forwards, refusal) = PortForwarding.Allocate(new PortRange(40000, 40000), new HashSet<int> { 39999, 41000 }, [22]);

        Assert.Null(refusal);
        Assert.Equal([new Forward(40000, 22)], forwards);
    }

    [Fact]
    public void Allocate_AnExhaustedRange_GivesNothing()
    {
        var range = new PortRange(40000, 40002);

        var (forwards, refusal) = PortForwarding.Allocate(range, new HashSet<int> { 40001 }, [22, 80, 443]);

        Assert.Equal(ForwardRefusal.Exhausted, refusal);
        Assert.Empty(forwards); // all or none
        Assert.Equal(2, PortForwarding.Free(range, new HashSet<int> { 40001, 50000 }));
    }

    [Fact]
    public void GuestPorts_AreSshThenTheAskedOnesInOrder_EachOnce() =>
        Assert.Equal([22, 80, 443, 8080], PortForwarding.GuestPorts([8080, 22, 443, 80, 443]));

    [Theory]
    [InlineData(0, "between 1 and 65535")]
    [InlineData(65536, "between 1 and 65535")]
    [InlineData(22, "always forwarded")]
    public void GuestPort_OutOfRangeOrSsh_IsRefused(int port, string reason) =>
        Assert.Contains(reason, PortForwarding.CheckGuestPort(port), StringComparison.Ordinal);

    [Fact]
    public void Add_BeyondFiveExtra_IsTooMany_ButAddingOneAlreadyAskedIsNot()
    {
        int[] five = [80, 443, 8080, 8443, 9000];

        Assert.Equal((true, "a machine may have at most 5 forwarded ports besides SSH (80, 443, 8080, 8443, 9000); remove one first"),
            PortForwarding.CheckAdd(five, 9001));
        Assert.Equal((false, null), PortForwarding.CheckAdd(five, 443));
        Assert.Equal((false, null), PortForwarding.CheckAdd([80], 9001));
        Assert.False(PortForwarding.CheckAdd([], 22).TooMany);
        Assert.NotNull(PortForwarding.CheckAdd([], 22).Error);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("203.0.113.7")]
    [InlineData("localhost")]
    [InlineData("vm-host-1.example.org")]
    public void PublicAddress_Ipv4OrDnsName_IsAccepted(string address) => Assert.Null(PortForwarding.CheckPublicAddress(address));

    [Theory]
    [InlineData("")]
    [InlineData("300.1.1.1")]
    [InlineData("1.2.3")]
    [InlineData("::1")]
    [InlineData("-bad.example.org")]
    [InlineData("a..b")]
    [InlineData("host name")]
    [InlineData("host;rm -rf")]
    public void PublicAddress_Otherwise_IsRefused(string address) =>
        Assert.Contains("IPv4 address or a DNS name", PortForwarding.CheckPublicAddress(address), StringComparison.Ordinal);
}
