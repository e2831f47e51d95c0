using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Virtuoso.Agent.Machines;

/// <summary>
/// The host ports a start or resume forwards to the guest (issue 14, design §10), checked before QEMU is launched. The
/// front-end knows which ports its machines hold, not what else runs on the host: a port another program listens on, or
/// one an outgoing connection took from the kernel's ephemeral range (32768–60999 by default, which holds the default
/// forwarded range 40000–40999), makes QEMU exit at start-up. Found here, the command is refused with
/// <see cref="Contracts.Api.ErrorCodes.PortBusy"/> before anything changes, and the front-end gives other ports.
/// </summary>
internal static class HostPorts
{
    // Linux's SOL_SOCKET and SO_REUSEADDR. .NET's ReuseAddress option sets SO_REUSEPORT as well, which would bind beside a
    // program listening with SO_REUSEPORT (nginx's reuseport, say) where QEMU, setting SO_REUSEADDR alone, cannot.
    private const int SolSocket = 1, SoReuseAddr = 2;

    /// <summary>
    /// The ports of <paramref name="ports"/> that cannot be bound on <paramref name="address"/> now, as QEMU's user-mode
    /// network binds a forward (SO_REUSEADDR alone, then listen), in order. Another failure (an address this host does not
    /// have) throws the <see cref="SocketException"/>: QEMU would fail the same way on every port.
    /// </summary>
    public static IReadOnlyList<int> Busy(IPAddress address, IEnumerable<int> ports)
    {
        var busy = new List<int>();
        foreach (var port in ports.Distinct().Order())
        {
            using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
                socket.Bind(new IPEndPoint(address, port));
                socket.Listen(1);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
            {
                busy.Add(port);
            }
        }
        return busy;
    }

    /// <summary>What the provider is told of <paramref name="busy"/> ports: which, how to find who holds them, and how to keep the kernel off them.</summary>
    public static string Why(IReadOnlyList<int> busy, IPAddress address, string ephemeralRangeFile = "/proc/sys/net/ipv4/ip_local_port_range")
    {
        var which = busy.Count == 1 ? $"host port {busy[0]}" : $"host ports {string.Join(", ", busy)}";
        var why = $"{which} on {address} {(busy.Count == 1 ? "is" : "are")} held by another program (`ss -tanp 'sport = :{busy[0]}'` names it)";
        if (EphemeralRange(ephemeralRangeFile) is { } range && busy.Any(p => p >= range.First && p <= range.Last))
            why += $"; this host's kernel lends ports {range.First}-{range.Last} to outgoing connections: keep it off the forwarded range " +
                "with `net.ipv4.ip_local_reserved_ports = FIRST-LAST` in /etc/sysctl.d/60-virtuoso.conf (docs/operations.md, Ports)";
        return why;
    }

    /// <summary>The kernel's ephemeral port range, or null where it cannot be read.</summary>
    public static (int First, int Last)? EphemeralRange(string file)
    {
        try
        {
            var parts = File.ReadAllText(file).Split((char[])[' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return parts.Length == 2 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out var first) && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var last)
                ? (first, last) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
