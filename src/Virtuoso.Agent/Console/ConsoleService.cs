using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Virtuoso.Agent.Events;
using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Vmm;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Agent.Console;

/// <summary>
/// Console sessions of running machines (design §7; report §6.2.4 "VNC control", §6.1.8). Opening one gives QEMU's
/// VNC server (loopback only) a fresh random password that admits new connections for
/// <see cref="AgentOptions.ConsoleWindow"/>, and replaces the machine's previous session, closing its connection
/// (§6.1.8: the report disconnects the machine from any VNC session before connecting the new viewer). Ending a
/// session closes its connection and gives VNC a password nobody knows, so the session's password is spent.
/// Sessions live in memory: after an agent restart the old ones are gone, and so are their connections.
/// </summary>
internal sealed class ConsoleService(MachineService machines, IVmm vmm, EventLog events, AgentOptions options, TimeProvider clock, ILogger<ConsoleService> log)
{
    private const string PasswordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    private static readonly TimeSpan VncConnectTimeout = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<Guid, Session> _sessions = new();

    /// <summary>One console session; at most one per machine is current.</summary>
    private sealed class Session(string id, int vncDisplay, DateTimeOffset expiresAt) : IDisposable
    {
        private int _claimed;
        private BridgeEnd _why = new(WebSocketCloseStatus.NormalClosure, "the console session ended");

        public string Id { get; } = id;
        public int VncDisplay { get; } = vncDisplay;
        public DateTimeOffset ExpiresAt { get; } = expiresAt;
        public CancellationTokenSource Ended { get; } = new();
        public BridgeEnd Why => _why;

        /// <summary>True the first time only: a session carries one connection.</summary>
        public bool Claim() => Interlocked.Exchange(ref _claimed, 1) == 0;

        public void End(BridgeEnd why)
        {
            _why = why;
            Ended.Cancel();
        }

        public void Dispose() => Ended.Dispose();
    }

    public Task<Outcome<AgentConsoleSession>> OpenAsync(Guid id, CancellationToken ct) =>
        machines.WithRunningAsync<AgentConsoleSession>(id, "open a console of", async (record, dir) =>
        {
            var password = RandomNumberGenerator.GetString(PasswordAlphabet, 8);
            try
            {
                await vmm.SetVncPasswordAsync(dir, password, options.ConsoleWindow);
            }
            catch (VmmException e)
            {
                ConsoleLog.Failed(log, id, e.Message);
                return AgentError.Failed($"setting the VNC password of machine {id:D} failed: {e.Message}");
            }
            var session = new Session(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), record.VncDisplay!.Value,
                clock.GetUtcNow() + options.ConsoleWindow);
            // Under the machine's lock: no other open or end of this machine's console runs meanwhile.
            if (_sessions.TryGetValue(id, out var previous))
                previous.End(new(WebSocketCloseStatus.PolicyViolation, "another viewer opened this machine's console"));
            _sessions[id] = session;
            ConsoleLog.Opened(log, id, session.Id, previous?.Id);
            events.Append("console-opened", id, detail: previous is null ? null : "took over from the previous viewer");
            return new AgentConsoleSession(session.Id, password, session.ExpiresAt);
        }, ct);

    /// <summary>
    /// Carries the session's one connection: the viewer's WebSocket, bridged to the machine's VNC server. Refused
    /// (before the WebSocket is accepted) when the session is not the machine's current one, was used already, or
    /// is past its window, and when the machine no longer runs on the display the session was opened for.
    /// </summary>
    public async Task<Outcome<Func<WebSocket, Task>>> ConnectAsync(Guid id, string sessionId, CancellationToken ct)
    {
        if (Current(id, sessionId) is not { } session)
            return NoSession(id);
        if (clock.GetUtcNow() > session.ExpiresAt)
            return AgentError.Conflict($"console session of machine {id:D} expired at {session.ExpiresAt:O}; open a new one");
        var running = await machines.WithRunningAsync<bool>(id, "connect to the console of",
            (record, _) => Task.FromResult<Outcome<bool>>(record.VncDisplay == session.VncDisplay), ct);
        if (running.Error is { } notRunning)
            return notRunning;
        if (!running.Value)
            return AgentError.Conflict($"machine {id:D} restarted since its console session opened; open a new one");
        if (!session.Claim())
            return AgentError.Conflict($"console session of machine {id:D} is connected already; open a new one");

        var vnc = new TcpClient();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(VncConnectTimeout);
            await vnc.ConnectAsync("127.0.0.1", 5900 + session.VncDisplay, timeout.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            vnc.Dispose();
            ConsoleLog.Failed(log, id, e.Message);
            return AgentError.Failed($"connecting to the VNC server of machine {id:D} on 127.0.0.1:{5900 + session.VncDisplay} failed: {e.Message}");
        }
        vnc.NoDelay = true;
        return (Func<WebSocket, Task>)(async viewer =>
        {
            using (vnc)
            {
                ConsoleLog.Connected(log, id, session.Id);
                var end = await VncBridge.RunAsync(viewer, vnc.GetStream(), () => session.Why, session.Ended.Token);
                ConsoleLog.Disconnected(log, id, session.Id, end.Reason);
            }
        });
    }

    /// <summary>Ends the session: closes its connection and spends its password.</summary>
    public async Task<Outcome<bool>> EndAsync(Guid id, string sessionId, CancellationToken ct)
    {
        var spent = await machines.WithRunningAsync<bool>(id, "end the console of", async (_, dir) =>
        {
            if (Current(id, sessionId) is not { } session)
                return NoSession(id);
            _sessions.TryRemove(new KeyValuePair<Guid, Session>(id, session));
            session.End(new(WebSocketCloseStatus.NormalClosure, "the console session was ended"));
            try
            {
                await vmm.SetVncPasswordAsync(dir, RandomNumberGenerator.GetString(PasswordAlphabet, 8), TimeSpan.Zero);
            }
            catch (VmmException e)
            {
                // The session is over either way; its password only admitted connections within its window.
                ConsoleLog.Failed(log, id, e.Message);
            }
            return true;
        }, ct);
        if (spent.Error is { Code: ErrorCodes.InvalidState })
        {
            // The machine stopped: with its QEMU gone, so are the VNC server and the password.
            if (Current(id, sessionId) is not { } session)
                return NoSession(id);
            _sessions.TryRemove(new KeyValuePair<Guid, Session>(id, session));
            session.End(new(WebSocketCloseStatus.NormalClosure, "the console session was ended"));
            return true;
        }
        if (spent.Error is null)
            ConsoleLog.Ended(log, id, sessionId);
        return spent;
    }

    private Session? Current(Guid id, string sessionId) =>
        _sessions.TryGetValue(id, out var s)
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(s.Id), Encoding.ASCII.GetBytes(sessionId))
            ? s
            : null;

    private static AgentError NoSession(Guid id) =>
        new(ErrorCodes.NotFound, $"no such console session of machine {id:D} (a newer one replaced it, or it ended)", 404);
}

/// <summary>Console log messages, with stable event ids.</summary>
internal static partial class ConsoleLog
{
    [LoggerMessage(70, LogLevel.Information, "Machine {Machine}: console session {Session} opened (replaces {Previous})")]
    public static partial void Opened(ILogger logger, Guid machine, string session, string? previous);

    [LoggerMessage(71, LogLevel.Information, "Machine {Machine}: console session {Session} connected to VNC")]
    public static partial void Connected(ILogger logger, Guid machine, string session);

    [LoggerMessage(72, LogLevel.Information, "Machine {Machine}: console session {Session} disconnected: {Reason}")]
    public static partial void Disconnected(ILogger logger, Guid machine, string session, string reason);

    [LoggerMessage(73, LogLevel.Information, "Machine {Machine}: console session {Session} ended")]
    public static partial void Ended(ILogger logger, Guid machine, string session);

    [LoggerMessage(74, LogLevel.Warning, "Machine {Machine}: console failed: {Message}")]
    public static partial void Failed(ILogger logger, Guid machine, string message);
}
