using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Virtuoso.FrontEnd.Agents;
using Virtuoso.FrontEnd.Hosts;

namespace Virtuoso.FrontEnd.Tests.Agents;

/// <summary>
/// Issue 20: a host name that resolves to an internal address is refused when the front-end connects, not only when the
/// address is typed (a name checked as text can point anywhere, and change later). "localhost" stands for such a name here:
/// resolving it reaches no one but this machine's resolver (/etc/hosts).
/// </summary>
public sealed class AgentConnectorTests
{
    private static AgentConnector Connector(bool allowPrivate, bool allowCleartext = true) =>
        new(Options.Create(new MarketOptions { AllowPrivateHostAddresses = allowPrivate, AllowCleartextAgents = allowCleartext }),
            new MarketTrust(null!, TimeProvider.System), Microsoft.Extensions.Logging.Abstractions.NullLogger<AgentConnector>.Instance);

    [Fact]
    public async Task ANameResolvingToLoopback_IsRefused_UnlessPrivateAddressesAreAllowed()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        var refused = await Assert.ThrowsAsync<SocketException>(() => Connector(allowPrivate: false).ConnectAsync("localhost", port, CancellationToken.None));
        Assert.Equal(SocketError.AccessDenied, refused.SocketErrorCode);
        Assert.Contains("resolves only to internal addresses (127.0.0.1", refused.Message);
        await Assert.ThrowsAsync<SocketException>(() => Connector(allowPrivate: false).ConnectAsync("127.0.0.1", port, CancellationToken.None));
        Assert.False(listener.Pending());

        using var socket = await Connector(allowPrivate: true).ConnectAsync("localhost", port, CancellationToken.None);
        Assert.True(socket.Connected);
    }

    [Fact]
    public async Task TheConnectionTest_CallsItUnreachable_AndSaysWhy()
    {
        using var http = new HttpClient(Connector(allowPrivate: false).NewHandler());
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync("http://localhost:9/v1/health"));
        Assert.Equal(ConnectionFault.Unreachable, ConnectionVerdict.FaultOf(e));
        Assert.Contains("internal addresses", e.InnerException?.Message ?? e.Message);
    }

    [Fact]
    public async Task AHostWithoutCertificate_IsNotCalledInCleartext_UnlessTheOperatorAllowsIt()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var host = new HostRow { Name = "plain", Address = "127.0.0.1", Port = port };

        using var http = new HttpClient(Connector(allowPrivate: true, allowCleartext: false).HandlerFor(host), disposeHandler: false);
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(AgentConnector.Url(host, "/v1/health")));
        Assert.Equal(ConnectionFault.CertificateRefused, ConnectionVerdict.FaultOf(e));
        Assert.Contains("virtuoso-agent enroll", e.InnerException?.Message ?? e.Message);
        Assert.False(listener.Pending()); // not even a connection was made
        Assert.Equal("http", AgentConnector.Url(host, "/").Scheme);
        Assert.Equal("wss", AgentConnector.Url(new HostRow { Name = "tls", Address = "127.0.0.1", Port = port, CertSerial = "01" }, "/", webSocket: true).Scheme);
    }
}
