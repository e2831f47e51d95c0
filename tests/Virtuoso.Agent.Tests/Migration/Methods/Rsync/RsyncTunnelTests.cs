using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Virtuoso.Agent.Migration.Methods.Rsync;
using Virtuoso.Agent.Tests.Support;

namespace Virtuoso.Agent.Tests.Migration.Methods.Rsync;

/// <summary>
/// Issue 20 point 1: rsync's traffic goes through the tunnel on the transfer routes; the origin's daemon listens on
/// loopback only, so nothing but the agent itself can reach it. (Over HTTPS with certificates: MigrationTlsTests.)
/// </summary>
public sealed class RsyncTunnelTests : IDisposable
{
    private readonly TestDirectory _dir = new();
    private readonly RsyncDaemons _daemons;
    private readonly RsyncMethod _method;
    private readonly string _source;

    public RsyncTunnelTests()
    {
        _daemons = new RsyncDaemons(Path.Combine(_dir.Path, "origin-data", "rsync"), "rsync", TimeSpan.FromMinutes(5), _ => true,
            TimeProvider.System, NullLogger<RsyncDaemons>.Instance);
        _method = new RsyncMethod(_daemons, NullLogger<RsyncMethod>.Instance);
        _source = _dir.Sub("machine");
    }

    public void Dispose()
    {
        _daemons.Dispose();
        _dir.Dispose();
    }

    /// <summary>An IPv4 address of this host that is not loopback (the address other hosts would reach the origin on).</summary>
    private static IPAddress? OutsideAddress() => NetworkInterface.GetAllNetworkInterfaces()
        .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
        .SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(a => a.Address)
        .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));

    [Fact]
    public async Task Fetch_FromAnOriginOnAnOutsideAddress_CopiesThroughTheTunnel_AndTheDaemonListensOnLoopbackOnly()
    {
        var outside = OutsideAddress();
        Assert.True(outside is not null, "this test needs a non-loopback IPv4 address on the host");
        TestFiles.Random(Path.Combine(_source, "disk.qcow2"), 64L * TestFiles.Block + 5, seed: 21);
        await using var origin = await TransferHarness.StartAsync(_method, _source, bindAddress: outside!.ToString());
        var staging = _dir.Sub("staging");

        await _method.FetchAsync(origin.Fetch(staging), CancellationToken.None);

        origin.AssertIdentical(staging);
        Assert.True(origin.MethodRequests >= 2, $"the session and at least one tunnel: {origin.MethodRequests} method requests");
        var port = _daemons.PortOf(origin.MachineId, _source);
        Assert.NotNull(port);
        // Listening on 127.0.0.1 only: the kernel's table says so, and the outside address refuses the connection.
        Assert.Contains(ListeningAddresses(port!.Value), a => a.Equals(IPAddress.Loopback));
        Assert.DoesNotContain(ListeningAddresses(port.Value), a => !IPAddress.IsLoopback(a));
        using var fromOutside = new TcpClient();
        var refused = await Assert.ThrowsAsync<SocketException>(() => fromOutside.ConnectAsync(outside, port.Value));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    [Fact]
    public async Task Tunnel_WithoutASession_Is409_AndWithoutTheToken_Is401()
    {
        TestFiles.Random(Path.Combine(_source, "disk.qcow2"), 4L * TestFiles.Block, seed: 22);
        await using var origin = await TransferHarness.StartAsync(_method, _source);
        var tunnel = new Uri(origin.Origin, RsyncTunnel.Path(origin.MachineId));

        using var noToken = new HttpRequestMessage(HttpMethod.Get, tunnel);
        Assert.Equal(HttpStatusCode.Unauthorized, (await origin.Http.SendAsync(noToken)).StatusCode);
        using var noSession = new System.Net.WebSockets.ClientWebSocket();
        noSession.Options.SetRequestHeader("Authorization", $"Bearer {TransferHarness.Token}");
        noSession.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() =>
            noSession.ConnectAsync(new UriBuilder(tunnel) { Scheme = "ws" }.Uri, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Conflict, noSession.HttpStatusCode);
    }

    /// <summary>The local addresses of sockets listening on TCP <paramref name="port"/> (/proc/net/tcp, IPv4).</summary>
    private static List<IPAddress> ListeningAddresses(int port)
    {
        var found = new List<IPAddress>();
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var local = fields[1].Split(':');
            if (fields[3] == "0A" && Convert.ToInt32(local[1], 16) == port)
                found.Add(new IPAddress(BitConverter.GetBytes(Convert.ToUInt32(local[0], 16)))); // little-endian hex of the address
        }
        return found;
    }
}
