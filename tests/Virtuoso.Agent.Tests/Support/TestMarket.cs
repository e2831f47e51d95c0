using System.Net.Http.Json;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.Agent.Tests.Support;

/// <summary>
/// Issue 20: a marketplace's authority for tests, the certificates it issues (made with <see cref="MarketCertificates"/>
/// directly), agents started with them (<c>--tls-cert/--tls-key/--tls-ca</c>, HTTPS on a loopback port), and the clients
/// that talk to such agents as the front-end or as a peer host would.
/// </summary>
internal sealed class TestMarket(string directory)
{
    public X509Certificate2 Authority { get; } = MarketCertificates.CreateAuthority("Test marketplace", DateTimeOffset.UtcNow);

    public X509Certificate2 Issue(MarketIdentity identity) =>
        MarketCertificates.IssueWithKey(Authority, identity, DateTimeOffset.UtcNow, TimeSpan.FromDays(1));

    public X509Certificate2 FrontEnd => _frontEnd ??= Issue(MarketIdentity.FrontEnd);
    private X509Certificate2? _frontEnd;

    /// <summary>The settings that start an agent named <paramref name="host"/> with its certificate, on https://127.0.0.1:0.</summary>
    public Dictionary<string, string?> AgentSettings(string host, Dictionary<string, string?>? more = null)
    {
        var certificate = Issue(MarketIdentity.Host(host));
        var dir = Path.Combine(directory, "tls-" + host);
        Directory.CreateDirectory(dir);
        var (cert, key, ca) = (Path.Combine(dir, "host.crt"), Path.Combine(dir, "host.key"), Path.Combine(dir, "ca.crt"));
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        File.WriteAllText(key, certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(ca, Authority.ExportCertificatePem());
        var settings = new Dictionary<string, string?>(more ?? [])
        {
            ["name"] = host, ["tls-cert"] = cert, ["tls-key"] = key, ["tls-ca"] = ca, ["urls"] = "https://127.0.0.1:0",
        };
        return settings;
    }

    /// <summary>An HTTPS client to agent <paramref name="host"/> showing <paramref name="own"/> (none: null), trusting only that host's certificate.</summary>
    public HttpClient Client(AgentFactory agent, string host, X509Certificate2? own, string? bearer = null)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions = own is null
            ? new SslClientAuthenticationOptions
            {
                TargetHost = host,
                RemoteCertificateValidationCallback = (_, c, _, _) => MarketTls.IdentityOf(c, Authority) == MarketIdentity.Host(host),
            }
            : MarketTls.Client(own, Authority, MarketIdentity.Host(host));
        var client = new HttpClient(handler) { BaseAddress = new Uri(agent.BaseAddress() + "/"), Timeout = TimeSpan.FromSeconds(60) };
        if (bearer is not null)
            client.DefaultRequestHeaders.Authorization = new("Bearer", bearer);
        return client;
    }

    /// <summary>The front-end's control client: its certificate and the host secret.</summary>
    public HttpClient Control(AgentFactory agent, string host) => Client(agent, host, FrontEnd, AgentFactory.Secret);

    public async Task<int> VmmpPortAsync(AgentFactory agent, string host) =>
        (await Control(agent, host).GetFromJsonAsync<AgentHealth>(AgentRoutes.Health))!.VmmpPort!.Value;

    /// <summary>
    /// A VMMP exchange over TLS with agent <paramref name="host"/>, showing <paramref name="own"/>: the one line answered,
    /// or null when the agent closed the connection (after the handshake, or by refusing it).
    /// </summary>
    public async Task<string?> VmmpAsync(int port, string host, X509Certificate2? own, VmmpMessage message, string key = AgentFactory.Secret)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, port);
        await using var ssl = new SslStream(client.GetStream());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await ssl.AuthenticateAsClientAsync(own is null
                ? new SslClientAuthenticationOptions { TargetHost = host, RemoteCertificateValidationCallback = (_, _, _, _) => true }
                : MarketTls.Client(own, Authority, MarketIdentity.Host(host)), timeout.Token);
            await ssl.WriteAsync(VmmpAuth.Encode(key, message), timeout.Token);
            return await VmmpWire.ReadLineAsync(ssl, timeout.Token);
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
            return null; // refused in the handshake (TLS 1.3 reports a refused client certificate at the first read)
        }
    }

}
