using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Vmmp;
using Virtuoso.FrontEnd.Hosts;
using Virtuoso.Core.Migration;

namespace Virtuoso.FrontEnd.Migration;

/// <summary>Where this replica's VMMP listener is reached (CENTRAL_IP:CENTRAL_PORT of the REQs it sends), once it listens.</summary>
internal sealed class CentralAddress
{
    private (IPAddress Ip, int Port)? _value;

    public void Set(IPAddress ip, int port) => _value = (ip, port);

    public (IPAddress Ip, int Port) Get() => _value ?? throw new InvalidOperationException("the VMMP listener is not listening yet");

    /// <summary>The bound end point (tests connect to it).</summary>
    public IPEndPoint? Bound { get; set; }
}

/// <summary>
/// The front-end's VMMP 1.0 listener (design §6.1–§6.2): destination agents connect to it and send HEARTBEAT while they
/// copy, and RESP at the end. Issue 20: each message must follow an AUTH line proving it with the secret of the host its
/// machine's open migration goes to (<see cref="VmmpAuth"/>, <see cref="MigrationService.DestinationAsync"/>), so a
/// heartbeat counts only when the destination sent it. Anything else — a message that proves nothing, a malformed line, an
/// overlong one, another message, a silent peer — ends that connection and changes nothing; the listener itself never
/// stops for a peer. Even a proven RESP is only a hint: the service commits on RESP SUCCESS, or reverts on RESP FAIL, only
/// as far as the destination's API bears it out.
/// <para>Limits (issue 20): <see cref="MigrationOptions.VmmpMaxConnections"/> in all and <see cref="MigrationOptions.VmmpMaxPerPeer"/>
/// per address, a newcomer evicting the oldest connection not yet proven (<see cref="VmmpAdmission"/>); the first line
/// within <see cref="MigrationOptions.VmmpFirstLineTimeout"/>. A proven connection lives as long as its copy (hours for a
/// large disk) as long as it sends something every <see cref="IdleTimeout"/>.</para>
/// <para>Issue 20 point 1: a connection that opens with a TLS handshake is served over TLS with this replica's certificate
/// (<see cref="HostTls.VmmpListener"/>) and must show a host's certificate of the marketplace; each of its lines then counts
/// only when that host is the migration's destination (and its AUTH line holds). A cleartext connection is taken only for a
/// destination that does not speak TLS (<see cref="HostTls.For"/>). The handshake counts against the first-line timeout.</para>
/// </summary>
internal sealed partial class VmmpListener(MigrationService migrations, CentralAddress central, IOptions<MigrationOptions> options, HostTls tls, ILogger<VmmpListener> log)
    : BackgroundService
{
    /// <summary>A proven connection silent this long is closed (heartbeats come every few seconds).</summary>
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(60);
    private TcpListener? _listener;
    private VmmpSlots? _slots;

    public override Task StartAsync(CancellationToken ct)
    {
        // Bind before the host reports started, so the first migration finds the port.
        var endpoint = MigrationOptions.ParseEndPoint(options.Value.VmmpListen);
        if (options.Value.VmmpLimits.Check() is { } badLimits)
            throw new InvalidOperationException($"Virtuoso:VmmpMaxConnections / VmmpMaxPerPeer: {badLimits}");
        _slots = new VmmpSlots(options.Value.VmmpLimits);
        _listener = new TcpListener(endpoint);
        _listener.Start();
        var bound = (IPEndPoint)_listener.LocalEndpoint;
        var advertise = options.Value.VmmpAdvertise is { Length: > 0 } a ? IPAddress.Parse(a)
            : bound.Address.Equals(IPAddress.Any) || bound.Address.Equals(IPAddress.IPv6Any) ? IPAddress.Loopback : bound.Address;
        central.Bound = bound;
        central.Set(advertise, bound.Port);
        LogListening(log, bound.ToString(), advertise.ToString());
        return base.StartAsync(ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        var listener = _listener!;
        using var stopping = stop.Register(listener.Stop);
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(stop); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || stop.IsCancellationRequested) { return; }
            catch (SocketException e) { LogAcceptFailed(log, e); continue; }
            var address = client.Client.RemoteEndPoint is IPEndPoint ep ? (ep.Address.IsIPv4MappedToIPv6 ? ep.Address.MapToIPv4() : ep.Address).ToString() : "?";
            if (_slots!.TryAdmit(address) is not { } slot)
            {
                LogDropped(log, address, "every connection slot in its way is held by a proven destination");
                client.Dispose();
                continue;
            }
            _ = Task.Run(async () =>
            {
                using (slot) await ServeAsync(client, slot, stop);
            }, CancellationToken.None);
        }
    }

    private async Task ServeAsync(TcpClient client, VmmpSlots.Slot slot, CancellationToken stop)
    {
        var peer = client.Client.RemoteEndPoint?.ToString() ?? "?";
        using (client)
        {
            Stream? stream = null;
            try
            {
                using var life = CancellationTokenSource.CreateLinkedTokenSource(stop, slot.Evicted);
                // The TLS handshake (if any) and the first line share one deadline.
                using var firstLine = CancellationTokenSource.CreateLinkedTokenSource(life.Token);
                firstLine.CancelAfter(options.Value.VmmpFirstLineTimeout);
                stream = client.GetStream();
                MarketIdentity? peerIdentity = null;
                var first = new byte[1];
                if (await client.Client.ReceiveAsync(first, SocketFlags.Peek, firstLine.Token) == 1 && MarketTls.IsHandshake(first[0]))
                {
                    var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                    stream = ssl;
                    try { await ssl.AuthenticateAsServerAsync(tls.VmmpListener(), firstLine.Token); }
                    catch (AuthenticationException e)
                    {
                        LogRefused(log, peer, $"TLS refused (a host's certificate of the marketplace is required): {e.Message}");
                        return;
                    }
                    peerIdentity = tls.IdentityOf(ssl);
                }
                while (true)
                {
                    using var idle = CancellationTokenSource.CreateLinkedTokenSource(slot.Proven ? life.Token : firstLine.Token);
                    if (slot.Proven) idle.CancelAfter(IdleTimeout);
                    var line = await VmmpWire.ReadLineAsync(stream, idle.Token);
                    if (line is null) return;
                    byte[]? proof = null;
                    if (VmmpAuth.IsAuthLine(line))
                    {
                        proof = VmmpAuth.ParseProof(line);
                        line = await VmmpWire.ReadLineAsync(stream, idle.Token);
                        if (line is null) { LogRefused(log, peer, "an AUTH line without the line it proves"); return; }
                    }
                    var parsed = VmmpWire.Parse(line);
                    if (parsed.Message is VmmpHeartbeat or VmmpResp)
                    {
                        var machine = parsed.Message.MachineId;
                        // No open migration: nothing to prove against, and nothing a line could change.
                        HostRow? destination;
                        try { destination = await migrations.DestinationAsync(machine); }
                        catch (System.Data.Common.DbException e)
                        {
                            // As for a heartbeat the database cannot take: the copy goes on, the next line is checked.
                            LogNotRecorded(log, peer, parsed.Message is VmmpResp ? "RESP" : "HEARTBEAT", machine, e.Message);
                            continue;
                        }
                        if (destination is null)
                        {
                            LogNoMigration(log, peer, parsed.Message is VmmpResp ? "RESP" : "HEARTBEAT", machine);
                            return;
                        }
                        // Issue 20 point 1: over TLS only the destination's certificate; in cleartext only a destination without TLS.
                        if (peerIdentity is null ? tls.For(destination) : peerIdentity != MarketIdentity.Host(destination.Name))
                        {
                            LogRefused(log, peer, $"{(parsed.Message is VmmpResp ? "RESP" : "HEARTBEAT")} for machine {machine} " +
                                (peerIdentity is null ? $"in cleartext: its destination {destination.Name} speaks TLS" : $"from {peerIdentity}, not its destination {destination.Name}"));
                            return;
                        }
                        if (proof is null || !VmmpAuth.Verify(destination.Secret, line, proof))
                        {
                            LogRefused(log, peer, $"{(parsed.Message is VmmpResp ? "RESP" : "HEARTBEAT")} for machine {machine} " +
                                (proof is null ? "without an AUTH line" : "not proven by its destination's secret"));
                            return;
                        }
                        slot.MarkProven();
                    }
                    switch (parsed.Message)
                    {
                        case VmmpHeartbeat h:
                            // A heartbeat the database cannot take now (locked, failing over) is not the peer's fault: the
                            // copy goes on, and the next one is recorded (or the monitor's timeout decides, as for silence).
                            try
                            {
                                if (!await migrations.HeartbeatAsync(h.MachineId)) LogNoMigration(log, peer, "HEARTBEAT", h.MachineId);
                            }
                            catch (System.Data.Common.DbException e)
                            {
                                LogNotRecorded(log, peer, "HEARTBEAT", h.MachineId, e.Message);
                            }
                            break;
                        case VmmpResp r:
                            LogResp(log, peer, r.MachineId, r.Version, r.Success);
                            if (!await migrations.RespAsync(r, peer, stop)) LogNoMigration(log, peer, "RESP", r.MachineId);
                            break;
                        case null:
                            LogRefused(log, peer, parsed.Error!);
                            return;
                        default:
                            LogRefused(log, peer, $"{parsed.Message.GetType().Name} is not for the front-end");
                            return;
                    }
                }
            }
            catch (Exception e) when (e is IOException or InvalidDataException or SocketException or OperationCanceledException)
            {
                LogDropped(log, peer, slot.WasEvicted ? "evicted: a newer connection needed the slot, and this one had proven nothing" : e.Message);
            }
            catch (Exception e) when (!stop.IsCancellationRequested)
            {
                // A bug handling one peer must not take the listener down; the monitor picks the migration up again.
                LogFailed(log, peer, e);
            }
            finally
            {
                if (stream is SslStream ssl) await ssl.DisposeAsync();
            }
        }
    }

    public override async Task StopAsync(CancellationToken ct)
    {
        _listener?.Stop();
        await base.StopAsync(ct);
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "VMMP listener on {EndPoint}, advertised as {Advertise}")]
    private static partial void LogListening(ILogger logger, string endPoint, string advertise);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "VMMP listener: accept failed")]
    private static partial void LogAcceptFailed(ILogger logger, Exception e);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "VMMP from {Peer} refused and connection closed: {Reason}")]
    private static partial void LogRefused(ILogger logger, string peer, string reason);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Information, Message = "VMMP {Kind} from {Peer} for machine {Machine}, which has no open migration: ignored")]
    private static partial void LogNoMigration(ILogger logger, string peer, string kind, Guid machine);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Information, Message = "VMMP RESP from {Peer}: machine {Machine} version {Version} success {Success}")]
    private static partial void LogResp(ILogger logger, string peer, Guid machine, long version, bool success);

    [LoggerMessage(EventId = 4106, Level = LogLevel.Debug, Message = "VMMP connection from {Peer} dropped: {Reason}")]
    private static partial void LogDropped(ILogger logger, string peer, string reason);

    [LoggerMessage(EventId = 4107, Level = LogLevel.Error, Message = "VMMP connection from {Peer} failed")]
    private static partial void LogFailed(ILogger logger, string peer, Exception e);

    [LoggerMessage(EventId = 4108, Level = LogLevel.Warning, Message = "VMMP {Kind} from {Peer} for machine {Machine} not recorded, connection kept: {Reason}")]
    private static partial void LogNotRecorded(ILogger logger, string peer, string kind, Guid machine, string reason);
}

/// <summary>
/// Drives migrations nobody else is driving (design §6.2 step 5): at startup (recovery after a crash: open records are
/// completed or reverted, committed ones finished) and then periodically (heartbeat timeouts, RESPs whose handling was
/// cut short, activations to repeat). Safe on every replica at once: each step claims its record in a transaction.
/// </summary>
internal sealed partial class MigrationMonitor(MigrationService migrations, TimeProvider clock, IOptions<MigrationOptions> options, ILogger<MigrationMonitor> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        var interval = TimeSpan.FromSeconds(options.Value.MigrationCheckIntervalSeconds);
        while (!stop.IsCancellationRequested)
        {
            try { await migrations.DriveDueAsync(stop); }
            catch (Exception e) when (e is not OperationCanceledException) { LogPassFailed(log, e); }
            try { await Task.Delay(interval, clock, stop); }
            catch (OperationCanceledException) { return; }
        }
    }

    [LoggerMessage(EventId = 4201, Level = LogLevel.Warning, Message = "Migration monitor pass failed; the next pass retries")]
    private static partial void LogPassFailed(ILogger logger, Exception e);
}
