using System.Net.WebSockets;

namespace Virtuoso.Agent.Console;

/// <summary>Why a console connection ended, as the WebSocket close frame tells the viewer.</summary>
internal sealed record BridgeEnd(WebSocketCloseStatus Status, string Reason);

/// <summary>
/// Carries one console connection: binary WebSocket frames from the viewer become bytes on the VNC server's TCP
/// connection, and bytes from VNC become binary frames back (RFB itself is not interpreted here). It ends when either
/// side closes or <c>end</c> fires (a newer session took over, or the session was ended), and always closes both.
/// </summary>
internal static class VncBridge
{
    private const int BufferSize = 64 * 1024;
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    public static async Task<BridgeEnd> RunAsync(WebSocket viewer, Stream vnc, Func<BridgeEnd> endReason, CancellationToken end)
    {
        using var stopDown = CancellationTokenSource.CreateLinkedTokenSource(end);
        var up = UpAsync(viewer, vnc);
        var down = DownAsync(vnc, viewer, endReason, stopDown.Token);
        var first = await Task.WhenAny(up, down);
        BridgeEnd result;
        if (first == up)
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
    private static async Task<BridgeEnd> UpAsync(WebSocket viewer, Stream vnc)
    {
        var buffer = new byte[BufferSize];
        try
        {
            while (true)
            {
                var received = await viewer.ReceiveAsync(buffer, CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close)
                    return new(WebSocketCloseStatus.NormalClosure, "the viewer closed the console");
                await vnc.WriteAsync(buffer.AsMemory(0, received.Count));
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            return new(WebSocketCloseStatus.EndpointUnavailable, $"the console connection failed: {e.Message}");
        }
    }

    /// <summary>VNC → viewer. Returns when VNC closes, or <paramref name="stop"/> fires (then with <paramref name="endReason"/>).</summary>
    private static async Task<BridgeEnd> DownAsync(Stream vnc, WebSocket viewer, Func<BridgeEnd> endReason, CancellationToken stop)
    {
        var buffer = new byte[BufferSize];
        try
        {
            while (true)
            {
                var n = await vnc.ReadAsync(buffer, stop);
                if (n == 0)
                    return new(WebSocketCloseStatus.EndpointUnavailable, "the machine's VNC server closed the connection");
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
                : new(WebSocketCloseStatus.EndpointUnavailable, $"the console connection failed: {e.Message}");
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
