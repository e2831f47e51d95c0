using System.Net.Sockets;
using System.Net.WebSockets;

namespace Virtuoso.Agent.Console;

/// <summary>Why a console connection ended, as the WebSocket close frame tells the viewer.</summary>
internal sealed record BridgeEnd(WebSocketCloseStatus Status, string Reason);

/// <summary>How a bridge names its two ends in the close reasons it gives (the console's by default; a tunnel's, design §10).</summary>
/// <param name="Client">Who holds the WebSocket: "viewer".</param>
/// <param name="Connection">What the bridge carries: "console".</param>
/// <param name="ServerClosed">The close reason when the TCP side ends first.</param>
/// <param name="ServerClosedStatus">Its close status: for the console an unexpected end, for a tunnel the normal one.</param>
internal sealed record BridgeWording(string Client, string Connection, string ServerClosed, WebSocketCloseStatus ServerClosedStatus)
{
    public static readonly BridgeWording Console =
        new("viewer", "console", "the machine's VNC server closed the connection", WebSocketCloseStatus.EndpointUnavailable);
}

/// <summary>
/// Carries one console connection: binary WebSocket frames from the viewer become bytes on the VNC server's TCP
/// connection, and bytes from VNC become binary frames back (RFB itself is not interpreted here). It ends when either
/// side closes or <c>end</c> fires (a newer session took over, or the session was ended), and always closes both.
/// A tunnel (design §10) uses the same bridge to a guest's port, with its own <see cref="BridgeWording"/> and a
/// half-close: the client closing its side shuts down only what the guest receives, and what the guest still sends
/// passes until it closes too (or <c>drain</c> has passed).
/// </summary>
internal static class VncBridge
{
    private const int BufferSize = 64 * 1024;
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    /// <param name="halfClose">The TCP side's socket when the client's close should only end the server's input; null: hang up at once.</param>
    /// <param name="drain">With <paramref name="halfClose"/>: how long the server may go on sending after the client's close.</param>
    public static async Task<BridgeEnd> RunAsync(WebSocket viewer, Stream vnc, Func<BridgeEnd> endReason, CancellationToken end,
        BridgeWording? wording = null, Socket? halfClose = null, TimeSpan drain = default)
    {
        var words = wording ?? BridgeWording.Console;
        using var stopDown = CancellationTokenSource.CreateLinkedTokenSource(end);
        var drained = false;
        var up = UpAsync(viewer, vnc, words);
        var down = DownAsync(vnc, viewer,
            () => drained ? new(WebSocketCloseStatus.NormalClosure, $"the {words.Connection} ended: no end from the other side within {drain.TotalSeconds:0} s of the {words.Client}'s") : endReason(),
            words, stopDown.Token);
        var first = await Task.WhenAny(up, down);
        BridgeEnd result;
        if (first == up && halfClose is not null && viewer.State == WebSocketState.CloseReceived)
        {
            // The client's input ended: so does the server's, and what the server still answers reaches the client.
            result = await up;
            try
            {
                halfClose.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // The server went away already; the read below ends at once.
            }
            using (var limit = new CancellationTokenSource(drain))
            using (limit.Token.Register(() => { drained = true; stopDown.Cancel(); }))
                result = await down;
            await vnc.DisposeAsync();
            await CloseOutputAsync(viewer, result);
        }
        else if (first == up)
        {
            // The viewer closed (or vanished): hang up on VNC, which also ends the read of the other direction.
            result = await up;
            await stopDown.CancelAsync();
            await vnc.DisposeAsync();
            await down;
            if (viewer.State == WebSocketState.CloseReceived)
                await CloseOutputAsync(viewer, result);
        }
        else
        {
            // VNC closed, or the session ended: say why to the viewer, and give it a moment to answer the close.
            result = await down;
            await vnc.DisposeAsync();
            await CloseOutputAsync(viewer, result);
            if (await Task.WhenAny(up, Task.Delay(CloseTimeout)) != up)
                viewer.Abort();
            await up;
        }
        return result;
    }

    /// <summary>Viewer → VNC. Returns when the viewer closes, or its connection or the VNC connection fails.</summary>
    private static async Task<BridgeEnd> UpAsync(WebSocket viewer, Stream vnc, BridgeWording words)
    {
        var buffer = new byte[BufferSize];
        try
        {
            while (true)
            {
                var received = await viewer.ReceiveAsync(buffer, CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close)
                    return new(WebSocketCloseStatus.NormalClosure, $"the {words.Client} closed the {words.Connection}");
                await vnc.WriteAsync(buffer.AsMemory(0, received.Count));
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            return new(WebSocketCloseStatus.EndpointUnavailable, $"the {words.Connection} connection failed: {e.Message}");
        }
    }

    /// <summary>VNC → viewer. Returns when VNC closes, or <paramref name="stop"/> fires (then with <paramref name="endReason"/>).</summary>
    private static async Task<BridgeEnd> DownAsync(Stream vnc, WebSocket viewer, Func<BridgeEnd> endReason, BridgeWording words, CancellationToken stop)
    {
        var buffer = new byte[BufferSize];
        try
        {
            while (true)
            {
                var n = await vnc.ReadAsync(buffer, stop);
                if (n == 0)
                    return new(words.ServerClosedStatus, words.ServerClosed);
                // Not cancelled by stop: a cancelled send aborts the WebSocket, and the close frame saying why could not follow.
                await viewer.SendAsync(buffer.AsMemory(0, n), WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return endReason();
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
        {
            return stop.IsCancellationRequested
                ? endReason()
                : new(WebSocketCloseStatus.EndpointUnavailable, $"the {words.Connection} connection failed: {e.Message}");
        }
    }

    private static async Task CloseOutputAsync(WebSocket viewer, BridgeEnd end)
    {
        if (viewer.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
            return;
        using var timeout = new CancellationTokenSource(CloseTimeout);
        try
        {
            // A close reason may be at most 123 bytes.
            var reason = end.Reason.Length > 120 ? end.Reason[..120] : end.Reason;
            await viewer.CloseOutputAsync(end.Status, reason, timeout.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            viewer.Abort();
        }
    }
}
