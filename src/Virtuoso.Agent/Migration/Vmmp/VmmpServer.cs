using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Virtuoso.Agent.Events;
using Virtuoso.Agent.Migration.Incoming;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Vmmp;
using Virtuoso.Core.Migration;

namespace Virtuoso.Agent.Migration.Vmmp;

/// <summary>
/// The agent's VMMP 1.0 listener (design §6.1, report §7.2.1), on the control API's IP at <c>--vmmp-port</c>.
/// Issue 20: a message counts only after an AUTH line that proves it (<see cref="VmmpAuth"/>): keyed by the host secret
/// (the front-end) for QUERY and REQ, or by the token of a migration of that machine announced here (a peer) for QUERY.
/// An authenticated QUERY gets RESULTS with this host's methods; an authenticated REQ that matches an announced migration
/// closes the connection and starts the fetch, any other REQ gets RESP FAIL. A message that proves nothing, or a line that
/// is not VMMP 1.0, gets RESP FAIL when it names a machine, else the connection is closed; either way the connection ends.
/// Nothing a peer sends can change anything but an announced migration.
/// <para>Limits (issue 20): <see cref="AgentOptions.VmmpMaxConnections"/> in all and <see cref="AgentOptions.VmmpMaxPerPeer"/>
/// per address, a newcomer evicting the oldest connection not yet proven (<see cref="VmmpAdmission"/>); the first line
/// within <see cref="AgentOptions.VmmpFirstLineTimeout"/>; no connection older than
/// <see cref="AgentOptions.VmmpConnectionLifetime"/>; at most <see cref="AgentOptions.VmmpLogRefusalsPerMinute"/> refusals
/// per address and minute written to <c>events.log</c> and the log (<see cref="RefusalThrottle"/>).</para>
/// <para>Issue 20 point 1: with <see cref="AgentOptions.Tls"/>, the listener speaks only TLS and only to a client showing
/// the front-end's certificate of the marketplace's authority (a peer host's certificate is refused too); the TLS
/// handshake counts against the first-line timeout.</para>
/// </summary>
internal sealed class VmmpServer(IncomingMigrations incoming, AgentOptions options, EventLog events, TimeProvider time, ILogger<VmmpServer> log)
    : IHostedService
{
    /// <summary>A proven peer that sends nothing for this long is disconnected.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(30);
    /// <summary>The longest detail a refusal writes to <c>events.log</c>.</summary>
    private const int MaxDetail = 160;

    private readonly CancellationTokenSource _stopping = new();
    private readonly VmmpSlots _slots = new(options.VmmpLimits);
    private readonly RefusalThrottle _throttle = new(options.VmmpLogRefusalsPerMinute);
    private readonly Lock _throttleGate = new();
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
            var address = AddressOf(client);
            if (_slots.TryAdmit(address) is not { } slot)
            {
                Refused(address, Remote(client), null, $"all {options.VmmpMaxConnections} connections (or {options.VmmpMaxPerPeer} from this address) are proven peers'");
                client.Dispose();
                continue;
            }
            _ = Task.Run(async () =>
            {
                try
                {
                    await ServeAsync(client, slot, ct);
                }
                finally
                {
                    client.Dispose();
                    slot.Dispose();
                }
            }, CancellationToken.None);
        }
    }

    private async Task ServeAsync(TcpClient client, VmmpSlots.Slot slot, CancellationToken ct)
    {
        var remote = Remote(client);
        Stream stream = client.GetStream();
        using var life = CancellationTokenSource.CreateLinkedTokenSource(ct, slot.Evicted);
        life.CancelAfter(options.VmmpConnectionLifetime);
        // The TLS handshake and the first line share one deadline: a handshake that never ends holds no slot for longer.
        using var firstLine = CancellationTokenSource.CreateLinkedTokenSource(life.Token);
        firstLine.CancelAfter(options.VmmpFirstLineTimeout);
        var started = time.GetTimestamp();
        try
        {
            if (options.Tls is { } tls)
            {
                // Issue 20 point 1: only the front-end's certificate opens this listener; the AUTH lines stay as well.
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                try
                {
                    await ssl.AuthenticateAsServerAsync(MarketTls.Server(tls.Certificate, tls.Authority, id => id == MarketIdentity.FrontEnd, time), firstLine.Token);
                }
                catch (AuthenticationException e)
                {
                    Refused(slot.Peer, remote, null, $"TLS refused (the front-end's certificate is required): {e.Message}");
                    return;
                }
            }
            while (true)
            {
                using var read = CancellationTokenSource.CreateLinkedTokenSource(slot.Proven ? life.Token : firstLine.Token);
                if (slot.Proven)
                    read.CancelAfter(IdleTimeout);
                var line = await VmmpWire.ReadLineAsync(stream, read.Token);
                if (line is null)
                    return;
                byte[]? proof = null;
                if (VmmpAuth.IsAuthLine(line))
                {
                    // The AUTH line and the line it proves are one first line: both within the same deadline.
                    proof = VmmpAuth.ParseProof(line);
                    line = await VmmpWire.ReadLineAsync(stream, read.Token);
                    if (line is null)
                    {
                        Refused(slot.Peer, remote, null, "an AUTH line without the line it proves");
                        return;
                    }
                }
                var parsed = VmmpWire.Parse(line);
                var proven = proof is not null && parsed.Message is { } m && Proves(m, line, proof);
                if (proven)
                    slot.MarkProven();
                var (reply, close) = proven ? Answer(remote, line, parsed) : Refuse(slot.Peer, remote, line, parsed, proof is not null);
                if (reply is not null)
                    await stream.WriteAsync(VmmpWire.Encode(reply), read.Token);
                if (close)
                    return;
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException or SocketException or OperationCanceledException)
        {
            var reason = e is not OperationCanceledException ? e.Message
                : slot.WasEvicted ? "evicted: a newer connection needed the slot, and this one had proven nothing"
                : time.GetElapsedTime(started) >= options.VmmpConnectionLifetime ? $"open for {options.VmmpConnectionLifetime.TotalSeconds} s, the longest a connection may live"
                : slot.Proven ? $"idle for {IdleTimeout.TotalSeconds} s"
                : $"no line within {options.VmmpFirstLineTimeout.TotalSeconds} s";
            if (slot.Proven)
                MigrationLog.VmmpClosed(log, remote, reason);
            else if (!ct.IsCancellationRequested)
                Refused(slot.Peer, remote, null, reason);
        }
    }

    /// <summary>Whether the AUTH proof is by the host secret (any message) or, for a QUERY, by the token of that machine's migration here.</summary>
    private bool Proves(VmmpMessage message, string line, byte[] proof) =>
        VmmpAuth.Verify(options.Secret, line, proof)
        || message is VmmpQuery && incoming.TokenOf(message.MachineId) is { } token && VmmpAuth.Verify(token, line, proof);

    /// <summary>What to answer to one proven line, and whether to close the connection after it.</summary>
    private (VmmpMessage? Reply, bool Close) Answer(string remote, string line, VmmpParse parsed)
    {
        (VmmpMessage? Reply, bool Close) answer;
        switch (parsed.Message)
        {
            case VmmpQuery query:
                events.Append("vmmp", query.MachineId, detail: "QUERY");
                answer = (new VmmpResults(query.MachineId, incoming.MethodNames), false);
                break;
            case VmmpReq req:
                var why = incoming.TryStart(req);
                events.Append("vmmp", req.MachineId, version: req.Version,
                    detail: why is null ? $"REQ by {req.Method} from {req.OrigIp}:{req.OrigPort} accepted" : $"REQ refused: {why}");
                answer = why is null ? (null, true) : (new VmmpResp(req.MachineId, req.Version, false), true);
                break;
            default:
                // HEARTBEAT, RESP and RESULTS go to the front-end, never to an agent.
                var message = parsed.Message!;
                var version = message is VmmpResp r ? r.Version : incoming.AnnouncedVersion(message.MachineId) ?? 0;
                events.Append("vmmp", message.MachineId, detail: $"refused {Kind(message)}: not for an agent");
                answer = (new VmmpResp(message.MachineId, version, false), true);
                break;
        }
        MigrationLog.VmmpMessage(log, remote, Printable(line), answer.Reply is null ? "closed" : VmmpWire.Format(answer.Reply));
        return answer;
    }

    /// <summary>
    /// A line that proves nothing: RESP FAIL if it names a machine (with the version it names, else 0: a stranger does not
    /// learn which machines are expected here), else nothing; the connection closes. Written down within the peer's budget.
    /// </summary>
    private (VmmpMessage? Reply, bool Close) Refuse(string peer, string remote, string line, VmmpParse parsed, bool hadProof)
    {
        VmmpMessage? fail;
        string why;
        if (parsed.Message is { } message)
        {
            fail = new VmmpResp(message.MachineId, message switch { VmmpReq q => q.Version, VmmpResp r => r.Version, _ => 0 }, false);
            why = $"refused {Kind(message)}: " + (hadProof ? "its AUTH line does not prove it" : "no AUTH line proves it");
        }
        else
        {
            fail = MigrationDecisions.FailFor(line, _ => null);
            why = $"refused a malformed line: {parsed.Error}";
        }
        Refused(peer, remote, fail?.MachineId, why, Printable(line), fail);
        return (fail, true);
    }

    /// <summary>Writes one refusal to events.log and the log, unless this peer address has used up its budget this minute.</summary>
    private void Refused(string peer, string remote, Guid? machine, string why, string? line = null, VmmpMessage? reply = null)
    {
        RefusalThrottle.Decision decision;
        lock (_throttleGate)
            decision = _throttle.Decide(peer, time.GetUtcNow());
        if (decision.SuppressedBefore > 0)
        {
            var summary = $"{decision.SuppressedBefore} more refusals from {decision.Peer} in the last minute were not written";
            events.Append("vmmp", detail: summary);
            MigrationLog.VmmpClosed(log, decision.Peer, summary);
        }
        if (!decision.Write)
            return;
        var detail = why.Length > MaxDetail ? why[..MaxDetail] + "…" : why;
        events.Append("vmmp", machine, detail: $"{detail} (from {peer})");
        if (line is not null)
            MigrationLog.VmmpMessage(log, remote, line, reply is null ? "closed" : VmmpWire.Format(reply));
        MigrationLog.VmmpClosed(log, remote, detail);
    }

    private static string Kind(VmmpMessage message) => message.GetType().Name[4..].ToUpperInvariant();

    private static string Remote(TcpClient client) => client.Client.RemoteEndPoint?.ToString() ?? "?";

    private static string AddressOf(TcpClient client) =>
        client.Client.RemoteEndPoint is IPEndPoint ep ? (ep.Address.IsIPv4MappedToIPv6 ? ep.Address.MapToIPv4() : ep.Address).ToString() : "?";

    // Logs stay one line of printable text whatever a peer sends.
    private static string Printable(string line) =>
        new(line.Take(120).Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray());
}
