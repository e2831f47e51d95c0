using System.Net.WebSockets;

namespace Virtuoso.FrontEnd.Console;

/// <summary>
/// Relays one console connection between the browser's WebSocket and the agent's (design §7): every frame as it is
/// (RFB in binary frames), and the close of either side, with its status and reason, to the other ("another viewer
/// opened this machine's console" reaches the page that lost the console). Returns once both sides are closed, or
/// after a few seconds of one side not answering a close (then both are aborted). A tunnel (design §10) is relayed the
/// same way, with its own name in the reasons and longer for the other side's close: after a client's end of input,
/// the guest may still be answering.
/// </summary>
internal static class ConsoleProxy
{
    private const int BufferSize = 64 * 1024;
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    /// <param name="what">What the connection is, for the close reasons: "console", "tunnel".</param>
    /// <param name="otherCloses">How long the other side may take to close once one has; the console's few seconds by default.</param>
    public static async Task RunAsync(WebSocket browser, WebSocket agent, string what = "console", TimeSpan? otherCloses = null)
    {
        var up = PumpAsync(browser, agent, what);
        var down = PumpAsync(agent, browser, what);
        var first = await Task.WhenAny(up, down);
        var other = first == up ? down : up;
        if (await Task.WhenAny(other, Task.Delay(otherCloses ?? CloseTimeout)) != other)
        {
            browser.Abort();
            agent.Abort();
        }
        await Task.WhenAll(up, down);
    }

    /// <summary>Copies frames from <paramref name="from"/> to <paramref name="to"/> until <paramref name="from"/> closes, then closes <paramref name="to"/> alike.</summary>
    private static async Task PumpAsync(WebSocket from, WebSocket to, string what)
    {
        var buffer = new byte[BufferSize];
        try
        {
            while (true)
            {
                var received = await from.ReceiveAsync(buffer, CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    var status = from.CloseStatus is { } s && s != WebSocketCloseStatus.Empty ? s : WebSocketCloseStatus.NormalClosure;
                    await CloseAsync(to, status, from.CloseStatusDescription ?? "");
                    return;
                }
                await to.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, CancellationToken.None);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // One side vanished without a close: end the other, saying so.
            await CloseAsync(to, WebSocketCloseStatus.EndpointUnavailable, $"the other end of the {what} connection went away");
            from.Abort();
        }
    }

    private static async Task CloseAsync(WebSocket socket, WebSocketCloseStatus status, string reason)
    {
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
            return;
        using var timeout = new CancellationTokenSource(CloseTimeout);
        try
        {
            await socket.CloseOutputAsync(status, reason.Length > 120 ? reason[..120] : reason, timeout.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            socket.Abort();
        }
    }
}
