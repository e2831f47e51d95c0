using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Virtuoso.Agent.Security;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Agent.Tests.Security;

/// <summary>
/// Issue 20: an agent with <c>--renew-from</c> renews its certificate once a third of its lifetime is left, from the
/// marketplace's certificate endpoint, and serves the new one on every link without a restart; an answer from another
/// authority, or a refusal, leaves the files and the served certificate as they were.
/// </summary>
public sealed class CertificateRenewalTests : IAsyncLifetime
{
    private readonly TestDirectory _dir = new();
    private readonly X509Certificate2 _authority = MarketCertificates.CreateAuthority("test market", DateTimeOffset.UtcNow.AddDays(-30));
    private readonly List<JsonElement> _requests = [];
    private X509Certificate2 _answerAuthority = null!;
    private int _status = 200;
    private WebApplication _market = null!;

    public async Task InitializeAsync()
    {
        _answerAuthority = _authority;
        // A marketplace's certificate endpoint, over real HTTP on loopback: issues for the name sent, with its authority.
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _market = builder.Build();
        _market.MapPost("/api/v1/agents/certificate", async (HttpContext context) =>
        {
            var body = await JsonSerializer.DeserializeAsync<JsonElement>(context.Request.Body);
            lock (_requests) _requests.Add(body);
            if (_status != 200)
                return Results.Problem(statusCode: _status, extensions: new Dictionary<string, object?> { ["code"] = ErrorCodes.InvalidHostSecret });
            var key = MarketCertificates.KeyOfRequest(body.GetProperty("csr").GetString()!, out _)!;
            using var certificate = MarketCertificates.Issue(_answerAuthority, key, MarketIdentity.Host(body.GetProperty("name").GetString()!), DateTimeOffset.UtcNow, TimeSpan.FromDays(365));
            return Results.Json(new JoinResponse(body.GetProperty("name").GetString()!, 7001, certificate.ExportCertificatePem(), _answerAuthority.ExportCertificatePem(),
                new DateTimeOffset(certificate.NotAfter.ToUniversalTime())));
        });
        await _market.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _market.DisposeAsync();
        _dir.Dispose();
    }

    private string MarketUrl => _market.Urls.Single();

    /// <summary>An agent named <c>test-host</c> whose certificate was issued <paramref name="age"/> ago for 3 days.</summary>
    private (AgentFactory Agent, string CertificateFile, string FirstSerial) StartAgent(TimeSpan age, string? renewFrom)
    {
        using var first = MarketCertificates.IssueWithKey(_authority, MarketIdentity.Host("test-host"), DateTimeOffset.UtcNow - age, TimeSpan.FromDays(3));
        var tls = _dir.Sub("tls");
        var (cert, key, ca) = (Path.Combine(tls, "agent.crt"), Path.Combine(tls, "agent.key"), Path.Combine(tls, "ca.crt"));
        File.WriteAllText(cert, first.ExportCertificatePem());
        File.WriteAllText(key, first.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(ca, _authority.ExportCertificatePem());
        var settings = new Dictionary<string, string?> { ["urls"] = "https://127.0.0.1:0", ["tls-cert"] = cert, ["tls-key"] = key, ["tls-ca"] = ca };
        if (renewFrom is not null)
            settings["renew-from"] = renewFrom;
        var agent = new AgentFactory(_dir.Sub("data"), new FakeVmm(), settings);
        agent.UseKestrel();
        agent.StartServer();
        return (agent, cert, MarketCertificates.SerialOf(first));
    }

    /// <summary>The serial of the certificate a TLS port serves.</summary>
    private async Task<string> ServedSerialAsync(int port)
    {
        using var frontEnd = X509CertificateLoader.LoadPkcs12(
            MarketCertificates.IssueWithKey(_authority, MarketIdentity.FrontEnd, DateTimeOffset.UtcNow, TimeSpan.FromDays(1)).Export(X509ContentType.Pkcs12), null);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, port);
        await using var ssl = new SslStream(tcp.GetStream());
        await ssl.AuthenticateAsClientAsync(MarketTls.Client(frontEnd, _authority, MarketIdentity.Host("test-host")));
        return MarketCertificates.SerialOf(X509CertificateLoader.LoadCertificate(ssl.RemoteCertificate!.GetRawCertData()));
    }

    private async Task<(int Https, int Vmmp)> PortsAsync(AgentFactory agent)
    {
        var https = new Uri(agent.BaseAddress()).Port;
        using var frontEnd = X509CertificateLoader.LoadPkcs12(
            MarketCertificates.IssueWithKey(_authority, MarketIdentity.FrontEnd, DateTimeOffset.UtcNow, TimeSpan.FromDays(1)).Export(X509ContentType.Pkcs12), null);
        var handler = new System.Net.Http.SocketsHttpHandler { SslOptions = MarketTls.Client(frontEnd, _authority, MarketIdentity.Host("test-host")) };
        using var client = new HttpClient(handler) { BaseAddress = new Uri(agent.BaseAddress() + "/") };
        client.DefaultRequestHeaders.Authorization = new("Bearer", AgentFactory.Secret);
        var health = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<AgentHealth>(client, AgentRoutes.Health);
        return (https, health!.VmmpPort!.Value);
    }

    [Fact]
    public async Task ACertificateWithLessThanAThirdLeft_IsRenewed_AndServedOnEveryLink_WithoutARestart()
    {
        var (agent, certificateFile, firstSerial) = StartAgent(TimeSpan.FromDays(2.5), MarketUrl);
        await using var _ = agent;
        var (https, vmmp) = await PortsAsync(agent);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        string? renewed = null;
        while (DateTime.UtcNow < deadline)
        {
            var onDisk = X509CertificateLoader.LoadCertificateFromFile(certificateFile);
            if (MarketCertificates.SerialOf(onDisk) != firstSerial && await ServedSerialAsync(https) == MarketCertificates.SerialOf(onDisk))
            {
                renewed = MarketCertificates.SerialOf(onDisk);
                break;
            }
            await Task.Delay(200);
        }
        Assert.NotNull(renewed);
        var request = Assert.Single(_requests);
        Assert.Equal(("test-host", AgentFactory.Secret), (request.GetProperty("name").GetString(), request.GetProperty("secret").GetString()));
        Assert.Equal(renewed, await ServedSerialAsync(vmmp)); // VMMP shows the new one too
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Path.GetDirectoryName(certificateFile)!, "agent.key")));
        using var renewedCertificate = X509CertificateLoader.LoadCertificateFromFile(certificateFile);
        Assert.True(renewedCertificate.NotAfter > DateTime.UtcNow.AddDays(300));
    }

    [Theory]
    [InlineData("another-authority")]
    [InlineData("refused")]
    public async Task AnotherAuthoritysAnswer_OrARefusal_ChangesNothing(string market)
    {
        if (market == "another-authority")
            _answerAuthority = MarketCertificates.CreateAuthority("test market", DateTimeOffset.UtcNow);
        else
            _status = 401;
        var (agent, certificateFile, firstSerial) = StartAgent(TimeSpan.FromDays(2.5), MarketUrl);
        await using var _ = agent;
        var (https, _) = await PortsAsync(agent);
        var caFile = Path.Combine(Path.GetDirectoryName(certificateFile)!, "ca.crt");
        var ca = File.ReadAllText(caFile);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (_requests.Count == 0 && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        await Task.Delay(1500); // past the agent's once-a-second look at the files

        Assert.Single(_requests);
        Assert.Equal(firstSerial, MarketCertificates.SerialOf(X509CertificateLoader.LoadCertificateFromFile(certificateFile)));
        Assert.Equal(ca, File.ReadAllText(caFile));
        Assert.Equal(firstSerial, await ServedSerialAsync(https));
    }

    [Fact]
    public async Task AFreshCertificate_IsNotRenewed()
    {
        var (agent, _, firstSerial) = StartAgent(TimeSpan.FromDays(1), MarketUrl);
        await using var _ = agent;
        var (https, _) = await PortsAsync(agent);
        await Task.Delay(1500);
        Assert.Empty(_requests);
        Assert.Equal(firstSerial, await ServedSerialAsync(https));
    }

    [Theory]
    [InlineData(0, 365, 0, false)]
    [InlineData(0, 365, 243, false)]
    [InlineData(0, 365, 244, true)]
    [InlineData(0, 3, 2.5, true)]
    [InlineData(0, 365, 400, true)]
    public void IsDue_WhenLessThanAThirdOfTheLifetimeIsLeft(double from, double to, double at, bool due)
    {
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(due, CertificateRenewal.IsDue(start.AddDays(from), start.AddDays(to), start.AddDays(at)));
    }
}
