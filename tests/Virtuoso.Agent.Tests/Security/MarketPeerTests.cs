using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Agent.Tests.Security;

/// <summary>
/// Issue 20: an agent with a certificate serves HTTPS only and answers control calls only to the marketplace front-end's
/// client certificate together with the host secret. No certificate, another marketplace's, or a host's (another agent's) is
/// refused with 401 before anything changes; the health check still tells anyone that the agent is alive, and nothing more.
/// </summary>
public sealed class MarketPeerTests : IAsyncLifetime
{
    private static readonly Guid Id = Guid.Parse("5f1d2c1e-4f2a-4c55-9d1e-0123456789ab");
    private readonly TestDirectory _dir = new();
    private readonly FakeVmm _vmm = new();
    private readonly X509Certificate2 _authority = MarketCertificates.CreateAuthority("test market", DateTimeOffset.UtcNow);
    private const string MetricsToken = "scraper-token-0123456789abcdef";
    private AgentFactory _agent = null!;
    private Uri _base = null!;
    private X509Certificate2 _hostCertificate = null!;

    public async Task InitializeAsync()
    {
        _hostCertificate = MarketCertificates.IssueWithKey(_authority, MarketIdentity.Host("test-host"), DateTimeOffset.UtcNow, TimeSpan.FromDays(30));
        var tls = _dir.Sub("tls");
        File.WriteAllText(Path.Combine(tls, "agent.crt"), _hostCertificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(tls, "agent.key"), _hostCertificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(tls, "ca.crt"), _authority.ExportCertificatePem());
        File.WriteAllText(Path.Combine(tls, "metrics.token"), MetricsToken + "\n");
        _agent = new AgentFactory(_dir.Sub("data"), _vmm, new Dictionary<string, string?>
        {
            ["urls"] = "https://127.0.0.1:0",
            ["tls-cert"] = Path.Combine(tls, "agent.crt"),
            ["tls-key"] = Path.Combine(tls, "agent.key"),
            ["tls-ca"] = Path.Combine(tls, "ca.crt"),
            ["metrics-token-file"] = Path.Combine(tls, "metrics.token"),
        });
        _agent.UseKestrel();
        _agent.StartServer();
        _base = new Uri(_agent.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        using var frontEnd = Client(FrontEnd(), secret: true);
        (await frontEnd.PutAsJsonAsync(AgentRoutes.Machine(Id), AgentApi.Blank(Id, version: 3))).EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _dir.Dispose();
    }

    private X509Certificate2 FrontEnd(X509Certificate2? authority = null) =>
        Usable(MarketCertificates.IssueWithKey(authority ?? _authority, MarketIdentity.FrontEnd, DateTimeOffset.UtcNow, TimeSpan.FromDays(1)));

    private static X509Certificate2 Usable(X509Certificate2 certificate) =>
        X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);

    /// <summary>A client that shows <paramref name="certificate"/> (if any) and accepts only this host's certificate from the authority.</summary>
    private HttpClient Client(X509Certificate2? certificate, bool secret)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = certificate is null ? null : [certificate],
                RemoteCertificateValidationCallback = (_, shown, _, _) => shown is X509Certificate2 c &&
                    MarketCertificates.Verify(c, _authority, DateTimeOffset.UtcNow) == MarketIdentity.Host("test-host"),
            },
        };
        var client = new HttpClient(handler) { BaseAddress = _base };
        if (secret)
            client.DefaultRequestHeaders.Authorization = new("Bearer", AgentFactory.Secret);
        return client;
    }

    public static TheoryData<string, string> Refused() => new()
    {
        { "none", "needs the marketplace front-end's client certificate" },
        { "other-authority", "needs the marketplace front-end's client certificate" },
        { "host", "the client certificate shown is host peer's" },
        { "own-host", "the client certificate shown is host test-host's" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task ControlCalls_WithoutTheFrontEndsCertificate_AreRefused_EvenWithTheSecret(string shown, string says)
    {
        var certificate = shown switch
        {
            "none" => null,
            "other-authority" => FrontEnd(MarketCertificates.CreateAuthority("test market", DateTimeOffset.UtcNow)),
            "host" => Usable(MarketCertificates.IssueWithKey(_authority, MarketIdentity.Host("peer"), DateTimeOffset.UtcNow, TimeSpan.FromDays(1))),
            _ => Usable(_hostCertificate),
        };
        using var client = Client(certificate, secret: true);
        var vmmCalls = _vmm.Calls.Count;

        foreach (var (method, path) in new[] { ("GET", AgentRoutes.Machines), ("POST", AgentRoutes.Command(Id, "start")), ("DELETE", AgentRoutes.Machine(Id)), ("GET", "/v1/no-such-route") })
        {
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "POST" ? JsonContent.Create(new { }) : null });
            }
            catch (HttpRequestException) when (shown == "other-authority")
            {
                continue; // refusing another marketplace's certificate at the handshake is as good as a 401
            }
            Assert.Contains(says, await AgentApi.AssertProblemAsync(response, HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated));
        }
        Assert.Equal(vmmCalls, _vmm.Calls.Count);
        Assert.Equal(AgentStates.Stopped, (await Client(FrontEnd(), secret: true).GetFromJsonAsync<AgentMachine>(AgentRoutes.Machine(Id), JsonSerializerOptions.Web))!.State);

        // Health: liveness and protocol only, even with the secret.
        if (shown == "other-authority") return;
        var health = await client.GetFromJsonAsync<JsonElement>(AgentRoutes.Health);
        Assert.Equal(["protocol", "status"], health.EnumerateObject().Select(p => p.Name).Order());
    }

    [Fact]
    public async Task TheFrontEndsCertificate_WithoutTheSecret_IsRefused_AndWithIt_Answers()
    {
        await AgentApi.AssertProblemAsync(await Client(FrontEnd(), secret: false).GetAsync(AgentRoutes.Machines), HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
        var health = await Client(FrontEnd(), secret: false).GetFromJsonAsync<JsonElement>(AgentRoutes.Health);
        Assert.False(health.TryGetProperty("host", out _));

        using var frontEnd = Client(FrontEnd(), secret: true);
        var machines = await frontEnd.GetFromJsonAsync<List<AgentMachine>>(AgentRoutes.Machines, JsonSerializerOptions.Web);
        Assert.Equal([Id], machines!.Select(m => m.Id));
        var full = await frontEnd.GetFromJsonAsync<AgentHealth>(AgentRoutes.Health, JsonSerializerOptions.Web);
        Assert.Equal("test-host", full!.Host);
    }

    [Fact]
    public async Task Cleartext_IsNotServed()
    {
        using var plain = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_base.Port}") };
        plain.DefaultRequestHeaders.Authorization = new("Bearer", AgentFactory.Secret);
        await Assert.ThrowsAsync<HttpRequestException>(() => plain.GetAsync(AgentRoutes.Health));
    }

    /// <summary>
    /// Prometheus' way: no client certificate, the authority as its only root, the name checked the standard way (the host's
    /// name, given as Prometheus' server_name, in the certificate's subject alternative names), and the metrics token. It
    /// gets /metrics and nothing else.
    /// </summary>
    [Fact]
    public async Task AScraperWithTheMetricsToken_ReadsMetrics_AndNothingElse()
    {
        // As Prometheus with server_name: the name checked is the host's, the connection goes to the agent's address.
        HttpClient Scraper(string name) => new(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                await socket.ConnectAsync(System.Net.IPAddress.Loopback, _base.Port, ct);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                CertificateChainPolicy = new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    CustomTrustStore = { X509CertificateLoader.LoadCertificate(_authority.RawData) },
                    RevocationMode = X509RevocationMode.NoCheck,
                },
            },
        }) { BaseAddress = new Uri($"https://{name}:{_base.Port}") };
        using var scraper = Scraper("test-host");
        scraper.DefaultRequestHeaders.Authorization = new("Bearer", MetricsToken);

        var metrics = await scraper.GetAsync(Virtuoso.Agent.Telemetry.TelemetrySetup.Path);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("virtuoso_agent_", await metrics.Content.ReadAsStringAsync());

        var vmmCalls = _vmm.Calls.Count;
        foreach (var (method, path) in new[] { ("GET", AgentRoutes.Machines), ("POST", AgentRoutes.Command(Id, "start")), ("GET", "/metrics/x") })
            await AgentApi.AssertProblemAsync(await scraper.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "POST" ? JsonContent.Create(new { }) : null }),
                HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
        Assert.Equal(vmmCalls, _vmm.Calls.Count);

        // The standard name check is real: told another host's name, the scraper refuses this agent.
        using (var wrongName = Scraper("other-host"))
            await Assert.ThrowsAsync<HttpRequestException>(() => wrongName.GetAsync(Virtuoso.Agent.Telemetry.TelemetrySetup.Path));

        scraper.DefaultRequestHeaders.Authorization = new("Bearer", MetricsToken + "x");
        await AgentApi.AssertProblemAsync(await scraper.GetAsync(Virtuoso.Agent.Telemetry.TelemetrySetup.Path), HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
    }
}
