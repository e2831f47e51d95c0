using System.Globalization;
using System.Net;
using System.Text;

namespace Virtuoso.Agent.Network;

/// <summary>One private NIC of a running or suspended machine on this host (issue 16).</summary>
/// <param name="Network">The network the NIC is on; null: unplugged (a resume that did not say), so on no bridge.</param>
internal sealed record NicPort(Guid Machine, string Mac, PrivateNetworkState? Network)
{
    public string Tap => NetworkNames.Tap(Machine);
}

/// <summary>A NIC's place on a network: the VNI and the guest's address.</summary>
internal sealed record PrivateNetworkState(int Vni, IPAddress Address, int PrefixLength);

/// <summary>
/// The decisions of the private networks as pure functions (style: decide, then act): the nftables ruleset for the NICs,
/// the flood-list changes for a set of peers, and reading what <c>ip</c> and <c>bridge</c> print. <see cref="HostNetwork"/>
/// performs them.
/// </summary>
internal static class NetworkPlan
{
    public const string Table = "virtuoso";

    /// <summary>The all-zeros MAC of a VXLAN device's flood list: broadcast, multicast and unknown unicast go to every entry.</summary>
    public const string FloodMac = "00:00:00:00:00:00";

    /// <summary>Which flood-list entries to append and which to delete so that they are exactly <paramref name="desired"/>.</summary>
    public static (IReadOnlyList<string> Add, IReadOnlyList<string> Remove) FdbChanges(IEnumerable<string> current, IEnumerable<string> desired)
    {
        var have = current.ToHashSet(StringComparer.Ordinal);
        var want = desired.ToHashSet(StringComparer.Ordinal);
        return (want.Where(p => !have.Contains(p)).Order(StringComparer.Ordinal).ToList(),
                have.Where(p => !want.Contains(p)).Order(StringComparer.Ordinal).ToList());
    }

    /// <summary>The remotes of the flood-list entries in <c>bridge fdb show dev VX</c>'s output
    /// ("00:00:00:00:00:00 dst 192.0.2.7 self permanent").</summary>
    public static IReadOnlyList<string> FloodRemotes(string fdbShow) =>
        fdbShow.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(w => w.Length >= 3 && w[0] == FloodMac && Array.IndexOf(w, "dst") is var at && at > 0 && at + 1 < w.Length)
            .Select(w => w[Array.IndexOf(w, "dst") + 1])
            .Distinct(StringComparer.Ordinal)
            .ToList();

    /// <summary>The interface names in <c>ip -o link show</c>'s output ("7: vx-2a: &lt;...&gt;", "9: vt-x@if3: ...").</summary>
    public static IReadOnlySet<string> LinkNames(string linkShow) =>
        linkShow.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(": ", 3))
            .Where(parts => parts.Length >= 2)
            .Select(parts => parts[1].Split('@')[0].Trim())
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// The agent's nftables tables, whole, for <c>nft -f -</c>: each table is declared, deleted and made again in one
    /// transaction, so a repeat or a restart converges on exactly this. No NIC at all: only the deletes.
    /// Default deny for guests: a tap's frames are forwarded only through its own port chain, which accepts what is
    /// honest; a tap without one (unplugged, or not yet re-attached after a crash or a restart) gets nothing through.
    /// Nothing from a tap or from the overlay is delivered to this host (the bridge has no address, but Linux would still
    /// answer ARP and take IPv4 on it): the guests' DHCP is answered on the tap itself, before the bridge.
    /// </summary>
    /// <param name="ports">The NICs; unplugged ones are on no bridge and get nothing through.</param>
    /// <param name="vxlanSources">The hosts VXLAN is accepted from (the marketplace's hosts and every current peer).</param>
    public static string Ruleset(IReadOnlyList<NicPort> ports, IReadOnlyCollection<string> vxlanSources)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"table bridge {Table} {{}}\ndelete table bridge {Table}\n");
        text.Append(CultureInfo.InvariantCulture, $"table inet {Table} {{}}\ndelete table inet {Table}\n");
        if (ports.Count == 0)
            return text.ToString();
        var plugged = ports.Where(p => p.Network is not null).OrderBy(p => p.Tap, StringComparer.Ordinal).ToList();

        // Per port, on what the guest sends to other ports and hosts; then every other tap's frames are dropped.
        text.Append(CultureInfo.InvariantCulture, $"table bridge {Table} {{\n");
        text.Append("  chain forward {\n    type filter hook forward priority -200; policy accept;\n");
        foreach (var port in plugged)
            text.Append(CultureInfo.InvariantCulture, $"    iifname \"{port.Tap}\" jump {Chain(port)}\n");
        text.Append(CultureInfo.InvariantCulture, $"    iifname \"{NetworkNames.TapPrefix}*\" drop\n");
        text.Append("  }\n");
        // Nothing a guest or the overlay sends is for this host.
        text.Append("  chain input {\n    type filter hook input priority -200; policy accept;\n");
        text.Append(CultureInfo.InvariantCulture, $"    iifname \"{NetworkNames.TapPrefix}*\" drop\n");
        text.Append(CultureInfo.InvariantCulture, $"    iifname \"{NetworkNames.VxlanPrefix}*\" drop\n");
        text.Append("  }\n");
        foreach (var port in plugged)
        {
            var address = port.Network!.Address;
            text.Append(CultureInfo.InvariantCulture, $"  chain {Chain(port)} {{\n");
            // A forged source MAC gets nothing through.
            text.Append(CultureInfo.InvariantCulture, $"    ether saddr != {port.Mac} drop\n");
            // The guest's DHCP is answered by the agent on the tap; no other server (a guest's) may answer anyone.
            text.Append("    ether type ip udp dport 67 drop\n");
            text.Append("    ether type ip udp sport 67 drop\n");
            text.Append(CultureInfo.InvariantCulture, $"    ether type ip ip saddr != {address} drop\n");
            // ARP must tell the truth; 0.0.0.0 is an address probe (RFC 5227), which updates no cache.
            text.Append(CultureInfo.InvariantCulture, $"    ether type arp arp saddr ether != {port.Mac} drop\n");
            text.Append(CultureInfo.InvariantCulture, $"    ether type arp arp saddr ip != {{ {address}, 0.0.0.0 }} drop\n");
            // IPv4 and ARP only, and RARP (0x8035), which QEMU sends from the NIC's MAC after a resume so that the bridges and
            // VXLAN devices learn where the machine is now (its source MAC is checked above). IPv6, VLAN tags and every
            // other EtherType are dropped, so nothing slips past the checks above.
            text.Append("    ether type != { ip, arp, 0x8035 } drop\n");
            text.Append("    accept\n");
            text.Append("  }\n");
        }
        text.Append("}\n");

        // On the host: nothing from a guest's tap or a network's bridge is taken in or routed (an unplugged tap is no bridge
        // port, and a bridge with no address still takes IPv4); VXLAN is decapsulated only for the marketplace's hosts.
        text.Append(CultureInfo.InvariantCulture, $"table inet {Table} {{\n");
        var sources = vxlanSources.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        text.Append("  chain input {\n    type filter hook input priority -200; policy accept;\n");
        text.Append(CultureInfo.InvariantCulture, $"    iifname \"{NetworkNames.TapPrefix}*\" drop\n");
        text.Append(CultureInfo.InvariantCulture, $"    iifname \"{NetworkNames.BridgePrefix}*\" drop\n");
        if (sources.Count > 0)
            text.Append(CultureInfo.InvariantCulture, $"    ip saddr {{ {string.Join(", ", sources)} }} udp dport {NetworkNames.VxlanPort} accept\n");
        text.Append(CultureInfo.InvariantCulture, $"    udp dport {NetworkNames.VxlanPort} drop\n");
        text.Append("  }\n");
        // Routed, not bridged: where br_netfilter is loaded (Docker, Kubernetes), frames bridged between ports of one network
        // pass this hook too, in and out through its bridge, and must go on.
        text.Append("  chain forward {\n    type filter hook forward priority -200; policy accept;\n");
        text.Append(CultureInfo.InvariantCulture, $"    iifname \"{NetworkNames.TapPrefix}*\" drop\n");
        text.Append(CultureInfo.InvariantCulture, $"    iifname \"{NetworkNames.BridgePrefix}*\" oifname != \"{NetworkNames.BridgePrefix}*\" drop\n");
        text.Append("  }\n}\n");
        return text.ToString();
    }

    private static string Chain(NicPort port) => "port_" + port.Tap.Replace('-', '_');
}
