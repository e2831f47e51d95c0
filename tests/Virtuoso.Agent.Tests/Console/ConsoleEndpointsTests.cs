using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.TestHost;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.Testing;

namespace Virtuoso.Agent.Tests.Console;

/// <summary>Console sessions on real QEMU (design §7): fresh password per session, RFB through the agent's WebSocket, takeover.</summary>
[Collection(QemuCollection.Name)]
public sealed class ConsoleEndpointsTests : IDisposable
{
    private static readonly TimeSpan Rfb = TimeSpan.FromSeconds(20);
    private readonly TestDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [QemuFact]
    public async Task Session_GivesAFreshPassword_TheWebSocketSpeaksRfb_AndAFrameArrives()
    {
        await using var agent = new AgentFactory(_dir.Path);
        var client = agent.CreateAuthenticatedClient();
        var id = await RunningBlankMachineAsync(client);

        var session = await OpenAsync(client, id);
        Assert.Equal(8, session.Password.Length);
        Assert.True(session.ExpiresAt > DateTimeOffset.UtcNow);

        await using var rfb = RfbClient.Over(await ConnectAsync(agent, id, session.SessionId), Rfb);
        await rfb.HandshakeAsync(session.Password);
        Assert.True(rfb.Width >= 640 && rfb.Height >= 200, $"screen {rfb.Width}x{rfb.Height}");
        Assert.Equal($"QEMU ({id:D})", rfb.Name); // QEMU names the display after -name, the machine's id
        // The guest's screen may change mode after the init (SeaBIOS): the frame is whatever QEMU shows now.
        var frame = await rfb.FrameAsync();
        Assert.True(frame.Length >= 320 * 200 * rfb.BytesPerPixel && frame.Length % rfb.BytesPerPixel == 0, $"a frame of {frame.Length} bytes");

        // Each session has its own password.
        var next = await OpenAsync(client, id);
        Assert.NotEqual(session.Password, next.Password);
        Assert.NotEqual(session.SessionId, next.SessionId);
    }

    [QemuFact]
    public async Task SecondSession_ClosesTheFirstConnection_AndTheFirstPasswordNoLongerWorks()
    {
        await using var agent = new AgentFactory(_dir.Path);
        var client = agent.CreateAuthenticatedClient();
        var id = await RunningBlankMachineAsync(client);
        var first = await OpenAsync(client, id);
        var firstSocket = await ConnectAsync(agent, id, first.SessionId);
        await using var firstViewer = RfbClient.Over(firstSocket, Rfb);
        await firstViewer.HandshakeAsync(first.Password);

        var second = await OpenAsync(client, id);

        // §6.1.8: a second viewer takes over; the first is told why.
        Assert.True(await firstViewer.ClosedAsync(TimeSpan.FromSeconds(10)), "the first viewer's connection stays open");
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, firstSocket.CloseStatus);
        Assert.Contains("another viewer", firstSocket.CloseStatusDescription);
        // The first session's WebSocket is gone for good.
        var stale = await Assert.ThrowsAnyAsync<Exception>(() => ConnectAsync(agent, id, first.SessionId));
        Assert.Contains("404", stale.Message);
        // Straight at QEMU's VNC port: the old password is refused, the new one admitted.
        await using (var direct = await DirectAsync(id))
            await Assert.ThrowsAsync<RfbAuthenticationException>(() => direct.HandshakeAsync(first.Password));
        await using (var direct = await DirectAsync(id))
            await direct.HandshakeAsync(second.Password);
        await using var secondViewer = RfbClient.Over(await ConnectAsync(agent, id, second.SessionId), Rfb);
        await secondViewer.HandshakeAsync(second.Password);
        Assert.NotEmpty(await secondViewer.FrameAsync());
    }

    [QemuFact]
    public async Task EndedSession_ClosesItsConnection_CannotReconnect_AndItsPasswordIsSpent()
    {
        await using var agent = new AgentFactory(_dir.Path);
        var client = agent.CreateAuthenticatedClient();
        var id = await RunningBlankMachineAsync(client);
        var session = await OpenAsync(client, id);
        var socket = await ConnectAsync(agent, id, session.SessionId);
        await using var viewer = RfbClient.Over(socket, Rfb);
        await viewer.HandshakeAsync(session.Password);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync(AgentRoutes.ConsoleSession(id, session.SessionId))).StatusCode);

        Assert.True(await viewer.ClosedAsync(TimeSpan.FromSeconds(10)), "the connection of an ended session stays open");
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        await AgentApi.AssertProblemAsync(await client.DeleteAsync(AgentRoutes.ConsoleSession(id, session.SessionId)), HttpStatusCode.NotFound, ErrorCodes.NotFound);
        await using var direct = await DirectAsync(id);
        await Assert.ThrowsAsync<RfbAuthenticationException>(() => direct.HandshakeAsync(session.Password));
    }

    [QemuFact]
    public async Task Session_ConnectsOnce_AndNotAfterItsWindow()
    {
        await using var agent = new AgentFactory(_dir.Path, settings: new Dictionary<string, string?> { ["console-window"] = "3" });
        var client = agent.CreateAuthenticatedClient();
        var id = await RunningBlankMachineAsync(client);
        var session = await OpenAsync(client, id);
        await using var viewer = RfbClient.Over(await ConnectAsync(agent, id, session.SessionId), Rfb);
        await viewer.HandshakeAsync(session.Password);

        var again = await Assert.ThrowsAnyAsync<Exception>(() => ConnectAsync(agent, id, session.SessionId));
        Assert.Contains("409", again.Message);

        var late = await OpenAsync(client, id);
        await Task.Delay(TimeSpan.FromSeconds(4.5));
        var expired = await Assert.ThrowsAnyAsync<Exception>(() => ConnectAsync(agent, id, late.SessionId));
        Assert.Contains("409", expired.Message);
        // QEMU itself no longer admits the password either.
        await using var direct = await DirectAsync(id);
        await Assert.ThrowsAsync<RfbAuthenticationException>(() => direct.HandshakeAsync(late.Password));
    }

    private async Task<Guid> RunningBlankMachineAsync(HttpClient client)
    {
        var id = Guid.NewGuid();
        await client.CreateAsync(AgentApi.Blank(id, version: 1, memoryMb: 64, diskMb: 16));
        await client.CommandAsync(id, "start", 1, 1);
        return id;
    }

    internal static async Task<AgentConsoleSession> OpenAsync(HttpClient client, Guid id) =>
        await AgentApi.ReadAsync<AgentConsoleSession>(await client.PostAsync(AgentRoutes.Console(id), null));

    internal static async Task<WebSocket> ConnectAsync(AgentFactory agent, Guid id, string sessionId)
    {
        var ws = agent.Server.CreateWebSocketClient();
        ws.ConfigureRequest = r => r.Headers.Authorization = $"Bearer {AgentFactory.Secret}";
        return await ws.ConnectAsync(new Uri(agent.Server.BaseAddress, AgentRoutes.ConsoleSession(id, sessionId)), CancellationToken.None);
    }

    /// <summary>An RFB client on the machine's VNC port itself (127.0.0.1:5900+display), bypassing the agent.</summary>
    private async Task<RfbClient> DirectAsync(Guid id)
    {
        var record = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_dir.Path, "machines", id.ToString("D"), "machine.json"))).RootElement;
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", 5900 + record.GetProperty("vncDisplay").GetInt32());
        return RfbClient.Over(tcp.GetStream(), Rfb);
    }
}

/// <summary>The console API's refusals, on a fake VMM: they must change nothing and say why with a stable code.</summary>
public sealed class ConsoleRefusalTests : IDisposable
{
    private readonly TestDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Console_OfAStoppedMachine_IsRefusedWithInvalidState_AndSetsNoPassword()
    {
        var vmm = new FakeVmm();
        await using var agent = new AgentFactory(_dir.Path, vmm);
        var client = agent.CreateAuthenticatedClient();
        var id = Guid.NewGuid();
        await client.CreateAsync(AgentApi.Blank(id));

        var detail = await AgentApi.AssertProblemAsync(await client.PostAsync(AgentRoutes.Console(id), null), HttpStatusCode.Conflict, ErrorCodes.InvalidState);

        Assert.Contains("stopped", detail);
        Assert.Empty(vmm.VncPasswords);
    }

    [Fact]
    public async Task Console_OfAnUnknownMachine_IsNotFound_AndWithoutTheSecretUnauthenticated()
    {
        var vmm = new FakeVmm();
        await using var agent = new AgentFactory(_dir.Path, vmm);
        var id = Guid.NewGuid();

        await AgentApi.AssertProblemAsync(await agent.CreateAuthenticatedClient().PostAsync(AgentRoutes.Console(id), null), HttpStatusCode.NotFound, ErrorCodes.NotFound);
        await AgentApi.AssertProblemAsync(await agent.CreateClient().PostAsync(AgentRoutes.Console(id), null), HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
        var ws = agent.Server.CreateWebSocketClient();
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => ws.ConnectAsync(new Uri(agent.Server.BaseAddress, AgentRoutes.ConsoleSession(id, "x")), CancellationToken.None));
        Assert.Contains("401", refused.Message);
    }

    [Fact]
    public async Task Session_GetsARandomPasswordThatAdmitsForTheWindow_AndEndingItSetsAnUnknownOneThatAdmitsNothing()
    {
        var vmm = new FakeVmm();
        await using var agent = new AgentFactory(_dir.Path, vmm);
        var client = agent.CreateAuthenticatedClient();
        var id = Guid.NewGuid();
        await client.CreateAsync(AgentApi.Blank(id));
        await client.CommandAsync(id, "start", 1, 1);

        var session = await ConsoleEndpointsTests.OpenAsync(client, id);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync(AgentRoutes.ConsoleSession(id, session.SessionId))).StatusCode);

        var set = vmm.VncPasswords.ToList();
        Assert.Equal(2, set.Count);
        Assert.Equal((id, session.Password, TimeSpan.FromSeconds(60)), set[0]);
        Assert.Equal(TimeSpan.Zero, set[1].AdmitsFor);
        Assert.NotEqual(session.Password, set[1].Password);
    }

    [Fact]
    public async Task WebSocketRoute_AnsweredWithoutUpgrade_IsAValidationError()
    {
        await using var agent = new AgentFactory(_dir.Path, new FakeVmm());
        var response = await agent.CreateAuthenticatedClient().GetAsync(AgentRoutes.ConsoleSession(Guid.NewGuid(), "abc"));
        await AgentApi.AssertProblemAsync(response, HttpStatusCode.BadRequest, ErrorCodes.Validation);
    }
}
