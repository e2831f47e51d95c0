using System.Globalization;

namespace Virtuoso.Agent.Network;

/// <summary>
/// The host's names for a private network's parts (issue 16, design §9). Linux limits interface names to 15 bytes
/// (IFNAMSIZ 16 with the NUL), so every name here fits: "vt-" + 12 hex digits, "vbr-"/"vx-" + at most 6.
/// </summary>
internal static class NetworkNames
{
    /// <summary>The prefixes of the names below, which the filters match by (<c>iifname "vt-*"</c>).</summary>
    public const string TapPrefix = "vt-", BridgePrefix = "vbr-", VxlanPrefix = "vx-";

    /// <summary>The tap of a machine's private NIC: "vt-" and the first 12 hex digits of its id.</summary>
    public static string Tap(Guid machine) => TapPrefix + machine.ToString("N")[..12];

    /// <summary>The bridge of network <paramref name="vni"/>: "vbr-" and the VNI in lower-case hex.</summary>
    public static string Bridge(int vni) => BridgePrefix + vni.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>The VXLAN device of network <paramref name="vni"/>: "vx-" and the VNI in lower-case hex.</summary>
    public static string Vxlan(int vni) => VxlanPrefix + vni.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>The MTU of every private network part: 1500 less VXLAN's 50 bytes over IPv4, so nothing fragments.</summary>
    public const int Mtu = 1450;

    /// <summary>VXLAN's IANA port.</summary>
    public const int VxlanPort = 4789;

    /// <summary>
    /// The MAC of a machine's first (user-mode) NIC when it also has a private one: its own MAC with bit 0x04 of the first
    /// octet set ("02:..." becomes "06:..."), still unicast and locally administered, so the guest never sees its own MAC
    /// twice and the private NIC carries the machine's MAC (the one that follows it across hosts).
    /// </summary>
    public static string UserNicMac(string mac)
    {
        var first = byte.Parse(mac.AsSpan(0, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return ((byte)(first | 0x04)).ToString("x2", CultureInfo.InvariantCulture) + mac[2..];
    }
}
