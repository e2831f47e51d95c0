using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Agent.Migration.Incoming;
using Virtuoso.Agent.Network;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.Agent.Tests.Migration;

/// <summary>
/// Issue 20 point 1, the links between agents and the VMMP links: two agents with certificates of one test authority
/// ("alpha" the origin, "beta" the destination), a fake VMM, the test acting as the front-end (its certificate, the host
/// secret) and as the front-end's VMMP listener over TLS. The transfer routes open only to the export's destination host's
/// certificate with the token; the destination fetches only from the host the front-end named; the VMMP server talks only
/// to the front-end; a whole migration by each method goes over TLS.
/// </summary>
public sealed class MigrationTlsTests : IAsyncLifetime
{
    private const string Alpha = "alpha", Beta = "beta", Gamma = "gamma";
    private readonly TestDirectory _dir = new();
    private readonly TestMarket _market;
    private readonly FakeVmm _alphaVmm = new();
    private readonly FakeVmm _betaVmm = new();
    private AgentFactory _alpha = null!;
    private AgentFactory _beta = null!;
    private HttpClient _a = null!;
    private HttpClient _b = null!;

    public MigrationTlsTests() => _market = new TestMarket(_dir.Sub("certificates"));

    public Task InitializeAsync()
    {
        _alpha = KestrelAgent.Start(_dir.Sub("a"), _alphaVmm, _market.AgentSettings(Alpha), FakeNetwork);
        _beta = KestrelAgent.Start(_dir.Sub("b"), _betaVmm, _market.AgentSettings(Beta, new() { ["heartbeat-interval"] = "0.2", ["vmmp-first-line-timeout"] = "1" }), FakeNetwork);
        _a = _market.Control(_alpha, Alpha);
        _b = _market.Control(_beta, Beta);
        return Task.CompletedTask;
    }

    private static void FakeNetwork(IServiceCollection s)
    {
        s.AddSingleton<ICommandRunner>(new FakeHostLinks());
        s.AddSingleton<OpenDhcp>((_, _) => null);
    }

    public async Task DisposeAsync()
    {
        await _alpha.DisposeAsync();
        await _beta.DisposeAsync();
        _dir.Dispose();
    }

    /// <summary>A suspended machine on alpha at version 2, exported to <paramref name="destination"/> with a fresh token.</summary>
    private async Task<(Guid Id, string Token)> ExportAsync(string destination = Beta)
    {
        var id = Guid.NewGuid();
        await _a.CreateAsync(AgentApi.Blank(id, version: 1));
        await _a.CommandAsync(id, "start", 1, 1);
        await _a.CommandAsync(id, "suspend", 1, 2);
        var token = MigrationCalls.NewToken();
        await AgentApi.ReadAsync<ExportManifest>(await _a.PutAsJsonAsync(MigrationRoutes.Export(id), new ExportRequest(2, token, destination)));
        return (id, token);
    }

    // ---- the origin's transfer routes ----

    [Fact]
    public async Task Transfer_WithTheDestinationsCertificateAndTheToken_ServesTheManifest()
    {
        var (id, token) = await ExportAsync();
        using var beta = _market.Client(_alpha, Alpha, _market.Issue(MarketIdentity.Host(Beta)), token);

        var manifest = await AgentApi.ReadAsync<ExportManifest>(await beta.GetAsync(TransferRoutes.Manifest(id)));

        Assert.Equal(id, manifest.Id);
    }

    [Fact]
    public async Task Transfer_WithoutAClientCertificate_Is401EvenWithTheToken()
    {
        var (id, token) = await ExportAsync();
        using var anonymous = _market.Client(_alpha, Alpha, own: null, token);

        await AgentApi.AssertProblemAsync(await anonymous.GetAsync(TransferRoutes.Manifest(id)), HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
        await AgentApi.AssertProblemAsync(await anonymous.GetAsync(TransferRoutes.File(id, "disk.qcow2")), HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
    }

    [Fact]
    public async Task Transfer_WithAnotherAuthoritysCertificate_IsRefusedInTheHandshake()
    {
        var (id, token) = await ExportAsync();
        var otherMarket = new TestMarket(_dir.Sub("other-market"));
        // The other authority's certificate names the very host the export is for.
        using var stranger = _market.Client(_alpha, Alpha, otherMarket.Issue(MarketIdentity.Host(Beta)), token);

        await Assert.ThrowsAsync<HttpRequestException>(() => stranger.GetAsync(TransferRoutes.Manifest(id)));
    }

    [Fact]
    public async Task Transfer_WithTheCertificateOfAHostOtherThanTheDestination_Is401EvenWithTheToken()
    {
        var (id, token) = await ExportAsync();
        foreach (var other in new[] { MarketIdentity.Host(Gamma), MarketIdentity.Host(Alpha), MarketIdentity.FrontEnd })
        {
            using var client = _market.Client(_alpha, Alpha, _market.Issue(other), token);
            await AgentApi.AssertProblemAsync(await client.GetAsync(TransferRoutes.Manifest(id)), HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
            await AgentApi.AssertProblemAsync(await client.PostAsync(Virtuoso.Agent.Migration.Methods.Rsync.RsyncMethod.SessionPath(id), null),
                HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
        }
    }

    [Fact]
    public async Task Transfer_WithTheDestinationsCertificateButAnotherToken_Is401()
    {
        var (id, _) = await ExportAsync();
        using var beta = _market.Client(_alpha, Alpha, _market.Issue(MarketIdentity.Host(Beta)), MigrationCalls.NewToken());

        await AgentApi.AssertProblemAsync(await beta.GetAsync(TransferRoutes.Manifest(id)), HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
    }

    [Fact]
    public async Task Export_WithoutItsDestination_IsRefusedByAnOriginWithTls()
    {
        var id = Guid.NewGuid();
        await _a.CreateAsync(AgentApi.Blank(id, version: 1));

        await AgentApi.AssertProblemAsync(await _a.PutAsJsonAsync(MigrationRoutes.Export(id), new ExportRequest(1, MigrationCalls.NewToken())),
            HttpStatusCode.BadRequest, ErrorCodes.Validation);
    }

    // ---- the destination's side ----

    [Fact]
    public async Task Announce_ACleartextOrigin_IsRefusedByADestinationWithTls()
    {
        var (id, token) = await ExportAsync();
        var cleartext = Incoming(id, token) with { Origin = _alpha.BaseAddress().Replace("https://", "http://", StringComparison.Ordinal) };

        await AgentApi.AssertProblemAsync(await _b.PutAsJsonAsync(MigrationRoutes.Incoming(id), cleartext), HttpStatusCode.BadRequest, ErrorCodes.Validation);
    }

    [Fact]
    public async Task OriginClient_AnOriginShowingAnotherHostsCertificate_IsRefused()
    {
        var (id, token) = await ExportAsync();
        var beta = new AgentTls(_market.Issue(MarketIdentity.Host(Beta)), _market.Authority);
        using var expectingGamma = OriginClient.For(beta, Gamma, TimeProvider.System);
        using var expectingAlpha = OriginClient.For(beta, Alpha, TimeProvider.System);
        var manifest = new Uri(new Uri(_alpha.BaseAddress()), TransferRoutes.Manifest(id));

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => Get(expectingGamma, manifest, token));
        Assert.Contains("SSL", refused.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, (await Get(expectingAlpha, manifest, token)).StatusCode); // the same origin, when it is the one named
    }

    private static Task<HttpResponseMessage> Get(HttpClient client, Uri uri, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Authorization = new("Bearer", token);
        return client.SendAsync(request);
    }

    [Theory]
    [InlineData(VmmpMethods.Scp)]
    [InlineData(VmmpMethods.Dedup)]
    [InlineData(VmmpMethods.Rsync)]
    public async Task Migration_BetweenAgentsWithTls_CopiesOverTlsAndReportsToTheFrontEndOverTls(string method)
    {
        var (id, token) = await ExportAsync();
        await AgentApi.ReadAsync<MigrationProgress>(await _b.PutAsJsonAsync(MigrationRoutes.Incoming(id), Incoming(id, token, method)));
        using var central = new FakeCentral(_market);

        Assert.Null(await _market.VmmpAsync(await _market.VmmpPortAsync(_beta, Beta), Beta, _market.FrontEnd, Req(id, central.Port, method)));
        var received = await central.ReceiveUntilRespAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(new VmmpResp(id, 3, true), received[^1]);
        Assert.Equal(MarketIdentity.Host(Beta), central.Peer);
        foreach (var file in new[] { "disk.qcow2", "state.bin" })
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(_alpha.DataDirectory, "machines", id.ToString("D"), file)),
                await File.ReadAllBytesAsync(Path.Combine(_beta.DataDirectory, "incoming", id.ToString("D"), file)));
    }

    [Fact]
    public async Task Capture_OfMigrationsByEachMethod_HoldsNeitherTheDisksBlocksNorTheTokensNorTheSecret()
    {
        Assert.True(PacketCapture.Available, "tcpdump is needed (./test installs it)");
        // The links that cross the network: alpha's HTTPS port (transfers, RSYNC's tunnel), beta's HTTPS and VMMP ports
        // (the front-end's calls), the front-end's VMMP listener. (RSYNC's legs to the daemon and to rsync stay on loopback.)
        using var central = new FakeCentral(_market);
        var ports = new[] { new Uri(_alpha.BaseAddress()).Port, new Uri(_beta.BaseAddress()).Port, await _market.VmmpPortAsync(_beta, Beta), central.Port };
        var marker = System.Security.Cryptography.RandomNumberGenerator.GetBytes(64 * 1024);
        List<string> tokens = [];
        using var capture = await PacketCapture.StartAsync(_dir.Path, "lo", ports);
        // The control: a block sent in the clear to one of these ports is seen, so the capture would see a leak.
        var control = System.Security.Cryptography.RandomNumberGenerator.GetBytes(4096);
        using (var cleartext = new TcpClient())
        {
            await cleartext.ConnectAsync(IPAddress.Loopback, ports[0]);
            await cleartext.GetStream().WriteAsync(control);
        }
        long moved = 0;
        foreach (var method in new[] { VmmpMethods.Scp, VmmpMethods.Dedup, VmmpMethods.Rsync })
        {
            var id = Guid.NewGuid();
            await _a.CreateAsync(AgentApi.Blank(id, version: 1));
            await _a.CommandAsync(id, "start", 1, 1);
            await _a.CommandAsync(id, "suspend", 1, 2);
            var disk = Path.Combine(_alpha.DataDirectory, "machines", id.ToString("D"), "disk.qcow2");
            await File.WriteAllBytesAsync(disk, [.. await File.ReadAllBytesAsync(disk), .. marker]); // the guest's data, recognisable
            var token = MigrationCalls.NewToken();
            tokens.Add(token);
            await AgentApi.ReadAsync<ExportManifest>(await _a.PutAsJsonAsync(MigrationRoutes.Export(id), new ExportRequest(2, token, Beta)));
            await AgentApi.ReadAsync<MigrationProgress>(await _b.PutAsJsonAsync(MigrationRoutes.Incoming(id), Incoming(id, token, method)));
            Assert.Null(await _market.VmmpAsync(ports[2], Beta, _market.FrontEnd, Req(id, central.Port, method)));
            Assert.Equal(new VmmpResp(id, 3, true), (await central.ReceiveUntilRespAsync(TimeSpan.FromSeconds(60)))[^1]);
            var arrived = await File.ReadAllBytesAsync(Path.Combine(_beta.DataDirectory, "incoming", id.ToString("D"), "disk.qcow2"));
            Assert.True(arrived.AsSpan().IndexOf(marker) >= 0, $"{method}: the marker block arrived");
            moved += arrived.Length;
        }

        var captured = await capture.StopAsync();

        Assert.True(captured.Length > moved, $"the capture holds the copies' traffic ({captured.Length} bytes for {moved} moved)");
        Assert.True(PacketCapture.ContainsPieceOf(captured, control), "the capture sees what is sent in the clear");
        Assert.False(PacketCapture.ContainsPieceOf(captured, marker), "a piece of the disk's marker block crossed in the clear");
        foreach (var token in tokens)
            Assert.False(PacketCapture.Contains(captured, token), "a migration token crossed in the clear");
        Assert.False(PacketCapture.Contains(captured, AgentFactory.Secret), "the host secret crossed in the clear");
    }

    [Fact]
    public async Task Migration_FromAnOriginThatIsNotTheHostNamed_FailsAndKeepsNothing()
    {
        // The front-end names gamma as the origin; what answers at the address is alpha, with alpha's certificate.
        var (id, token) = await ExportAsync();
        await AgentApi.ReadAsync<MigrationProgress>(await _b.PutAsJsonAsync(MigrationRoutes.Incoming(id), Incoming(id, token) with { OriginHost = Gamma }));
        using var central = new FakeCentral(_market);

        Assert.Null(await _market.VmmpAsync(await _market.VmmpPortAsync(_beta, Beta), Beta, _market.FrontEnd, Req(id, central.Port)));
        var received = await central.ReceiveUntilRespAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(new VmmpResp(id, 2, false), received[^1]);
        var progress = await _b.GetFromJsonAsync<MigrationProgress>(MigrationRoutes.Incoming(id));
        Assert.Equal(MigrationPhases.Failed, progress!.Phase);
        Assert.False(Directory.Exists(Path.Combine(_beta.DataDirectory, "incoming", id.ToString("D"))));
    }

    // ---- the agent's VMMP server ----

    [Fact]
    public async Task Vmmp_TheFrontEndsCertificate_GetsResults()
    {
        var port = await _market.VmmpPortAsync(_beta, Beta);
        var id = Guid.NewGuid();

        var answer = await _market.VmmpAsync(port, Beta, _market.FrontEnd, new VmmpQuery(id));

        Assert.IsType<VmmpResults>(VmmpWire.Parse(answer!).Message);
    }

    [Fact]
    public async Task Vmmp_AClientThatIsNotTheFrontEnd_IsRefused()
    {
        var port = await _market.VmmpPortAsync(_beta, Beta);
        var query = new VmmpQuery(Guid.NewGuid());
        var otherMarket = new TestMarket(_dir.Sub("other-market"));

        // A host of the marketplace (even with the host secret), the front-end of another marketplace, no certificate.
        Assert.Null(await _market.VmmpAsync(port, Beta, _market.Issue(MarketIdentity.Host(Alpha)), query));
        Assert.Null(await _market.VmmpAsync(port, Beta, otherMarket.FrontEnd, query));
        Assert.Null(await _market.VmmpAsync(port, Beta, own: null, query));
        // Cleartext, as before issue 20: no answer.
        Assert.Null(await VmmpPeer.AskAsync(port, query));
    }

    [Fact]
    public async Task Vmmp_AHandshakeThatNeverComes_IsClosedAtTheFirstLineTimeout()
    {
        var port = await _market.VmmpPortAsync(_beta, Beta);
        using var idle = new TcpClient();
        await idle.ConnectAsync(IPAddress.Loopback, port);
        var watch = Stopwatch.StartNew();

        var read = await idle.GetStream().ReadAsync(new byte[16]).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0, read);
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(5)); // --vmmp-first-line-timeout 1
    }

    private IncomingMigration Incoming(Guid id, string token, string method = VmmpMethods.Scp) =>
        new(2, method, _alpha.BaseAddress(), Alpha, token, "52:54:00:12:34:56", 1000, 128, 100, null);

    private VmmpReq Req(Guid id, int centralPort, string method = VmmpMethods.Scp)
    {
        var uri = new Uri(_alpha.BaseAddress());
        return new VmmpReq(id, 2, IPAddress.Parse(uri.Host), uri.Port, IPAddress.Loopback, centralPort, method);
    }
}
