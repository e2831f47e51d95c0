using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Virtuoso.Agent.Console;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Migration.Methods.Rsync;

/// <summary>
/// Issue 20 point 1: rsync's own traffic never crosses the network in the clear. The origin's daemon listens on loopback
/// only (<see cref="RsyncDaemons"/>); the destination's rsync connects to a loopback port of its own host, and each such
/// connection is carried in a WebSocket to the origin's transfer route <c>/v1/transfer/{id}/rsync/tunnel</c>, which the
/// origin relays to its daemon. That route sits behind <see cref="Origin.TransferAuthentication"/> like every transfer
/// route: the migration token and, between agents with TLS, HTTPS with the destination's host certificate both ways checked
/// (<see cref="Incoming.OriginClient"/>). The daemon's own password (the token again) stays as a second lock.
/// </summary>
internal static class RsyncTunnel
{
    public const string Route = "tunnel";

    private static readonly TimeSpan Drain = TimeSpan.FromMinutes(2);
    private static readonly BridgeWording OriginWording = new("destination", "rsync tunnel", "the rsync daemon closed the connection", WebSocketCloseStatus.NormalClosure);
    private static readonly BridgeWording DestinationWording = new("origin", "rsync tunnel", "rsync closed the connection", WebSocketCloseStatus.NormalClosure);

    public static string Path(Guid machine) => $"{TransferRoutes.Method(machine, Contracts.Vmmp.VmmpMethods.Rsync)}/{Route}";

    /// <summary>Origin: relays one authenticated WebSocket to the export's daemon on loopback.</summary>
    public static async Task<IResult> ServeAsync(HttpContext http, RsyncDaemons daemons)
    {
        if (http.Items[ExportContext.ItemKey] is not ExportContext export)
            return Results.Problem(detail: "no such export", statusCode: StatusCodes.Status404NotFound);
        if (!http.WebSockets.IsWebSocketRequest)
            return Results.Problem(detail: "the rsync tunnel is a WebSocket: connect with an Upgrade: websocket request", statusCode: StatusCodes.Status400BadRequest,
                extensions: new Dictionary<string, object?> { ["code"] = Contracts.Api.ErrorCodes.Validation });
        if (daemons.PortOf(export.MachineId, export.MachineDirectory) is not { } port)
            return Results.Problem(detail: $"no rsync session for machine {export.MachineId:D}: POST {RsyncMethod.SessionPath(export.MachineId)} first",
                statusCode: StatusCodes.Status409Conflict, extensions: new Dictionary<string, object?> { ["code"] = Contracts.Api.ErrorCodes.InvalidState });
        var daemon = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        try
        {
            await daemon.ConnectAsync(IPAddress.Loopback, port, http.RequestAborted);
        }
        catch (SocketException e)
        {
            daemon.Dispose();
            return Results.Problem(detail: $"the rsync daemon of machine {export.MachineId:D} did not answer: {e.Message}", statusCode: StatusCodes.Status502BadGateway,
                extensions: new Dictionary<string, object?> { ["code"] = Contracts.Api.ErrorCodes.AgentFailed });
        }
        using (daemon)
        using (var socket = await http.WebSockets.AcceptWebSocketAsync())
            await VncBridge.RunAsync(socket, daemon.GetStream(), () => new(WebSocketCloseStatus.NormalClosure, "the rsync tunnel ended"),
                CancellationToken.None, OriginWording, daemon.Client, Drain);
        return Results.Empty;
    }

    /// <summary>
    /// Destination: a loopback port on this host whose connections go through the tunnel to the origin's daemon, for as
    /// long as the returned object lives.
    /// </summary>
    public static Local Open(FetchContext context, ILogger log) => new(context, log);

    internal sealed class Local : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _connections = [];
        private readonly Task _accepting;
        private readonly FetchContext _context;
        private readonly ILogger _log;

        public Local(FetchContext context, ILogger log)
        {
            (_context, _log) = (context, log);
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _accepting = AcceptAsync();
        }

        /// <summary>The loopback port rsync connects to.</summary>
        public int Port { get; }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    return;
                }
                lock (_connections)
                    _connections.Add(CarryAsync(client));
            }
        }

        private async Task CarryAsync(TcpClient client)
        {
            using (client)
            {
                client.NoDelay = true;
                using var socket = new ClientWebSocket();
                socket.Options.SetRequestHeader("Authorization", $"Bearer {_context.Token}");
                var origin = new UriBuilder(new Uri(_context.Origin, Path(_context.MachineId)))
                {
                    Scheme = _context.Origin.Scheme == Uri.UriSchemeHttps ? "wss" : "ws",
                }.Uri;
                try
                {
                    using var connect = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                    connect.CancelAfter(TimeSpan.FromSeconds(RsyncMethod.ConnectTimeoutSeconds));
                    // Through the fetch's own client: the same TLS checks as every transfer call.
                    await socket.ConnectAsync(origin, _context.Http, connect.Token);
                }
                catch (Exception e) when (e is WebSocketException or HttpRequestException or OperationCanceledException)
                {
                    RsyncLog.TunnelFailed(_log, _context.MachineId, e.Message);
                    return; // rsync sees the connection end and says so
                }
                await VncBridge.RunAsync(socket, client.GetStream(), () => new(WebSocketCloseStatus.NormalClosure, "the fetch ended"),
                    _stop.Token, DestinationWording, client.Client, Drain);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting;
            Task[] open;
            lock (_connections)
                open = [.. _connections];
            await Task.WhenAll(open);
            _stop.Dispose();
        }
    }
}
