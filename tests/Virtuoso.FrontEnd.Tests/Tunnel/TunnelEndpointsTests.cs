using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Tunnel;

/// <summary>TunnelEndpointsTests on SQLite, the default dialect.</summary>
public sealed class TunnelEndpointsTests(MarketFixture market) : TunnelEndpointsTests<MarketFixture>(market);

/// <summary>TunnelEndpointsTests on PostgreSQL: tickets shared by replicas on one database.</summary>
public sealed class TunnelEndpointsPostgresTests(PostgresMarketFixture market) : TunnelEndpointsTests<PostgresMarketFixture>(market);

/// <summary>
/// Tunnels to a guest's port through the front-end (design §10, issue 14 items 4 and 5), on fake agents whose "guest"
/// greets with its port, echoes, and says bye when its input ends: a one-time ticket, the owner's running machine only.
/// </summary>
public abstract class TunnelEndpointsTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    [Fact]
    public async Task Ticket_OpensOneTunnelToTheAskedPort_BytesPassBothWays_AndTheGuestAnswersAfterOurEndOfInput()
    {
        var (buyer, id) = await RunningMachineAsync();

        var ticket = await TicketAsync(buyer, id, 22);
        Assert.Equal((id, 22), (ticket.Machine, ticket.Port));
        Assert.StartsWith("/tunnel/ws?ticket=", ticket.WebSocketPath);
        Assert.InRange(ticket.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(31));
        // The console's tickets, of the tunnel's kind; only the hash is stored.
        Assert.Equal(1, await market.CountAsync("SELECT COUNT(*) FROM console_tickets WHERE ticket_hash = @t AND kind = 'tunnel' AND guest_port = 22",
            ("t", PasswordHasher.TokenHash(ticket.Ticket))));

        var ws = await ConnectAsync(market.Factory, ticket.WebSocketPath);
        Assert.Equal("guest port 22\n", await ReceiveAsync(ws, 14));
        Assert.Contains($"tunnel {id:D} 22", market.Spare.Calls);
        await ws.SendAsync("SSH-2.0-test\r\n"u8.ToArray(), WebSocketMessageType.Binary, true, Timeout());
        Assert.Equal("SSH-2.0-test\r\n", await ReceiveAsync(ws, 14));
        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "end of input", Timeout());
        Assert.Equal("bye\n", await ReceiveAsync(ws, 4));
        var last = await ws.ReceiveAsync(new byte[16], Timeout());
        Assert.Equal(WebSocketMessageType.Close, last.MessageType);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, ws.CloseStatus);

        Assert.Equal((403, ErrorCodes.InvalidTicket), await ProbeAsync(market.Factory, ticket.WebSocketPath));
        Assert.Contains(await buyer.EventsAsync(id), e => e.Kind == "tunnel" && e.Message.Contains("guest port 22"));
    }

    [Fact]
    public async Task TicketsOfTheTwoKinds_NeverOpenTheOtherWebSocket_NorAreSpentByTrying()
    {
        var (buyer, id) = await RunningMachineAsync();
        var tunnel = await TicketAsync(buyer, id, 22);
        var console = await Session.Ok<ConsoleTicketResponse>(await buyer.PostAsync($"/api/v1/machines/{id:D}/console"));

        Assert.Equal((403, ErrorCodes.InvalidTicket), await ProbeAsync(market.Factory, $"/console/ws?ticket={Uri.EscapeDataString(tunnel.Ticket)}"));
        Assert.Equal((403, ErrorCodes.InvalidTicket), await ProbeAsync(market.Factory, $"/tunnel/ws?ticket={Uri.EscapeDataString(console.Ticket)}"));

        var ws = await ConnectAsync(market.Factory, tunnel.WebSocketPath);
        Assert.Equal("guest port 22\n", await ReceiveAsync(ws, 14));
        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", Timeout());
    }

    [Fact]
    public async Task Ticket_IssuedByOneReplica_WorksOnAnother_OnlyOnce()
    {
        var (buyer, id) = await RunningMachineAsync();
        await using var replica = market.Factory.WithWebHostBuilder(_ => { });
        var ticket = await TicketAsync(buyer, id, 8080);

        var ws = await ConnectAsync(replica, ticket.WebSocketPath);
        Assert.Equal("guest port 8080\n", await ReceiveAsync(ws, 16));
        Assert.Equal((403, ErrorCodes.InvalidTicket), await ProbeAsync(market.Factory, ticket.WebSocketPath));
        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", Timeout());
    }

    [Fact]
    public async Task NoTicket_ForgedOrExpiredTicket_AnotherSitesPage_AndPlainGet_AreRefusedWithCodes()
    {
        Assert.Equal((401, ErrorCodes.Unauthenticated), await ProbeAsync(market.Factory, "/tunnel/ws"));
        Assert.Equal((403, ErrorCodes.InvalidTicket), await ProbeAsync(market.Factory, "/tunnel/ws?ticket=forged-" + Guid.NewGuid().ToString("N")));
        await Problem.AssertAsync(await market.Anonymous().GetAsync("/tunnel/ws?ticket=x"), 400, ErrorCodes.Validation);

        var (buyer, id) = await RunningMachineAsync();
        var ticket = await TicketAsync(buyer, id, 22);
        Assert.Equal((403, ErrorCodes.ForbiddenOrigin), await ProbeAsync(market.Factory, ticket.WebSocketPath, origin: "https://evil.example"));

        await using var quick = market.Factory.WithWebHostBuilder(b => b.UseSetting("Virtuoso:Console:TicketSeconds", "0.3"));
        var client = Session.WithToken(quick.CreateClient(), buyer.Token);
        var old = await Session.Ok<TunnelTicketResponse>(await client.PostAsJsonAsync($"/api/v1/machines/{id:D}/tunnel", new TunnelRequest(22)));
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal((403, ErrorCodes.ExpiredTicket), await ProbeAsync(quick, old.WebSocketPath));
        Assert.Equal((403, ErrorCodes.InvalidTicket), await ProbeAsync(quick, old.WebSocketPath));
    }

    [Fact]
    public async Task AnotherBuyersMachine_AnswersLikeAMissingOne_AndOtherRolesAndStrangersAreRefused()
    {
        var (_, id) = await RunningMachineAsync();
        var other = await market.SignupAsync(Roles.Buyer, "tunnel-other");
        var calls = market.Spare.Calls.Count;

        var theirs = await Problem.AssertAsync(await other.PostAsync($"/api/v1/machines/{id:D}/tunnel", new TunnelRequest(22)), 404, ErrorCodes.NotFound);
        var missing = await Problem.AssertAsync(await other.PostAsync($"/api/v1/machines/{Guid.NewGuid():D}/tunnel", new TunnelRequest(22)), 404, ErrorCodes.NotFound);
        Assert.Equal(Problem.Detail(missing), Problem.Detail(theirs));
        // Even a bad port tells another buyer nothing about the machine.
        await Problem.AssertAsync(await other.PostAsync($"/api/v1/machines/{id:D}/tunnel", new TunnelRequest(0)), 404, ErrorCodes.NotFound);
        await Problem.AssertAsync(await market.Provider.PostAsync($"/api/v1/machines/{id:D}/tunnel", new TunnelRequest(22)), 403, ErrorCodes.WrongRole);
        await Problem.AssertAsync(await market.Anonymous().PostAsJsonAsync($"/api/v1/machines/{id:D}/tunnel", new TunnelRequest(22)), 401, ErrorCodes.Unauthenticated);
        Assert.Equal(calls, market.Spare.Calls.Count); // nothing reached the agent
    }

    [Fact]
    public async Task BadPort_IsRefusedWithInvalidPort()
    {
        var (buyer, id) = await RunningMachineAsync();

        foreach (var port in new[] { 0, -1, 65536, 100000 })
            Assert.Contains($"{port}", Problem.Detail(await Problem.AssertAsync(await buyer.PostAsync($"/api/v1/machines/{id:D}/tunnel", new TunnelRequest(port)), 400, ErrorCodes.InvalidPort)));
        await Problem.AssertAsync(await buyer.PostAsync($"/api/v1/machines/{id:D}/tunnel"), 400, ErrorCodes.InvalidPort);
        // Not a number at all: malformed JSON, refused as every malformed body is.
        await Problem.AssertAsync(await buyer.PostAsync($"/api/v1/machines/{id:D}/tunnel", new { port = "ssh" }), 400, ErrorCodes.Validation);
        Assert.Equal(0, await market.CountAsync("SELECT COUNT(*) FROM console_tickets WHERE machine_id = @m AND kind = 'tunnel'", ("m", id)));
    }

    [Fact]
    public async Task StoppedMachine_GetsNoTicket_AndATicketOfAMachineStoppedSinceIsRefused()
    {
        var (buyer, id) = await RunningMachineAsync();
        var ticket = await TicketAsync(buyer, id, 22);
        await buyer.ActAsync(id, "stop");

        Assert.Equal((409, ErrorCodes.InvalidState), await ProbeAsync(market.Factory, ticket.WebSocketPath));
        var refused = await Problem.AssertAsync(await buyer.PostAsync($"/api/v1/machines/{id:D}/tunnel", new TunnelRequest(22)), 409, ErrorCodes.InvalidState);
        Assert.Contains("stopped", Problem.Detail(refused));
        Assert.DoesNotContain($"tunnel {id:D} 22", market.Spare.Calls);
    }

    // ---- helpers ----

    private async Task<(Session Buyer, Guid Id)> RunningMachineAsync()
    {
        var name = (await market.RoomyHostAsync()).Name;
        await WaitUntilAsync(() => market.Provider.HostAsync(name).GetAwaiter().GetResult().Online, $"host {name} never came online");
        var buyer = await market.SharedBuyerAsync();
        var (machine, _) = await buyer.StoredMachineAsync();
        await buyer.ActAsync(machine.Id, "start");
        return (buyer, machine.Id);
    }

    private static async Task<TunnelTicketResponse> TicketAsync(Session buyer, Guid id, int port) =>
        await Session.Ok<TunnelTicketResponse>(await buyer.PostAsync($"/api/v1/machines/{id:D}/tunnel", new TunnelRequest(port)));

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token;

    private static async Task<WebSocket> ConnectAsync(WebApplicationFactory<Program> factory, string path) =>
        await factory.Server.CreateWebSocketClient().ConnectAsync(new Uri(factory.Server.BaseAddress, path), Timeout());

    /// <summary>Exactly <paramref name="count"/> bytes, from as many frames as they come in.</summary>
    private static async Task<string> ReceiveAsync(WebSocket ws, int count)
    {
        var buffer = new byte[count];
        var got = 0;
        while (got < count)
        {
            var r = await ws.ReceiveAsync(buffer.AsMemory(got), Timeout());
            if (r.MessageType == WebSocketMessageType.Close)
                throw new InvalidOperationException($"closed after {got} of {count} bytes: {ws.CloseStatus} {ws.CloseStatusDescription}");
            got += r.Count;
        }
        return Encoding.ASCII.GetString(buffer);
    }

    /// <summary>The refusal's status and code of a WebSocket request the test does not accept (as the console's tests).</summary>
    private static async Task<(int Status, string? Code)> ProbeAsync(WebApplicationFactory<Program> factory, string path, string? origin = null)
    {
        var uri = new Uri(factory.Server.BaseAddress, path);
        var context = await factory.Server.SendAsync(c =>
        {
            c.Request.Method = "GET";
            c.Request.Path = uri.AbsolutePath;
            c.Request.QueryString = new QueryString(uri.Query);
            if (origin is not null) c.Request.Headers.Origin = origin;
            c.Features.Set<IHttpWebSocketFeature>(new RefusedUpgrade());
        });
        Assert.NotEqual(101, context.Response.StatusCode);
        var body = await new StreamReader(context.Response.Body).ReadToEndAsync();
        string? code = null;
        if (body.Length > 0 && JsonDocument.Parse(body).RootElement.TryGetProperty("code", out var c)) code = c.GetString();
        return (context.Response.StatusCode, code);
    }

    private sealed class RefusedUpgrade : IHttpWebSocketFeature
    {
        public bool IsWebSocketRequest => true;
        public Task<WebSocket> AcceptAsync(WebSocketAcceptContext context) => throw new InvalidOperationException("the test expected a refusal, not an accepted WebSocket");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string failure)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail(failure);
            await Task.Delay(50);
        }
    }
}
