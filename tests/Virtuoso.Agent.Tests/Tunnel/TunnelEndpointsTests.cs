using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.TestHost;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Agent.Vmm.Qemu;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Agent.Tests.Tunnel;

/// <summary>
/// Tunnels to a guest's port (design §10) on a fake VMM whose forwarded "guest" greets, echoes and says bye when its
/// input ends: both directions, the half-close, the forward's removal, and the refusals.
/// </summary>
public sealed class TunnelEndpointsTests : IDisposable
{
    private readonly TestDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Tunnel_RelaysBothWays_ClosingOurSideEndsTheGuestsInputOnly_AndItsForwardIsRemoved()
    {
        var vmm = new FakeVmm();
        await using var agent = new AgentFactory(_dir.Path, vmm);
        var id = await RunningMachineAsync(agent);

        var ws = await ConnectAsync(agent, id, 22);
        var hostPort = Assert.Single(vmm.ForwardedPorts);
        Assert.Equal($"add 127.0.0.1:{hostPort}-:22", Assert.Single(vmm.ForwardCalls));
        Assert.Equal("guest port 22\n", await ReceiveAsync(ws, "guest port 22\n".Length));
        await ws.SendAsync("ping"u8.ToArray(), WebSocketMessageType.Binary, true, Timeout());
        Assert.Equal("ping", await ReceiveAsync(ws, 4));

        // End of our input: the guest still answers, then closes, and so does the tunnel.
        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "end of input", Timeout());
        Assert.Equal("bye\n", await ReceiveAsync(ws, 4));
        var last = await ws.ReceiveAsync(new byte[16], Timeout());
        Assert.Equal(WebSocketMessageType.Close, last.MessageType);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, ws.CloseStatus);
        Assert.Equal("the guest closed the connection", ws.CloseStatusDescription);
        await WaitUntilAsync(() => vmm.ForwardedPorts.Count == 0, "the tunnel's forward was not removed");
        Assert.Equal(new[] { $"add 127.0.0.1:{hostPort}-:22", $"remove 127.0.0.1:{hostPort}" }, vmm.ForwardCalls.ToArray());
    }

    [Fact]
    public async Task Tunnel_WhoseForwardCannotBeAdded_TriesAnotherPort()
    {
        var vmm = new FakeVmm();
        await using var agent = new AgentFactory(_dir.Path, vmm);
        var id = await RunningMachineAsync(agent);
        vmm.FailNext = "forward-add";

        var ws = await ConnectAsync(agent, id, 8080);

        Assert.Equal("guest port 8080\n", await ReceiveAsync(ws, "guest port 8080\n".Length));
        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", Timeout());
    }

    [Fact]
    public async Task Tunnel_OfAStoppedOrUnknownMachine_ToABadPort_OrWithoutTheSecret_IsRefused_AndForwardsNothing()
    {
        var vmm = new FakeVmm();
        await using var agent = new AgentFactory(_dir.Path, vmm);
        var client = agent.CreateAuthenticatedClient();
        var id = Guid.NewGuid();
        await client.CreateAsync(AgentApi.Blank(id));

        Assert.Contains("409", (await Assert.ThrowsAnyAsync<Exception>(() => ConnectAsync(agent, id, 22))).Message);
        Assert.Contains("404", (await Assert.ThrowsAnyAsync<Exception>(() => ConnectAsync(agent, Guid.NewGuid(), 22))).Message);
        await client.CommandAsync(id, "start", 1, 1);
        foreach (var port in new[] { "0", "65536", "-1", "ssh", "22.0" })
            await AgentApi.AssertProblemAsync(await client.GetAsync($"/v1/machines/{id:D}/tunnel/{port}"), HttpStatusCode.BadRequest, ErrorCodes.Validation);
        // Not a WebSocket request: refused before anything is forwarded.
        await AgentApi.AssertProblemAsync(await client.GetAsync(AgentRoutes.Tunnel(id, 22)), HttpStatusCode.BadRequest, ErrorCodes.Validation);
        await AgentApi.AssertProblemAsync(await agent.CreateClient().GetAsync(AgentRoutes.Tunnel(id, 22)), HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
        var ws = agent.Server.CreateWebSocketClient();
        Assert.Contains("401", (await Assert.ThrowsAnyAsync<Exception>(() => ws.ConnectAsync(new Uri(agent.Server.BaseAddress, AgentRoutes.Tunnel(id, 22)), CancellationToken.None))).Message);
        Assert.Empty(vmm.ForwardCalls);
    }

    internal static async Task<Guid> RunningMachineAsync(AgentFactory agent)
    {
        var client = agent.CreateAuthenticatedClient();
        var id = Guid.NewGuid();
        await client.CreateAsync(AgentApi.Blank(id));
        await client.CommandAsync(id, "start", 1, 1);
        return id;
    }

    internal static async Task<WebSocket> ConnectAsync(AgentFactory agent, Guid id, int port)
    {
        var ws = agent.Server.CreateWebSocketClient();
        ws.ConfigureRequest = r => r.Headers.Authorization = $"Bearer {AgentFactory.Secret}";
        return await ws.ConnectAsync(new Uri(agent.Server.BaseAddress, AgentRoutes.Tunnel(id, port)), Timeout());
    }

    /// <summary>Exactly <paramref name="count"/> bytes, from as many frames as they come in.</summary>
    internal static async Task<string> ReceiveAsync(WebSocket ws, int count)
    {
        var buffer = new byte[count];
        var got = 0;
        while (got < count)
        {
            var r = await ws.ReceiveAsync(buffer.AsMemory(got), Timeout());
            if (r.MessageType == WebSocketMessageType.Close)
                throw new InvalidOperationException($"closed after {got} of {count} bytes ({Encoding.ASCII.GetString(buffer, 0, got)}): {ws.CloseStatus} {ws.CloseStatusDescription}");
            got += r.Count;
        }
        return Encoding.ASCII.GetString(buffer);
    }

    internal static CancellationToken Timeout(int seconds = 10) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;

    private static async Task WaitUntilAsync(Func<bool> condition, string failure)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(10)) Assert.Fail(failure);
            await Task.Delay(20);
        }
    }
}

/// <summary>
/// Tunnels on real QEMU and the linux-busybox guest: the guest's SSH server answers through one, and nothing of the
/// host does (design §10, issue 14 item 5): a port that only the host listens on, and QEMU's VNC port, lead to the
/// guest's own closed ports; the forward QEMU held for the tunnel is gone once it closes.
/// </summary>
[Collection(QemuCollection.Name)]
public sealed class TunnelQemuTests : IDisposable
{
    private readonly TestDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [GuestImageFact]
    public async Task Tunnel_ReachesTheGuestsSshServer_AndNeverAPortOfTheHost()
    {
        await using var agent = new AgentFactory(_dir.Sub("agent"), settings: new Dictionary<string, string?>
        {
            ["images"] = RealQemu.ImagesDirectory,
            ["stop-timeout"] = "30",
        });
        var client = agent.CreateAuthenticatedClient();
        var id = Guid.NewGuid();
        var machine = Path.Combine(agent.DataDirectory, "machines", id.ToString("D"));
        await client.CreateAsync(AgentApi.Blank(id, version: 1, memoryMb: 256, diskMb: 1000) with { Image = "linux-busybox" });
        await client.CommandAsync(id, "start", new MachineCommand(1, 1, new GuestMetadata("tunnelled", [])));

        // The guest boots for a while: until dropbear listens, the tunnel closes without a byte.
        var watch = Stopwatch.StartNew();
        string banner;
        while (true)
        {
            var ws = await TunnelEndpointsTests.ConnectAsync(agent, id, 22);
            Assert.Equal(1, await HostForwardsAsync(machine));
            var (text, closed) = await ReadAllAsync(ws, TimeSpan.FromSeconds(3));
            if (text.StartsWith("SSH-2.0-", StringComparison.Ordinal))
            {
                banner = text;
                await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", TunnelEndpointsTests.Timeout());
                await ReadAllAsync(ws, TimeSpan.FromSeconds(10));
                break;
            }
            Assert.True(closed || text.Length == 0, $"port 22 answered '{text}'");
            if (!closed) ws.Abort();
            // The agent removes the forward once it sees the tunnel end; the next try must find none left.
            await WaitForAsync(async () => await HostForwardsAsync(machine) == 0, "a failed try's forward was not removed");
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(120), "the guest's SSH server never answered through the tunnel");
            await Task.Delay(1000);
        }
        Assert.Contains("dropbear", banner, StringComparison.OrdinalIgnoreCase);
        await WaitForAsync(async () => await HostForwardsAsync(machine) == 0, "the tunnel's forward was not removed");

        // A port only the host listens on: the tunnel leads to the guest's port of that number, which is closed.
        using var hostOnly = new TcpListener(IPAddress.Loopback, 0);
        hostOnly.Start();
        var vncPort = 5900 + System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(machine, "machine.json"))).RootElement.GetProperty("vncDisplay").GetInt32();
        foreach (var port in new[] { ((IPEndPoint)hostOnly.LocalEndpoint).Port, vncPort })
        {
            var ws = await TunnelEndpointsTests.ConnectAsync(agent, id, port);
            var (text, closed) = await ReadAllAsync(ws, TimeSpan.FromSeconds(10));
            Assert.True(closed, $"the tunnel to port {port} stayed open");
            Assert.Equal("", text); // VNC would have greeted with "RFB 003.008"
        }
        Assert.False(hostOnly.Pending(), "the host's own port was reached through the tunnel");
        await WaitForAsync(async () => await HostForwardsAsync(machine) == 0, "a forward outlived its tunnel");
        // No stop: the test directory kills QEMU (a stop would start indexing the disk for migration, racing its removal).
    }

    /// <summary>What arrives until the tunnel closes or <paramref name="quiet"/> passes without a byte.</summary>
    private static async Task<(string Text, bool Closed)> ReadAllAsync(WebSocket ws, TimeSpan quiet)
    {
        var text = new StringBuilder();
        var buffer = new byte[4096];
        while (true)
        {
            using var cts = new CancellationTokenSource(quiet);
            try
            {
                var r = await ws.ReceiveAsync(buffer, cts.Token);
                if (r.MessageType == WebSocketMessageType.Close)
                    return (text.ToString(), true);
                text.Append(Encoding.ASCII.GetString(buffer, 0, r.Count));
                if (text.ToString().Contains('\n')) return (text.ToString(), false);
            }
            catch (Exception e) when (e is OperationCanceledException or WebSocketException)
            {
                return (text.ToString(), ws.State is WebSocketState.Closed or WebSocketState.CloseReceived);
            }
        }
    }

    /// <summary>How many host forwards QEMU's user-mode network holds now (the monitor's <c>info usernet</c>).</summary>
    private static async Task<int> HostForwardsAsync(string machine)
    {
        await using var qmp = await QmpClient.ConnectAsync(Path.Combine(machine, "qmp.sock"), TimeSpan.FromSeconds(10));
        var info = (await qmp.ExecuteAsync("human-monitor-command", new Dictionary<string, object?> { ["command-line"] = "info usernet" })).GetString()!;
        return info.Split('\n').Count(l => l.Contains("HOST_FORWARD", StringComparison.Ordinal));
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string failure)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(10)) Assert.Fail(failure);
            await Task.Delay(100);
        }
    }
}
