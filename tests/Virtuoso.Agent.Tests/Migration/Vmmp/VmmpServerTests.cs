using System.Net.Http.Json;
using System.Text;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.Agent.Tests.Migration.Vmmp;

/// <summary>The agent's VMMP listener, spoken to by a raw TCP peer that knows only the grammar of design §6.1.</summary>
public sealed class VmmpServerTests : IAsyncLifetime
{
    private readonly TestDirectory _dir = new();
    private AgentFactory _agent = null!;
    private HttpClient _client = null!;
    private int _port;

    public async Task InitializeAsync()
    {
        _agent = new AgentFactory(_dir.Sub("data"), new FakeVmm());
        _client = _agent.CreateAuthenticatedClient();
        _port = await _agent.VmmpPortAsync();
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Health_ReportsTheVmmpPortAndMethods()
    {
        var health = await _client.GetFromJsonAsync<AgentHealth>(AgentRoutes.Health);

        Assert.True(health!.VmmpPort is > 0);
        Assert.Contains(VmmpMethods.Scp, health.Methods!);
        Assert.Equal(health.Methods!.Order(StringComparer.Ordinal), health.Methods);
    }

    [Fact]
    public async Task Query_IsAnsweredWithResultsListingTheMethods()
    {
        var id = Guid.NewGuid();

        var answer = await VmmpPeer.AskAsync(_port, new VmmpQuery(id));

        var results = Assert.IsType<VmmpResults>(VmmpWire.Parse(answer!).Message);
        Assert.Equal(id, results.MachineId);
        var health = await _client.GetFromJsonAsync<AgentHealth>(AgentRoutes.Health);
        Assert.Equal(health!.Methods, results.Methods);
    }

    [Fact]
    public async Task Query_TwiceOnOneConnection_IsAnsweredTwice()
    {
        var id = Guid.NewGuid();
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, _port);
        var stream = client.GetStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        for (var i = 0; i < 2; i++)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"{VmmpAuth.Line(AgentFactory.Secret, $"<VMMP 1.0 QUERY {id} METHODS>")}\r\n<VMMP 1.0 QUERY {id} METHODS>\r\n"));
            Assert.IsType<VmmpResults>(VmmpWire.Parse((await VmmpWire.ReadLineAsync(stream, timeout.Token))!).Message);
        }
    }

    [Fact]
    public async Task Req_NotAnnounced_IsAnsweredWithFailAndChangesNothing()
    {
        var id = Guid.NewGuid();

        var answer = await VmmpPeer.AskAsync(_port, Req(id, 7));

        Assert.Equal($"<VMMP 1.0 RESP {id} 7 FAIL>", answer);
        var progress = await _client.GetAsync(MigrationRoutes.Incoming(id));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, progress.StatusCode);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_agent.DataDirectory, "incoming")));
    }

    [Fact]
    public async Task Req_WrongVersionMethodOrOrigin_IsAnsweredWithFail()
    {
        var id = Guid.NewGuid();
        var announced = Announcement();
        (await _client.PutAsJsonAsync(MigrationRoutes.Incoming(id), announced)).EnsureSuccessStatusCode();

        Assert.Equal($"<VMMP 1.0 RESP {id} 8 FAIL>", await VmmpPeer.AskAsync(_port, Req(id, 8)));
        Assert.Equal($"<VMMP 1.0 RESP {id} 7 FAIL>", await VmmpPeer.AskAsync(_port, Req(id, 7) with { OrigIp = System.Net.IPAddress.Parse("127.0.0.2") }));
        Assert.Equal($"<VMMP 1.0 RESP {id} 7 FAIL>", await VmmpPeer.AskAsync(_port, Req(id, 7) with { OrigPort = 7002 }));
        Assert.Equal($"<VMMP 1.0 RESP {id} 7 FAIL>", await VmmpPeer.AskAsync(_port, Req(id, 7) with { Method = "DEDUPX" }));
        // Issue 20: the announced REQ itself, from someone without the host secret, starts nothing.
        Assert.Equal($"<VMMP 1.0 RESP {id} 7 FAIL>", await VmmpPeer.ExchangeAsync(_port, VmmpWire.Format(Req(id, 7))));
        Assert.Equal($"<VMMP 1.0 RESP {id} 7 FAIL>", await VmmpPeer.AskAsync(_port, Req(id, 7), key: announced.Token));

        var progress = await _client.GetFromJsonAsync<MigrationProgress>(MigrationRoutes.Incoming(id));
        Assert.Equal(MigrationPhases.Expected, progress!.Phase);
    }

    [Theory]
    [InlineData("<VMMP 1.0 QUERY {0} METHODS EXTRA>")]
    [InlineData("<VMMP 2.0 QUERY {0} METHODS>")]
    [InlineData("<VMMP 1.0 FETCH {0}>")]
    [InlineData("<VMMP 1.0 REQ {0} x 127.0.0.1 7001 127.0.0.1 7000 SCP>")]
    [InlineData("<VMMP 1.0 REQ {0} 3 127.0.0.1 7001 127.0.0.1 7000 scp>")]
    [InlineData("<VMMP 1.0 REQ {0} 3 127.0.0.1 99999 127.0.0.1 7000 SCP>")]
    [InlineData("<VMMP  1.0 QUERY {0} METHODS>")]
    [InlineData("VMMP 1.0 QUERY {0} METHODS")]
    [InlineData("<VMMP 1.0 HEARTBEAT {0}>")]
    [InlineData("<VMMP 1.0 RESP {0} 3 SUCCESS>")]
    public async Task MalformedOrMisdirected_NamingAMachine_IsAnsweredWithFail(string template)
    {
        var id = Guid.NewGuid();

        var answer = await VmmpPeer.ExchangeAsync(_port, string.Format(template, id));

        var resp = Assert.IsType<VmmpResp>(VmmpWire.Parse(answer!).Message);
        Assert.Equal(id, resp.MachineId);
        Assert.False(resp.Success);
    }

    [Theory]
    [InlineData("hello")]
    [InlineData("<VMMP 1.0 QUERY not-a-machine METHODS>")]
    [InlineData("")]
    public async Task Garbage_WithoutAMachine_ClosesTheConnection(string line)
    {
        Assert.Null(await VmmpPeer.ExchangeAsync(_port, line));
    }

    [Fact]
    public async Task OverlongLine_ClosesTheConnection_AndTheServerStillAnswers()
    {
        Assert.Null(await VmmpPeer.ExchangeAsync(_port, new string('A', 5000)));

        var id = Guid.NewGuid();
        Assert.IsType<VmmpResults>(VmmpWire.Parse((await VmmpPeer.AskAsync(_port, new VmmpQuery(id)))!).Message);
    }

    [Fact]
    public async Task NonAsciiLine_IsRefused_AndTheServerStillAnswers()
    {
        var id = Guid.NewGuid();
        var bytes = Encoding.UTF8.GetBytes($"<VMMP 1.0 QUERY {id} MÉTHODS>\n");

        var answer = await VmmpPeer.ExchangeAsync(_port, bytes);

        Assert.Equal($"<VMMP 1.0 RESP {id} 0 FAIL>", answer);
        Assert.IsType<VmmpResults>(VmmpWire.Parse((await VmmpPeer.AskAsync(_port, new VmmpQuery(id)))!).Message);
    }

    [Fact]
    public async Task EveryMessage_IsLoggedAsAnEvent()
    {
        var id = Guid.NewGuid();
        await VmmpPeer.AskAsync(_port, new VmmpQuery(id));
        await VmmpPeer.AskAsync(_port, Req(id, 7));

        var events = await File.ReadAllLinesAsync(Path.Combine(_agent.DataDirectory, "events.log"));

        Assert.Equal(2, events.Count(e => e.Contains("\"kind\":\"vmmp\"") && e.Contains(id.ToString())));
    }

    private static VmmpReq Req(Guid id, long version) =>
        new(id, version, System.Net.IPAddress.Loopback, 7001, System.Net.IPAddress.Loopback, 7000, VmmpMethods.Scp);

    private IncomingMigration Announcement(long version = 7, string? token = null) =>
        new(version, VmmpMethods.Scp, "http://127.0.0.1:7001", "alpha", token ?? MigrationCalls.NewToken(), "52:54:00:12:34:56", 1000, 128, 100, null);

    // ---- issue 20: only an authenticated asker is answered ----

    [Fact]
    public async Task Query_FromAStranger_IsAnsweredFail_NotResults()
    {
        var id = Guid.NewGuid();

        var plain = await VmmpPeer.ExchangeAsync(_port, VmmpWire.Format(new VmmpQuery(id)));
        var wrongKey = await VmmpPeer.AskAsync(_port, new VmmpQuery(id), key: "not-the-secret");
        var badProof = await VmmpPeer.ExchangeAsync(_port, $"AUTH {new string('0', 64)}\n<VMMP 1.0 QUERY {id} METHODS>");

        Assert.All(new[] { plain, wrongKey, badProof }, a => Assert.Equal($"<VMMP 1.0 RESP {id} 0 FAIL>", a));
    }

    [Fact]
    public async Task Query_ByAPeerHoldingThatMigrationsToken_IsAnswered_ButNotForAnotherMachine()
    {
        var id = Guid.NewGuid();
        var token = MigrationCalls.NewToken();
        (await _client.PutAsJsonAsync(MigrationRoutes.Incoming(id), Announcement(token: token))).EnsureSuccessStatusCode();

        var answered = await VmmpPeer.AskAsync(_port, new VmmpQuery(id), key: token);
        var other = Guid.NewGuid();
        var refused = await VmmpPeer.AskAsync(_port, new VmmpQuery(other), key: token);

        Assert.IsType<VmmpResults>(VmmpWire.Parse(answered!).Message);
        Assert.Equal($"<VMMP 1.0 RESP {other} 0 FAIL>", refused);
    }

    [Fact]
    public async Task MalformedLine_FromAStranger_DoesNotTellTheAnnouncedVersion()
    {
        var id = Guid.NewGuid();
        (await _client.PutAsJsonAsync(MigrationRoutes.Incoming(id), Announcement(version: 42))).EnsureSuccessStatusCode();

        var answer = await VmmpPeer.ExchangeAsync(_port, $"<VMMP 1.0 QUERY {id} METHODS EXTRA>");

        Assert.Equal($"<VMMP 1.0 RESP {id} 0 FAIL>", answer);
    }
}
