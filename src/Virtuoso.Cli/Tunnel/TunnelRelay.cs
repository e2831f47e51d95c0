using System.Net;
using System.Net.WebSockets;

namespace Virtuoso.Cli.Tunnel;

/// <summary>
/// Carries one tunnel (design §10): bytes read from <c>input</c> become binary frames on the front-end's tunnel
/// WebSocket, frames received become bytes on <c>output</c>. The end of <c>input</c> closes only our side (the guest
/// sees the end of its input and may still answer); the tunnel is over when the far side closes.
/// </summary>
internal static class TunnelRelay
{
    private const int BufferSize = 64 * 1024;
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The stable codes of a tunnel that could not be opened or did not end well.</summary>
    public const string RefusedCode = "tunnel-refused";
    public const string BrokenCode = "tunnel-broken";

    public static async Task<Result<int>> RunAsync(Uri webSocket, Stream input, Stream output, CancellationToken cancellationToken)
    {
        using var ws = new ClientWebSocket();
        ws.Options.CollectHttpResponseDetails = true;
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            deadline.CancelAfter(ConnectTimeout);
            try
            {
                await ws.ConnectAsync(webSocket, deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return new Failure(ExitCode.Unreachable, $"the tunnel's WebSocket at {Display(webSocket)} did not open within {ConnectTimeout.TotalSeconds:0} s", Failure.TimeoutCode);
            }
            catch (Exception e) when (e is WebSocketException or HttpRequestException)
            {
                return ws.HttpStatusCode is var status && status != 0
                    ? new Failure(ExitCode.Refused, $"the server refused the tunnel's WebSocket ({(int)status} {status}): {Why(status)}", RefusedCode)
                    : new Failure(ExitCode.Unreachable, $"cannot open the tunnel's WebSocket at {Display(webSocket)}: {e.Message}", Failure.UnreachableCode);
            }
        }

        var up = UpAsync(input, ws, cancellationToken);
        var down = DownAsync(ws, output, cancellationToken);
        // The far side's close ends the tunnel; our input may still be open (a terminal), and is left behind.
        var failure = await down;
        if (up.IsCompleted && await up is { } upFailure && failure is null)
        {
            failure = upFailure;
        }

        return failure is null ? (int)ExitCode.Success : failure;
    }

    /// <summary>Input → WebSocket, then our close ("end of input"). Null when done well.</summary>
    private static async Task<Failure?> UpAsync(Stream input, ClientWebSocket ws, CancellationToken cancellationToken)
    {
        var buffer = new byte[BufferSize];
        try
        {
            int n;
            while ((n = await input.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await ws.SendAsync(buffer.AsMemory(0, n), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
            }

            if (ws.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "end of input", cancellationToken);
            }

            return null;
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
        {
            // The tunnel closed under us: the other direction says why.
            return ws.State is WebSocketState.Open ? new Failure(ExitCode.Unreachable, $"the tunnel broke: {e.Message}", BrokenCode) : null;
        }
    }

    /// <summary>WebSocket → output until the far side closes. Null when it closed normally.</summary>
    private static async Task<Failure?> DownAsync(ClientWebSocket ws, Stream output, CancellationToken cancellationToken)
    {
        var buffer = new byte[BufferSize];
        try
        {
            while (true)
            {
                var received = await ws.ReceiveAsync(buffer, cancellationToken);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    if (ws.State == WebSocketState.CloseReceived)
                    {
                        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", cancellationToken);
                    }

                    return ws.CloseStatus is WebSocketCloseStatus.NormalClosure or WebSocketCloseStatus.Empty or null
                        ? null
                        : new Failure(ExitCode.Refused, $"the tunnel closed: {ws.CloseStatusDescription} ({ws.CloseStatus})", BrokenCode);
                }

                await output.WriteAsync(buffer.AsMemory(0, received.Count), cancellationToken);
                await output.FlushAsync(cancellationToken);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException)
        {
            return new Failure(ExitCode.Unreachable, $"the tunnel broke: {e.Message}", BrokenCode);
        }
    }

    private static string Why(HttpStatusCode status) => status switch
    {
        HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => "the ticket was not accepted (used already, or expired)",
        HttpStatusCode.NotFound => "no such machine of yours",
        HttpStatusCode.Conflict => "the machine is not running (or moved): start it, then try again",
        HttpStatusCode.BadGateway => "the machine's host could not open the tunnel",
        _ => "see the server's log",
    };

    private static string Display(Uri uri) => uri.GetLeftPart(UriPartial.Path);
}
