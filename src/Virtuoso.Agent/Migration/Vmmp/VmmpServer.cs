using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Virtuoso.Agent.Events;
using Virtuoso.Agent.Migration.Incoming;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.Agent.Migration.Vmmp;

/// <summary>
/// The agent's VMMP 1.0 listener (design §6.1, report §7.2.1), on the control API's IP at <c>--vmmp-port</c>.
/// QUERY gets RESULTS with this host's methods; a REQ that matches an announced migration closes the connection and
/// starts the fetch, any other REQ gets RESP FAIL. A line that is not VMMP 1.0 gets RESP FAIL when it names a machine,
/// else the connection is closed. Nothing a peer sends can change anything but an announced migration.
/// </summary>
internal sealed class VmmpServer(IncomingMigrations incoming, AgentOptions options, EventLog events, ILogger<VmmpServer> log) : IHostedService
{
    /// <summary>A peer that sends nothing for this long is disconnected.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(30);
    public const int MaxConnections = 32;

    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _slots = new(MaxConnections, MaxConnections);
    private TcpListener? _listener;
    private Task _accepting = Task.CompletedTask;

    /// <summary>The port actually listened on (the chosen one when <c>--vmmp-port 0</c>), once started.</summary>
    public int? Port { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var listener = new TcpListener(options.ListenAddress, options.VmmpPort);
        try
        {
            listener.Start();
        }
        catch (SocketException e)
        {
            throw new InvalidOperationException($"cannot listen for VMMP on {options.ListenAddress}:{options.VmmpPort}: {e.Message} (choose another --vmmp-port)", e);
        }
        _listener = listener;
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        MigrationLog.VmmpListening(log, options.ListenAddress.ToString(), Port.Value, string.Join(' ', incoming.MethodNames));
        _accepting = AcceptAsync(listener, _stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        _listener?.Stop();
        await _accepting;
    }

    private async Task AcceptAsync(TcpListener listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(ct);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException && ct.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                MigrationLog.VmmpClosed(log, "(accept)", e.Message);
                continue;
            }
            if (!_slots.Wait(0))
            {
                MigrationLog.VmmpClosed(log, Remote(client), $"more than {MaxConnections} connections");
                client.Dispose();
                continue;
            }
            _ = Task.Run(async () =>
            {
                try
                {
                    await ServeAsync(client, ct);
                }
                finally
                {
                    client.Dispose();
                    _slots.Release();
                }
            }, CancellationToken.None);
        }
    }

    private async Task ServeAsync(TcpClient client, CancellationToken ct)
    {
        var remote = Remote(client);
        var stream = client.GetStream();
        try
        {
            while (true)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
                idle.CancelAfter(IdleTimeout);
                var line = await VmmpWire.ReadLineAsync(stream, idle.Token);
                if (line is null)
                    return;
                var (reply, close) = Answer(line);
                MigrationLog.VmmpMessage(log, remote, Printable(line), reply is null ? "closed" : VmmpWire.Format(reply));
                if (reply is not null)
                    await stream.WriteAsync(VmmpWire.Encode(reply), idle.Token);
                if (close)
                    return;
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException or SocketException or OperationCanceledException)
        {
            MigrationLog.VmmpClosed(log, remote, e is OperationCanceledException ? $"idle for {IdleTimeout.TotalSeconds} s" : e.Message);
        }
    }

    /// <summary>What to answer to one line, and whether to close the connection after it.</summary>
    private (VmmpMessage? Reply, bool Close) Answer(string line)
    {
        var parsed = VmmpWire.Parse(line);
        switch (parsed.Message)
        {
            case null:
                var fail = MigrationDecisions.FailFor(line, incoming.AnnouncedVersion);
                events.Append("vmmp", fail?.MachineId, detail: $"refused a malformed line: {parsed.Error}");
                return (fail, true);
            case VmmpQuery query:
                events.Append("vmmp", query.MachineId, detail: "QUERY");
                return (new VmmpResults(query.MachineId, incoming.MethodNames), false);
            case VmmpReq req:
                var why = incoming.TryStart(req);
                events.Append("vmmp", req.MachineId, version: req.Version,
                    detail: why is null ? $"REQ by {req.Method} from {req.OrigIp}:{req.OrigPort} accepted" : $"REQ refused: {why}");
                return why is null ? (null, true) : (new VmmpResp(req.MachineId, req.Version, false), true);
            default:
                // HEARTBEAT, RESP and RESULTS go to the front-end, never to an agent.
                var version = parsed.Message is VmmpResp r ? r.Version : incoming.AnnouncedVersion(parsed.Message.MachineId) ?? 0;
                events.Append("vmmp", parsed.Message.MachineId, detail: $"refused {parsed.Message.GetType().Name[4..].ToUpperInvariant()}: not for an agent");
                return (new VmmpResp(parsed.Message.MachineId, version, false), true);
        }
    }

    private static string Remote(TcpClient client) => client.Client.RemoteEndPoint?.ToString() ?? "?";

    // Logs stay one line of printable text whatever a peer sends.
    private static string Printable(string line) =>
        new(line.Take(120).Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray());
}
