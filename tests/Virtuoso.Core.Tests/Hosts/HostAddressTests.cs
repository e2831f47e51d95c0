using Virtuoso.Core.Hosts;

namespace Virtuoso.Core.Tests.Hosts;

public sealed class HostAddressTests
{
    [Theory]
    [InlineData("agent.example.com")]
    [InlineData("alpha")]
    [InlineData("host-1.provider.example.")]
    [InlineData("203.0.113.7")]
    [InlineData("8.8.8.8")]
    [InlineData("2001:db8::1")]
    [InlineData("[2001:db8::1]")]
    public void Public_names_and_addresses_are_accepted(string address) => Assert.Null(HostAddress.Check(address, allowPrivate: false));

    [Theory]
    [InlineData("a b")]
    [InlineData("")]
    [InlineData("-alpha")]
    [InlineData("alpha-")]
    [InlineData("al_pha")]
    [InlineData("http://alpha")]
    [InlineData("alpha:7000")]
    [InlineData("alpha/x")]
    [InlineData("1.2.3")]
    [InlineData("999.1.1.1")]
    [InlineData("0x7f.0.0.1")]
    [InlineData("1.2.0x3")]
    [InlineData("alpha.1")]
    [InlineData("al\u00e9pha")]
    public void Anything_else_is_refused_however_private_addresses_are_treated(string address)
    {
        Assert.NotNull(HostAddress.Check(address, allowPrivate: false));
        Assert.NotNull(HostAddress.Check(address, allowPrivate: true));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.9.9.9")]
    [InlineData("0.0.0.0")]
    [InlineData("10.213.77.2")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.1.1")]
    [InlineData("169.254.169.254")] // a cloud's metadata service
    [InlineData("100.64.0.1")]
    [InlineData("224.0.0.1")]
    [InlineData("::1")]
    [InlineData("[::1]")]
    [InlineData("::")]
    [InlineData("fe80::1")]
    [InlineData("fd00::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("localhost")]
    [InlineData("LOCALHOST.")]
    [InlineData("agent.localhost")]
    public void Internal_addresses_are_refused_unless_the_operator_allows_them(string address)
    {
        Assert.Contains("does not connect to", HostAddress.Check(address, allowPrivate: false));
        Assert.Null(HostAddress.Check(address, allowPrivate: true));
    }

    [Theory]
    [InlineData("172.15.0.1")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("11.0.0.1")]
    public void Neighbours_of_the_internal_ranges_are_public(string address) => Assert.Null(HostAddress.Check(address, allowPrivate: false));
}
