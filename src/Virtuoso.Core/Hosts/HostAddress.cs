using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Virtuoso.Core.Hosts;

/// <summary>
/// The address a provider gives for a host's agent (issue 20: "a b" gave 500 on every buyer call for the host's
/// machines, and the front-end connected to or resolved any address typed, a server-side request forgery). An address
/// is a DNS host name (RFC 1123 labels) or an IP literal, checked as text: nothing is resolved here. Loopback,
/// link-local, private, shared (CGNAT), unspecified and multicast IPs, and the name <c>localhost</c>, are refused unless
/// the operator allows private addresses (a demo or a private cloud on one LAN: <c>./run</c> does).
/// </summary>
public static partial class HostAddress
{
    [GeneratedRegex(@"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")]
    private static partial Regex NameRx();

    /// <summary>Why <paramref name="address"/> is not acceptable, or null.</summary>
    public static string? Check(string? address, bool allowPrivate)
    {
        if (string.IsNullOrEmpty(address)) return "address is required: the agent's host name or IP address";
        var literal = address.StartsWith('[') && address.EndsWith(']') ? address[1..^1] : address;
        if (IPAddress.TryParse(literal, out var ip) && (ip.AddressFamily == AddressFamily.InterNetworkV6 || IsDottedQuad(literal)))
            return allowPrivate || !IsInternal(ip) ? null
                : $"address {address} is a loopback, link-local, private or otherwise internal address, which this marketplace does not connect to: give the host's public address";
        // A name's last label starts with a letter, as every top-level domain does: "1.2.3" or "0x7f.0.0.1" are not names
        // (some resolvers read them as IP addresses, 127.0.0.1 for the latter).
        if (!NameRx().IsMatch(address) || !char.IsAsciiLetter(address.TrimEnd('.').Split('.')[^1][0]))
            return $"address must be a host name (letters, digits, '-' and '.') or an IP address, not '{address}'";
        var name = address.TrimEnd('.').ToLowerInvariant();
        if (!allowPrivate && (name == "localhost" || name.EndsWith(".localhost", StringComparison.Ordinal)))
            return $"address {address} names this machine, which this marketplace does not connect to: give the host's public address";
        return null;
    }

    /// <summary>True for the addresses a public marketplace must not be made to connect to.</summary>
    public static bool IsInternal(IPAddress ip)
    {
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        if (IPAddress.IsLoopback(ip) || ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any) || ip.Equals(IPAddress.None)) return true;
        if (ip.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = ip.GetAddressBytes();
            return b[0] == 0 || b[0] == 10 || b[0] == 127 || (b[0] == 169 && b[1] == 254) || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)
                || (b[0] == 192 && b[1] == 168) || (b[0] == 100 && b[1] >= 64 && b[1] <= 127) || b[0] >= 224;
        }
        var v6 = ip.GetAddressBytes();
        return ip.IsIPv6LinkLocal || ip.IsIPv6SiteLocal || ip.IsIPv6Multicast || (v6[0] & 0xfe) == 0xfc; // fc00::/7, unique local
    }

    private static bool IsDottedQuad(string s) => s.Count(c => c == '.') == 3 && s.All(c => char.IsAsciiDigit(c) || c == '.');
}
