using System.Net;
using System.Net.Sockets;
using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Tests.Support;

namespace Virtuoso.Agent.Tests.Machines;

/// <summary>The forwarded ports' check before QEMU runs (issue 14): busy as QEMU's user-mode network would find them.</summary>
public sealed class HostPortsTests : IDisposable
{
    private readonly TestDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void APortAnotherProgramListensOn_IsBusy_EvenWithAddressAndPortReuse_AFreeOneIsNot()
    {
        // .NET's ReuseAddress sets SO_REUSEADDR and SO_REUSEPORT, as nginx's reuseport does: QEMU (SO_REUSEADDR alone)
        // cannot bind beside it, so neither may the check.
        using var other = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        other.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        other.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        other.Listen(1);
        var held = ((IPEndPoint)other.LocalEndPoint!).Port;
        using var plain = new TcpListener(IPAddress.Loopback, 0);
        plain.Start();
        var alsoHeld = ((IPEndPoint)plain.LocalEndpoint).Port;
        var free = TestPorts.Free();

        Assert.Equal(new[] { held, alsoHeld }.Order(), HostPorts.Busy(IPAddress.Loopback, [free, alsoHeld, held, held]));
        Assert.Empty(HostPorts.Busy(IPAddress.Loopback, [free]));
    }

    [Fact]
    public void AnAddressThisHostDoesNotHave_Throws_ForTheCallerToSay()
    {
        // 192.0.2.1 (TEST-NET-1) is on no interface here: binding it fails at once, nothing is sent.
        var e = Assert.Throws<SocketException>(() => HostPorts.Busy(IPAddress.Parse("192.0.2.1"), [TestPorts.Free()]));
        Assert.Equal(SocketError.AddressNotAvailable, e.SocketErrorCode);
    }

    [Fact]
    public void Why_NamesThePorts_AndTheReservationOnlyWhenAPortIsInTheKernelsRange()
    {
        var range = Path.Combine(_dir.Path, "ip_local_port_range");
        File.WriteAllText(range, "32768\t60999\n");

        var inRange = HostPorts.Why([40000, 40001], IPAddress.Loopback, range);
        Assert.StartsWith("host ports 40000, 40001 on 127.0.0.1 are held by another program (`ss -tanp 'sport = :40000'` names it); this host's kernel lends ports 32768-60999", inRange);
        Assert.Contains("net.ipv4.ip_local_reserved_ports = FIRST-LAST", inRange);

        Assert.Equal("host port 20000 on 127.0.0.1 is held by another program (`ss -tanp 'sport = :20000'` names it)", HostPorts.Why([20000], IPAddress.Loopback, range));
        Assert.DoesNotContain("lends", HostPorts.Why([40000], IPAddress.Loopback, Path.Combine(_dir.Path, "missing")));
    }
}
