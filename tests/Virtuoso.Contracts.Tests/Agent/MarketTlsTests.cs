using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Contracts.Tests.Agent;

/// <summary>Issue 20: a client of the marketplace's TLS (VMMP, transfers) believes a host only for its name, and for its current serial when given.</summary>
public sealed class MarketTlsTests
{
    [Fact]
    public async Task AClientGivenTheHostsSerial_RefusesTheSameHostsOlderCertificate()
    {
        var now = DateTimeOffset.UtcNow;
        using var ca = MarketCertificates.CreateAuthority("test market", now.AddDays(-1));
        using var frontEnd = MarketCertificates.IssueWithKey(ca, MarketIdentity.FrontEnd, now.AddDays(-1), TimeSpan.FromDays(30));
        using var older = MarketCertificates.IssueWithKey(ca, MarketIdentity.Host("alpha"), now.AddDays(-1), TimeSpan.FromDays(30));
        using var current = MarketCertificates.IssueWithKey(ca, MarketIdentity.Host("alpha"), now.AddDays(-1), TimeSpan.FromDays(30));
        var host = MarketIdentity.Host("alpha");

        // The agent still shows its older certificate (it enrolled again since, or someone kept a copy).
        Assert.True(await HandshakeAsync(older, MarketTls.Client(frontEnd, ca, host))); // the name alone: accepted
        Assert.True(await HandshakeAsync(older, MarketTls.Client(frontEnd, ca, host, serial: MarketCertificates.SerialOf(older))));
        Assert.False(await HandshakeAsync(older, MarketTls.Client(frontEnd, ca, host, serial: MarketCertificates.SerialOf(current))));
        Assert.False(await HandshakeAsync(current, MarketTls.Client(frontEnd, ca, MarketIdentity.Host("beta"), serial: MarketCertificates.SerialOf(current))));

        async Task<bool> HandshakeAsync(System.Security.Cryptography.X509Certificates.X509Certificate2 served, SslClientAuthenticationOptions client)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var serverSide = Task.Run(async () =>
            {
                using var accepted = await listener.AcceptTcpClientAsync(timeout.Token);
                await using var ssl = new SslStream(accepted.GetStream());
                try { await ssl.AuthenticateAsServerAsync(MarketTls.Server(served, ca, id => id == MarketIdentity.FrontEnd), timeout.Token); }
                catch (Exception e) when (e is AuthenticationException or IOException) { }
            });
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port, timeout.Token);
            await using var stream = new SslStream(tcp.GetStream());
            try
            {
                await stream.AuthenticateAsClientAsync(client, timeout.Token);
                return true;
            }
            catch (AuthenticationException) { return false; }
            finally { tcp.Close(); await serverSide; }
        }
    }
}
