using System.Globalization;
using System.Net;

namespace Virtuoso.FrontEnd.Migration;

/// <summary>Migration settings (section "Virtuoso" of the configuration, like <see cref="MarketOptions"/>; environment VIRTUOSO__NAME).</summary>
internal sealed class MigrationOptions
{
    /// <summary>Where the front-end's VMMP listener accepts HEARTBEAT and RESP from destination agents (design §6.1); port 0 picks a free one.</summary>
    public string VmmpListen { get; set; } = "127.0.0.1:7100";
    /// <summary>The IP agents are told (CENTRAL_IP of the REQ) to reach the listener; default the listen IP (loopback when it listens on all).</summary>
    public string? VmmpAdvertise { get; set; }
    /// <summary>A migration with no HEARTBEAT for this long is reverted unless the destination holds the copy pending (design §6.2 step 5).</summary>
    public double MigrationHeartbeatTimeoutSeconds { get; set; } = 10;
    /// <summary>How often the migration monitor looks for timed-out, answered or committed-but-unfinished migrations.</summary>
    public double MigrationCheckIntervalSeconds { get; set; } = 2;
    /// <summary>Timeout of each VMMP exchange with a destination (connect, QUERY → RESULTS, REQ → accepted).</summary>
    public double VmmpTimeoutSeconds { get; set; } = 10;

    /// <summary>Issue 20: the VMMP listener holds at most this many connections at once (one per migration in progress, and moments more).</summary>
    public int VmmpMaxConnections { get; set; } = 1024;
    /// <summary>Issue 20: ... and at most this many from one address (a destination host copying that many machines at once).
    /// A newcomer evicts the oldest connection that has proven nothing yet, so strangers never keep destinations out.</summary>
    public int VmmpMaxPerPeer { get; set; } = 64;
    /// <summary>Issue 20: a peer must send its first line (AUTH and the message it proves) within this many seconds.</summary>
    public double VmmpFirstLineTimeoutSeconds { get; set; } = 5;

    /// <summary>
    /// Issue 20 point 1: the agents speak TLS (started with --tls-cert): VMMP to and from them is TLS, and destinations fetch
    /// from https:// origins (<see cref="HostTls"/>). Off: cleartext, for agents without certificates.
    /// </summary>
    public bool AgentTls { get; set; }

    public TimeSpan VmmpFirstLineTimeout => TimeSpan.FromSeconds(VmmpFirstLineTimeoutSeconds);
    public Core.Migration.VmmpLimits VmmpLimits => new(VmmpMaxConnections, VmmpMaxPerPeer);
    public TimeSpan HeartbeatTimeout => TimeSpan.FromSeconds(MigrationHeartbeatTimeoutSeconds);
    public TimeSpan VmmpTimeout => TimeSpan.FromSeconds(VmmpTimeoutSeconds);

    /// <summary>Parses "IP:PORT" (IPv6 as "[::1]:7100").</summary>
    public static IPEndPoint ParseEndPoint(string text) =>
        IPEndPoint.TryParse(text, out var ep) && text.Contains(':') ? ep
            : throw new InvalidOperationException($"Virtuoso:VmmpListen must be IP:PORT, e.g. 127.0.0.1:7100, not '{text}'");

    public static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);
}
