namespace Virtuoso.Core.Networks;

/// <summary>One machine's place: it is attached to the network of VXLAN id <paramref name="Vni"/> and stored on <paramref name="Host"/>.</summary>
public readonly record struct Membership(int Vni, string Host);

/// <summary>What one host must carry: each network with a machine stored on it, and that network's peers.</summary>
public sealed record HostNetworks(string Host, IReadOnlyList<(int Vni, IReadOnlyList<string> Peers)> Networks);

/// <summary>
/// Who carries which private network (issue 16), decided from where the machines are stored: a pure function of the
/// memberships and the hosts' underlay addresses, so that every replica computes the same desired state and a push of
/// it is idempotent. A host's peers for a network are the underlay addresses of the OTHER hosts holding a machine of
/// it, in any stored state; an address equal to the host's own is left out (a VXLAN remote that is itself).
/// </summary>
public static class NetworkPlan
{
    /// <summary>The peers, for a machine of network <paramref name="vni"/> on <paramref name="host"/>.</summary>
    public static IReadOnlyList<string> PeersOf(int vni, string host, IEnumerable<Membership> memberships, IReadOnlyDictionary<string, string> underlay)
    {
        var own = underlay.GetValueOrDefault(host);
        return memberships.Where(m => m.Vni == vni && m.Host != host)
            .Select(m => underlay.GetValueOrDefault(m.Host))
            .OfType<string>()
            .Where(a => a != own)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Every network with a machine stored on <paramref name="host"/>, ordered by VNI, each with its peers.</summary>
    public static HostNetworks For(string host, IReadOnlyCollection<Membership> memberships, IReadOnlyDictionary<string, string> underlay) =>
        new(host, memberships.Where(m => m.Host == host).Select(m => m.Vni).Distinct().Order()
            .Select(vni => (vni, PeersOf(vni, host, memberships, underlay))).ToList());
}
