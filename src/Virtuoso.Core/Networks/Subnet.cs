using System.Globalization;

namespace Virtuoso.Core.Networks;

/// <summary>
/// The IPv4 subnet of a buyer's private network (issue 16, design §9): a CIDR inside the private ranges (10/8, 172.16/12,
/// 192.168/16), /16 to /29, clear of 10.0.2.0/24, which every guest's user-mode NIC (QEMU's slirp) already uses.
/// Addresses are handed out from the network's address + 2 up to the broadcast address - 1: + 1 is kept for the
/// agents' DHCP server (its server id).
/// </summary>
public readonly record struct Subnet(uint Network, int PrefixLength)
{
    public const int ShortestPrefix = 16;
    public const int LongestPrefix = 29;
    /// <summary>Every buyer's <c>default</c> network.</summary>
    public static readonly Subnet Default = new(0x0A800000, 24);

    private static readonly (uint Network, int Prefix, string Text)[] Private =
    [
        (0x0A000000, 8, "10.0.0.0/8"), (0xAC100000, 12, "172.16.0.0/12"), (0xC0A80000, 16, "192.168.0.0/16"),
    ];

    /// <summary>QEMU's user-mode network, on every guest's first NIC.</summary>
    private static readonly Subnet UserMode = new(0x0A000200, 24);

    public uint Mask => PrefixLength == 0 ? 0 : uint.MaxValue << (32 - PrefixLength);
    public uint Broadcast => Network | ~Mask;
    /// <summary>The first address given to a machine (network + 2).</summary>
    public uint FirstHost => Network + 2;
    /// <summary>The last address given to a machine (broadcast - 1).</summary>
    public uint LastHost => Broadcast - 1;
    /// <summary>How many machines the network holds.</summary>
    public long Capacity => (long)LastHost - FirstHost + 1;

    public bool Contains(uint address) => (address & Mask) == Network;
    public bool Overlaps(Subnet other) => (Network & other.Mask) == other.Network || (other.Network & Mask) == Network;

    public override string ToString() => $"{Format(Network)}/{PrefixLength}";

    /// <summary>Parses and judges a subnet; null with a sentence saying what is wrong when it is not acceptable.</summary>
    public static (Subnet? Subnet, string? Error) Parse(string? text)
    {
        var parts = (text ?? "").Trim().Split('/');
        if (parts.Length != 2 || ParseAddress(parts[0]) is not { } network
            || parts[1].Length is < 1 or > 2 || !parts[1].All(char.IsAsciiDigit))
            return (null, $"the subnet must be an IPv4 CIDR such as 10.128.0.0/24, not '{text}'");
        var prefix = int.Parse(parts[1], CultureInfo.InvariantCulture);
        if (prefix is < ShortestPrefix or > LongestPrefix)
            return (null, $"the subnet's prefix must be /{ShortestPrefix} to /{LongestPrefix} (65534 to 6 addresses), not /{prefix}");
        var subnet = new Subnet(network, prefix);
        if ((network & ~subnet.Mask) != 0)
            return (null, $"{text} has host bits set: the network address of a /{prefix} containing {parts[0]} is {Format(network & subnet.Mask)}");
        if (!Private.Any(p => new Subnet(p.Network, p.Prefix).Contains(network)))
            return (null, $"the subnet must lie inside a private range ({string.Join(", ", Private.Select(p => p.Text))}), not {subnet}");
        if (subnet.Overlaps(UserMode))
            return (null, $"{subnet} overlaps 10.0.2.0/24, the user-mode network every guest already has on its first NIC: choose another subnet");
        return (subnet, null);
    }

    /// <summary>A dotted-quad IPv4 address (four decimal numbers 0..255, no leading '+' or spaces), or null.</summary>
    public static uint? ParseAddress(string text)
    {
        var octets = text.Split('.');
        if (octets.Length != 4) return null;
        uint value = 0;
        foreach (var o in octets)
        {
            if (o.Length is < 1 or > 3 || !o.All(char.IsAsciiDigit)) return null;
            var n = int.Parse(o, CultureInfo.InvariantCulture);
            if (n > 255) return null;
            value = value << 8 | (uint)n;
        }
        return value;
    }

    public static string Format(uint address) =>
        string.Create(CultureInfo.InvariantCulture, $"{address >> 24}.{address >> 16 & 0xFF}.{address >> 8 & 0xFF}.{address & 0xFF}");

    /// <summary>
    /// The lowest address from <see cref="FirstHost"/> to <see cref="LastHost"/> that is not in <paramref name="taken"/>
    /// (addresses as text; any not of this subnet are ignored), or null when every one is taken.
    /// </summary>
    public string? LowestFree(IEnumerable<string?> taken)
    {
        var used = new HashSet<uint>();
        foreach (var t in taken)
            if (t is not null && ParseAddress(t) is { } a && Contains(a)) used.Add(a);
        for (var a = FirstHost; a <= LastHost; a++)
            if (!used.Contains(a)) return Format(a);
        return null;
    }
}
