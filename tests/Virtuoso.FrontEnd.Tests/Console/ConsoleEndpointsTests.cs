using System.Net;
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

namespace Virtuoso.FrontEnd.Tests.Console;

/// <summary>ConsoleEndpointsTests on SQLite, the default dialect.</summary>
public sealed class ConsoleEndpointsTests(MarketFixture market) : ConsoleEndpointsTests<MarketFixture>(market);

/// <summary>ConsoleEndpointsTests on PostgreSQL: tickets shared by replicas on one database.</summary>
public sealed class ConsoleEndpointsPostgresTests(PostgresMarketFixture market) : ConsoleEndpointsTests<PostgresMarketFixture>(market);

/// <summary>
/// The console in the browser through the front-end (design §7, issue 3 "Done when": a console session cannot be
/// opened without a valid fresh ticket or by anyone but the owner), on fake agents whose "VNC" greets and echoes.
/// </summary>
public abstract class ConsoleEndpointsTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    [Fact]
    public async Task Ticket_OpensTheConsoleOnce_FramesPassBothWays_AndClosingTheBrowserSideEndsTheAgentSession()
    {
        var (buyer, id) = await RunningMachineAsync();

        var ticket = await TicketAsync(buyer, id);
        Assert.Equal(market.Spare.ConsolePassword(id), ticket.Password);
        Assert.StartsWith("/console/ws?ticket=", ticket.WebSocketPath);
        Assert.InRange(ticket.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(31));
        // Only the ticket's hash is stored.
        Assert.Equal(0, await market.CountAsync("SELECT COUNT(*) FROM console_tickets WHERE ticket_hash = @t", ("t", ticket.Ticket)));
        Assert.Equal(1, await market.CountAsync("SELECT COUNT(*) FROM console_tickets WHERE ticket_hash = @t", ("t", PasswordHasher.TokenHash(ticket.Ticket))));

        var ws = await ConnectAsync(market.Factory, ticket.WebSocketPath);
        Assert.Equal("RFB 003.008\n", await ReceiveTextAsync(ws));
        await ws.SendAsync("client bytes"u8.ToArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
        Assert.Equal("client bytes", await ReceiveTextAsync(ws));

        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "page closed", Timeout());
        await WaitUntilAsync(() => market.Spare.Calls.Contains($"console-end {id:D}"), "the agent's session was not ended");
        Assert.Null(market.Spare.ConsolePassword(id));

        var again = await ProbeAsync(market.Factory, ticket.WebSocketPath);
        Assert.Equal((403, ErrorCodes.InvalidTicket), again);
    }

    [Fact]
    public async Task NoTicket_ForgedTicket_AndPlainGet_AreRefusedWithCodes()
    {
        Assert.Equal((401, ErrorCodes.Unauthenticated), await ProbeAsync(market.Factory, "/console/ws"));
        Assert.Equal((403, ErrorCodes.InvalidTicket), await ProbeAsync(market.Factory, "/console/ws?ticket=forged-" + Guid.NewGuid().ToString("N")));
        await Problem.AssertAsync(await market.Anonymous().GetAsync("/console/ws?ticket=x"), 400, ErrorCodes.Validation);
    }

    [Fact]
    public async Task Ticket_FromAnotherSitesPage_IsRefused_AndStaysUsable()
    {
        var (buyer, id) = await RunningMachineAsync();
        var ticket = await TicketAsync(buyer, id);

        Assert.Equal((403, ErrorCodes.ForbiddenOrigin), await ProbeAsync(market.Factory, ticket.WebSocketPath, origin: "https://evil.example"));

        var ws = await ConnectAsync(market.Factory, ticket.WebSocketPath, origin: "http://localhost");
        Assert.Equal("RFB 003.008\n", await ReceiveTextAsync(ws));
        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", Timeout());
    }

    [Fact]
    public async Task ExpiredTicket_IsRefused()
    {
        var (buyer, id) = await RunningMachineAsync();
        await using var quick = market.Factory.WithWebHostBuilder(b => b.UseSetting("Virtuoso:Console:TicketSeconds", "0.3"));
        var client = Session.WithToken(quick.CreateClient(), buyer.Token);
        var ticket = await Session.Ok<ConsoleTicketResponse>(await client.PostAsync($"/api/v1/machines/{id:D}/console", null));

        await Task.Delay(TimeSpan.FromSeconds(1));

        Assert.Equal((403, ErrorCodes.ExpiredTicket), await ProbeAsync(quick, ticket.WebSocketPath));
        Assert.Equal((403, ErrorCodes.InvalidTicket), await ProbeAsync(quick, ticket.WebSocketPath));
        Assert.DoesNotContain($"console-connect {id:D}", market.Spare.Calls);
    }

    [Fact]
    public async Task Ticket_IssuedByOneReplica_WorksOnAnother_OnlyOnce()
    {
        var (buyer, id) = await RunningMachineAsync();
        await using var replica = market.Factory.WithWebHostBuilder(_ => { });
        var ticket = await TicketAsync(buyer, id);

        var ws = await ConnectAsync(replica, ticket.WebSocketPath);
        Assert.Equal("RFB 003.008\n", await ReceiveTextAsync(ws));
        Assert.Equal((403, ErrorCodes.InvalidTicket), await ProbeAsync(market.Factory, ticket.WebSocketPath));
        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", Timeout());
    }

    [Fact]
    public async Task AnotherBuyersMachine_AnswersLikeAMissingOne_AndOtherRolesAndStrangersAreRefused()
    {
        var (_, id) = await RunningMachineAsync();
        var other = await market.SignupAsync(Roles.Buyer, "console-other");
        var calls = market.Spare.Calls.Count;

        var theirs = await Problem.AssertAsync(await other.PostAsync($"/api/v1/machines/{id:D}/console"), 404, ErrorCodes.NotFound);
        var missing = await Problem.AssertAsync(await other.PostAsync($"/api/v1/machines/{Guid.NewGuid():D}/console"), 404, ErrorCodes.NotFound);
        Assert.Equal(Problem.Detail(missing), Problem.Detail(theirs));
        await Problem.AssertAsync(await market.Provider.PostAsync($"/api/v1/machines/{id:D}/console"), 403, ErrorCodes.WrongRole);
        await Problem.AssertAsync(await market.Anonymous().PostAsync($"/api/v1/machines/{id:D}/console", null), 401, ErrorCodes.Unauthenticated);
        Assert.Equal(calls, market.Spare.Calls.Count); // no console was opened
    }

    [Fact]
    public async Task StoppedMachine_GetsNoTicket_AndATicketOfAMachineStoppedSinceIsRefused()
    {
        var (buyer, id) = await RunningMachineAsync();
        var ticket = await TicketAsync(buyer, id);
        await buyer.ActAsync(id, "stop");

        Assert.Equal((409, ErrorCodes.InvalidState), await ProbeAsync(market.Factory, ticket.WebSocketPath));
        var refused = await Problem.AssertAsync(await buyer.PostAsync($"/api/v1/machines/{id:D}/console"), 409, ErrorCodes.InvalidState);
        Assert.Contains("stopped", Problem.Detail(refused));
    }

    [Fact]
    public async Task SecondViewer_TakesOver_TheFirstConnectionCloses()
    {
        var (buyer, id) = await RunningMachineAsync();
        var first = await ConnectAsync(market.Factory, (await TicketAsync(buyer, id)).WebSocketPath);
        Assert.Equal("RFB 003.008\n", await ReceiveTextAsync(first));

        var second = await ConnectAsync(market.Factory, (await TicketAsync(buyer, id)).WebSocketPath);
        Assert.Equal("RFB 003.008\n", await ReceiveTextAsync(second));

        var buffer = new byte[100];
        var last = await first.ReceiveAsync(buffer, Timeout());
        Assert.Equal(WebSocketMessageType.Close, last.MessageType);
        await second.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", Timeout());
    }

    [Fact]
    public async Task ConsolePage_IsTheOwnersOnly_ItsTicketNeedsTheAntiforgeryToken_AndNoVncIsServedByTheFrontEndItself()
    {
        await RoomyHostOnlineAsync();
        var web = await WebUser.SignupAsync(market, Roles.Buyer, "console-web");
        var api = await web.ApiAsync(market);
        var (machine, _) = await api.StoredMachineAsync();
        await api.ActAsync(machine.Id, "start");
        var path = $"/machines/{machine.Id:D}/console";

        var page = await web.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains("default-src 'self'", page.Response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("/console/console.js", page.Html);
        var token = page.AntiforgeryToken ?? throw new InvalidOperationException("no anti-forgery token on the console page");

        // Without the token the ticket is refused (a page of another site cannot make the browser ask for one).
        Assert.Equal(HttpStatusCode.BadRequest, (await web.PostRawAsync(path + "?handler=ticket", new())).Status);
        var answer = await web.PostRawAsync(path + "?handler=ticket", new() { ["__RequestVerificationToken"] = token });
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        var ticket = JsonSerializer.Deserialize<ConsoleTicketResponse>(answer.Html, JsonSerializerOptions.Web)!;
        Assert.Equal(market.Spare.ConsolePassword(machine.Id), ticket.Password);
        var ws = await ConnectAsync(market.Factory, ticket.WebSocketPath);
        Assert.Equal("RFB 003.008\n", await ReceiveTextAsync(ws));
        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", Timeout());

        // Another buyer sees the page of a machine that does not exist; a visitor is sent to log in.
        var other = await WebUser.SignupAsync(market, Roles.Buyer, "console-web-other");
        var theirs = await other.GetAsync(path);
        var missing = await other.GetAsync($"/machines/{Guid.NewGuid():D}/console");
        Assert.Equal((HttpStatusCode.NotFound, ErrorCodes.NotFound), (theirs.Status, theirs.ProblemCode));
        Assert.Equal(missing.Problem, theirs.Problem);
        Assert.Equal(HttpStatusCode.Redirect, (await WebUser.Anonymous(market).GetAsync(path)).Status);

        // A stopped machine's page says why there is no console.
        await api.ActAsync(machine.Id, "stop");
        var stopped = await web.GetAsync(path);
        Assert.Equal((HttpStatusCode.Conflict, ErrorCodes.InvalidState), (stopped.Status, stopped.ProblemCode));

        var script = await market.Anonymous().GetStringAsync("/console/console.js");
        Assert.Contains("import RFB from '/novnc/core/rfb.js'", script);
        var rfb = await market.Anonymous().GetAsync("/novnc/core/rfb.js");
        Assert.True(rfb.IsSuccessStatusCode, "noVNC is not served: is Debian's novnc package installed (/usr/share/novnc)?");
        Assert.Contains("javascript", rfb.Content.Headers.ContentType?.MediaType);
        Assert.Contains("export default class RFB", await rfb.Content.ReadAsStringAsync());
    }

    // ---- helpers ----

    private async Task<(Session Buyer, Guid Id)> RunningMachineAsync()
    {
        await RoomyHostOnlineAsync();
        var buyer = await market.SharedBuyerAsync();
        var (machine, _) = await buyer.StoredMachineAsync();
        await buyer.ActAsync(machine.Id, "start");
        return (buyer, machine.Id);
    }

    /// <summary>A host just added is offline until the host monitor's first check of its agent.</summary>
    private async Task RoomyHostOnlineAsync()
    {
        var name = (await market.RoomyHostAsync()).Name;
        await WaitUntilAsync(() => market.Provider.HostAsync(name).GetAwaiter().GetResult().Online, $"host {name} never came online");
    }

    private static async Task<ConsoleTicketResponse> TicketAsync(Session buyer, Guid id) =>
        await Session.Ok<ConsoleTicketResponse>(await buyer.PostAsync($"/api/v1/machines/{id:D}/console"));

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token;

    private static async Task<WebSocket> ConnectAsync(WebApplicationFactory<Program> factory, string path, string? origin = null)
    {
        var client = factory.Server.CreateWebSocketClient();
        if (origin is not null) client.ConfigureRequest = r => r.Headers.Origin = origin;
        return await client.ConnectAsync(new Uri(factory.Server.BaseAddress, path), Timeout());
    }

    private static async Task<string> ReceiveTextAsync(WebSocket ws)
    {
        var buffer = new byte[4096];
        var r = await ws.ReceiveAsync(buffer, Timeout());
        return Encoding.ASCII.GetString(buffer, 0, r.Count);
    }

    /// <summary>
    /// Opens <paramref name="path"/> as a WebSocket request that the test does not accept, and returns the refusal's
    /// status and code (TestServer's WebSocket client does not show a refused handshake's body).
    /// </summary>
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
