using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Virtuoso.Agent.Security;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Agent.Tests.Security;

/// <summary>
/// Issue 20: <c>virtuoso-agent join</c> and <c>enroll</c> against a fake marketplace (the real one: HostJoinApiTests, and the
/// install script end to end in InstallJourneyTests): the key stays on the host, the files are written with their modes, and
/// an answer that is not a certificate for that key from the authority sent is refused without writing anything.
/// </summary>
public sealed class EnrollmentTests : IDisposable
{
    private readonly TestDirectory _dir = new();
    private readonly X509Certificate2 _authority = MarketCertificates.CreateAuthority("test market", DateTimeOffset.UtcNow);

    public void Dispose() => _dir.Dispose();

    private string SecretFile()
    {
        var file = Path.Combine(_dir.Path, "agent.secret");
        File.WriteAllText(file, "a-good-secret-0123456789\n");
        return file;
    }

    /// <summary>A marketplace that issues for whatever it is sent (or answers <paramref name="answer"/>), remembering the request.</summary>
    private sealed class Market(X509Certificate2 authority, Func<JsonElement, HttpResponseMessage>? answer = null) : HttpMessageHandler
    {
        public List<(string Path, JsonElement Body)> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var body = await request.Content!.ReadFromJsonAsync<JsonElement>(ct);
            Requests.Add((request.RequestUri!.AbsolutePath, body));
            if (answer is not null) return answer(body);
            var key = MarketCertificates.KeyOfRequest(body.GetProperty("csr").GetString()!, out _)!;
            var name = body.TryGetProperty("name", out var n) ? n.GetString()! : "joined-host";
            using var certificate = MarketCertificates.Issue(authority, key, MarketIdentity.Host(name), DateTimeOffset.UtcNow, TimeSpan.FromDays(365));
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(new JoinResponse(name, 7001, certificate.ExportCertificatePem(), authority.ExportCertificatePem(),
                new DateTimeOffset(certificate.NotAfter.ToUniversalTime()), "40000-40999")) };
        }
    }

    private static async Task<(int Exit, string Out, string Err)> RunAsync(HttpMessageHandler market, params string[] args)
    {
        using StringWriter stdout = new(), stderr = new();
        var exit = await Enrollment.RunAsync(args, stdout, stderr, market);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Join_WritesTheKeyPrivately_AndTheCertificateAndAuthority_AndPrintsNameAndPort()
    {
        var market = new Market(_authority);
        var (exit, stdout, stderr) = await RunAsync(market, "join", "--market", "http://market.example:5080/", "--token", "vj_abc", "--secret-file", SecretFile(), "--dir", _dir.Path);

        Assert.True(exit == 0, stderr);
        Assert.StartsWith("name=joined-host\nport=7001\nexpires=", stdout);
        Assert.EndsWith("\nports=40000-40999\n", stdout); // the install script reserves them from the kernel's outgoing connections
        // Plain HTTP to another machine: it works, and says that the secret crossed the network readable.
        Assert.StartsWith("virtuoso-agent join: warning: http://market.example:5080/ is plain HTTP, so this host's secret crosses the network readable", stderr);
        var (path, body) = Assert.Single(market.Requests);
        Assert.Equal("/api/v1/agents/join", path);
        Assert.Equal(("vj_abc", "a-good-secret-0123456789"), (body.GetProperty("token").GetString(), body.GetProperty("secret").GetString()));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir.Path, "agent.key")));
        Assert.DoesNotContain("PRIVATE KEY", body.GetRawText());
        // The agent's own loader accepts what was written, for the host named.
        using var certificate = X509Certificate2.CreateFromPemFile(Path.Combine(_dir.Path, "agent.crt"), Path.Combine(_dir.Path, "agent.key"));
        Assert.Equal(MarketIdentity.Host("joined-host"),
            MarketCertificates.Verify(certificate, X509CertificateLoader.LoadCertificateFromFile(Path.Combine(_dir.Path, "ca.crt")), DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task Enroll_SendsNameSecretAndRequest_ToTheCertificateEndpoint()
    {
        var market = new Market(_authority);
        var (exit, stdout, stderr) = await RunAsync(market, "enroll", "--market", "https://market.example", "--name", "alpha", "--secret-file", SecretFile(), "--dir", _dir.Path);

        Assert.True(exit == 0, stderr);
        Assert.Equal("", stderr);
        Assert.StartsWith("name=alpha\nport=7001\n", stdout);
        Assert.Equal("/api/v1/agents/certificate", market.Requests.Single().Path);
        Assert.Equal("alpha", market.Requests.Single().Body.GetProperty("name").GetString());
    }

    [Fact]
    public async Task ARefusal_IsOneLine_WithTheMarketsCode_AndWritesNothing()
    {
        var market = new Market(_authority, _ => new HttpResponseMessage(HttpStatusCode.Unauthorized)
        {
            Content = JsonContent.Create(new { code = ErrorCodes.InvalidJoinToken, detail = "this join token is unknown" }),
        });
        var (exit, _, stderr) = await RunAsync(market, "join", "--market", "http://127.0.0.1:5080", "--token", "vj_used", "--secret-file", SecretFile(), "--dir", _dir.Path);

        Assert.Equal(1, exit);
        Assert.Equal("virtuoso-agent join: the marketplace refused (HTTP 401 invalid-join-token): this join token is unknown\n", stderr);
        Assert.False(File.Exists(Path.Combine(_dir.Path, "agent.key")));
    }

    [Fact]
    public async Task ACertificateForAnotherKey_IsRefused_AndWritesNothing()
    {
        var market = new Market(_authority, body =>
        {
            using var other = MarketCertificates.IssueWithKey(_authority, MarketIdentity.Host("alpha"), DateTimeOffset.UtcNow, TimeSpan.FromDays(1));
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(new JoinResponse("alpha", 7001, other.ExportCertificatePem(), _authority.ExportCertificatePem())) };
        });
        var (exit, _, stderr) = await RunAsync(market, "enroll", "--market", "http://m", "--name", "alpha", "--secret-file", SecretFile(), "--dir", _dir.Path);

        Assert.Equal(1, exit);
        Assert.Contains("not for the key made here", stderr);
        Assert.False(File.Exists(Path.Combine(_dir.Path, "agent.crt")));
    }

    [Theory]
    [InlineData("join --market http://m --token vj_x --secret-file S", "--dir is required")]
    [InlineData("join --market ftp://m --token vj_x --secret-file S --dir D", "--market must be")]
    [InlineData("join --market http://m --token abc --secret-file S --dir D", "'abc' is not a join token")]
    [InlineData("enroll --market http://m --token vj_x --secret-file S --dir D", "unknown option '--token'")]
    [InlineData("enroll --market http://m --name", "--name needs a value")]
    public async Task BadUsage_IsOneLine_AndExit2(string args, string says)
    {
        var (exit, _, stderr) = await RunAsync(new Market(_authority), args.Replace(" S", " " + SecretFile()).Replace(" D", " " + _dir.Path).Split(' '));
        Assert.Equal(2, exit);
        Assert.Contains(says, stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }
}
