using System.Net;
using System.Net.Sockets;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Network;

/// <summary>Checks of the private networks' wire data at the agent's boundary (issue 16): every problem found, as text.</summary>
internal static class NetworkValidation
{
    public const int MaxVni = 16_777_215;
    private const int MaxPeers = 1024;

    public static void CheckNetwork(List<string> problems, PrivateNetwork network)
    {
        CheckVni(problems, "network.vni", network.Vni);
        if (!IsIpv4Literal(network.Address))
            problems.Add($"network.address '{Truncate(network.Address)}' is not an IPv4 address");
        if (network.PrefixLength is < 16 or > 29)
            problems.Add($"network.prefixLength must be 16..29, not {network.PrefixLength}");
        CheckPeers(problems, "network.peers", network.Peers);
    }

    public static List<string> Check(AgentNetworks? networks)
    {
        var problems = new List<string>();
        if (networks is null || networks.Networks is null || networks.Hosts is null)
        {
            problems.Add("an AgentNetworks body with networks and hosts is required");
            return problems;
        }
        CheckPeers(problems, "hosts", networks.Hosts);
        foreach (var group in networks.Networks.GroupBy(n => n?.Vni).Where(g => g.Count() > 1))
            problems.Add($"network {group.Key} is listed twice");
        foreach (var n in networks.Networks)
        {
            if (n is null)
            {
                problems.Add("a network entry is null");
                continue;
            }
            CheckVni(problems, "networks[].vni", n.Vni);
            CheckPeers(problems, $"network {n.Vni} peers", n.Peers);
        }
        return problems;
    }

    private static void CheckVni(List<string> problems, string what, int vni)
    {
        if (vni is < 1 or > MaxVni)
            problems.Add($"{what} must be 1..{MaxVni}, not {vni}");
    }

    private static void CheckPeers(List<string> problems, string what, IReadOnlyList<string>? peers)
    {
        if (peers is null)
        {
            problems.Add($"{what} is required (an empty list for none)");
            return;
        }
        if (peers.Count > MaxPeers)
            problems.Add($"{what}: at most {MaxPeers}, not {peers.Count}");
        foreach (var peer in peers.Where(p => !IsIpv4Literal(p)).Take(5))
            problems.Add($"{what}: '{Truncate(peer ?? "null")}' is not an IPv4 address");
    }

    /// <summary>A dotted-quad IPv4 address exactly as <see cref="IPAddress"/> would print it (no "10.1", no leading zeros),
    /// not 0.0.0.0, not multicast or broadcast: what goes into <c>bridge fdb</c> and nft verbatim.</summary>
    public static bool IsIpv4Literal(string? text) =>
        text is not null && IPAddress.TryParse(text, out var ip) && ip.AddressFamily == AddressFamily.InterNetwork
        && ip.ToString() == text && ip.GetAddressBytes()[0] is not (0 or >= 224);

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
