using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using Microsoft.Extensions.Logging;
using Virtuoso.Agent.Console;
using Virtuoso.Agent.Events;
using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Vmm;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Tunnel;

/// <summary>
/// Tunnels to a TCP port of a running machine's guest (design §10, issue 14: for hosts buyers cannot reach). For each
/// tunnel the agent asks QEMU to forward a free loopback port of this host into the guest's user-mode network
/// (<c>hostfwd</c> to the guest's address), connects to it, relays the bytes, and removes the forward when the tunnel
/// closes. The far end is always the guest's own address: nothing of this host (the agent, QMP, VNC, other guests)
/// can be reached through a tunnel, whatever port is asked for.
/// </summary>
internal sealed class TunnelService(MachineService machines, IVmm vmm, EventLog events, ILogger<TunnelService> log)
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// After the client's end of input, how long the guest may go on answering (a request sent, then the input closed,
    /// as with <c>nc</c>); a guest that never closes does not hold the tunnel for ever.
    /// </summary>
    internal static readonly TimeSpan Drain = TimeSpan.FromMinutes(2);

    /// <summary>How many free ports are tried: another process may bind the one picked before QEMU does.</summary>
    private const int Attempts = 3;

    private static readonly BridgeWording Wording =
        new("client", "tunnel", "the guest closed the connection", WebSocketCloseStatus.NormalClosure);

    /// <summary>
    /// Opens a connection to <paramref name="port"/> of the guest of running machine <paramref name="id"/>, to be carried
    /// once the client's WebSocket is accepted. Refused (before the WebSocket is accepted) when the machine does not
    /// run here, or QEMU cannot forward a port.
    /// </summary>
    public async Task<Outcome<OpenTunnel>> ConnectAsync(Guid id, GuestPort port, CancellationToken ct)
    {
        var opened = await machines.WithRunningAsync<OpenTunnel>(id, "open a tunnel to", async (_, dir) =>
        {
            string? lastError = null;
            for (var attempt = 0; attempt < Attempts; attempt++)
            {
                var hostPort = FreeLoopbackPort();
                try
                {
                    await vmm.AddForwardAsync(dir, IPAddress.Loopback.ToString(), new PortForward(hostPort, port.Value));
                }
                catch (VmmException e)
                {
                    lastError = e.Message;
                    continue;
                }
                var guest = new TcpClient();
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    timeout.CancelAfter(ConnectTimeout);
                    await guest.ConnectAsync(IPAddress.Loopback, hostPort, timeout.Token);
                    guest.NoDelay = true;
                    return new OpenTunnel(this, id, port, dir, hostPort, guest);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException)
                {
                    guest.Dispose();
                    await RemoveAsync(id, dir, hostPort);
                    lastError = $"connecting to the forward on 127.0.0.1:{hostPort} failed: {e.Message}";
                }
            }
            TunnelLog.Failed(log, id, port.Value, lastError ?? "");
            return AgentError.Failed($"a tunnel to port {port.Value} of machine {id:D} could not be opened: {lastError}");
        }, ct);
        if (opened.Value is { } tunnel)
        {
            TunnelLog.Opened(log, id, port.Value, tunnel.HostPort);
            events.Append("tunnel-opened", id, detail: $"to guest port {port.Value}");
        }
        return opened;
    }

    /// <summary>A tunnel connected to the guest, not yet carrying a client; disposing it closes it and removes its forward.</summary>
    internal sealed class OpenTunnel(TunnelService service, Guid id, GuestPort port, MachineDirectory dir, int hostPort, TcpClient guest) : IAsyncDisposable
    {
        private int _disposed;

        public int HostPort => hostPort;

        /// <summary>Relays between <paramref name="client"/> and the guest until both are done.</summary>
        public async Task RunAsync(WebSocket client)
        {
            var end = await VncBridge.RunAsync(client, guest.GetStream(), () => new(WebSocketCloseStatus.NormalClosure, "the tunnel ended"),
                CancellationToken.None, Wording, guest.Client, Drain);
            service.Closed(id, port, end.Reason);
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
                return;
            guest.Dispose();
            await service.RemoveAsync(id, dir, hostPort);
        }
    }

    private void Closed(Guid id, GuestPort port, string reason) => TunnelLog.Closed(log, id, port.Value, reason);

    /// <summary>Removes the forward; a machine that stopped meanwhile took it with its QEMU.</summary>
    private async Task RemoveAsync(Guid id, MachineDirectory dir, int hostPort)
    {
        try
        {
            await vmm.RemoveForwardAsync(dir, IPAddress.Loopback.ToString(), hostPort);
        }
        catch (VmmException e)
        {
            TunnelLog.RemoveFailed(log, id, hostPort, e.Message);
        }
    }

    /// <summary>A loopback port free now (the kernel's pick); QEMU binds it next, and a lost race is tried again.</summary>
    private static int FreeLoopbackPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}

/// <summary>A TCP port of a guest, 1 to 65535: validated once, at the API.</summary>
internal readonly record struct GuestPort
{
    public int Value { get; }

    private GuestPort(int value) => Value = value;

    public static Outcome<GuestPort> Parse(string text) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
            ? new GuestPort(port)
            : AgentError.Validation($"'{(text.Length > 20 ? text[..20] : text)}' is not a TCP port (1 to 65535)");
}

/// <summary>Tunnel log messages, with stable event ids.</summary>
internal static partial class TunnelLog
{
    [LoggerMessage(80, LogLevel.Information, "Machine {Machine}: tunnel to guest port {Port} opened (through 127.0.0.1:{HostPort})")]
    public static partial void Opened(ILogger logger, Guid machine, int port, int hostPort);

    [LoggerMessage(81, LogLevel.Information, "Machine {Machine}: tunnel to guest port {Port} closed: {Reason}")]
    public static partial void Closed(ILogger logger, Guid machine, int port, string reason);

    [LoggerMessage(82, LogLevel.Warning, "Machine {Machine}: tunnel to guest port {Port} failed: {Message}")]
    public static partial void Failed(ILogger logger, Guid machine, int port, string message);

    [LoggerMessage(83, LogLevel.Warning, "Machine {Machine}: removing the tunnel's forward of 127.0.0.1:{HostPort} failed: {Message}")]
    public static partial void RemoveFailed(ILogger logger, Guid machine, int hostPort, string message);
}
