using System.Globalization;

namespace Virtuoso.Core.Machines;

/// <summary>
/// The TCP ports of a host that may be forwarded to its guests (issue 14, design §10): <c>FIRST-LAST</c>, both
/// unprivileged (1024 to 65535), first ≤ last.
/// </summary>
public readonly record struct PortRange(int First, int Last)
{
    public const int Lowest = 1024;
    public const int Highest = 65535;
    /// <summary>A host that declares none.</summary>
    public static readonly PortRange Default = new(40000, 40999);

    public int Count => Last - First + 1;
    public bool Contains(int port) => port >= First && port <= Last;
    public override string ToString() => $"{First}-{Last}";

    /// <summary>Parses <c>FIRST-LAST</c> (or a single port); null with the reason when it is not a valid range.</summary>
    public static (PortRange? Range, string? Error) Parse(string? text)
    {
        var parts = (text ?? "").Trim().Split('-');
        if (parts.Length is < 1 or > 2 || !parts.All(p => p.Length is > 0 and <= 5 && p.All(char.IsAsciiDigit)))
            return (null, $"ports must be FIRST-LAST, e.g. 40000-40999, not '{text}'");
        var first = int.Parse(parts[0], CultureInfo.InvariantCulture);
        var last = int.Parse(parts[^1], CultureInfo.InvariantCulture);
        return Check(first, last) is { } error ? (null, error) : (new PortRange(first, last), null);
    }

    /// <summary>Why FIRST-LAST is not a valid range, or null.</summary>
    public static string? Check(int first, int last)
    {
        if (first < Lowest || last > Highest || first > Highest || last < Lowest)
            return $"ports must lie between {Lowest} and {Highest}, not {first}-{last}";
        if (first > last)
            return $"ports must be FIRST-LAST with FIRST ≤ LAST, not {first}-{last}";
        return null;
    }
}

/// <summary>What a guest port is forwarded from: a port of its host.</summary>
public readonly record struct Forward(int HostPort, int GuestPort);

/// <summary>Why forwards cannot be given.</summary>
public enum ForwardRefusal
{
    /// <summary>The host's range has fewer free ports than the machine needs.</summary>
    Exhausted,
}

/// <summary>
/// Forwarded ports (issue 14): a running machine gets a host port forwarded to its guest's SSH port, and up to
/// <see cref="MaxExtra"/> more for guest ports its owner asks for. Pure: the front-end reads the range and the ports
/// taken on the host, allocates with <see cref="Allocate"/> and writes the forwards in the transaction that claims the start.
/// </summary>
public static class PortForwarding
{
    /// <summary>The guest port every running machine has forwarded.</summary>
    public const int Ssh = 22;
    /// <summary>Guest ports a buyer may ask for besides SSH.</summary>
    public const int MaxExtra = 5;

    /// <summary>Why a guest port may not be asked for, or null.</summary>
    public static string? CheckGuestPort(int port) => port switch
    {
        < 1 or > 65535 => $"a guest port is between 1 and 65535, not {port}",
        Ssh => $"guest port {Ssh} is always forwarded (for SSH)",
        _ => null,
    };

    /// <summary>Why <paramref name="port"/> may not be added to the guest ports already asked for, or null.</summary>
    public static (bool TooMany, string? Error) CheckAdd(IReadOnlyCollection<int> requested, int port)
    {
        if (CheckGuestPort(port) is { } bad) return (false, bad);
        if (requested.Count >= MaxExtra && !requested.Contains(port))
            return (true, $"a machine may have at most {MaxExtra} forwarded ports besides SSH ({string.Join(", ", requested.Order())}); remove one first");
        return (false, null);
    }

    /// <summary>The guest ports a running machine gets: SSH first, then the asked ones in order, each once.</summary>
    public static IReadOnlyList<int> GuestPorts(IEnumerable<int> requested) =>
        [Ssh, .. requested.Where(p => p != Ssh).Distinct().Order()];

    /// <summary>
    /// The lowest free ports of <paramref name="range"/> for <paramref name="guestPorts"/>, in order, skipping
    /// <paramref name="taken"/> (every port forwarded on the host, whichever machine holds it; ports outside the range are
    /// ignored). All or none: a range without enough free ports refuses with <see cref="ForwardRefusal.Exhausted"/>.
    /// </summary>
    public static (IReadOnlyList<Forward> Forwards, ForwardRefusal? Refusal) Allocate(PortRange range, IReadOnlySet<int> taken, IReadOnlyList<int> guestPorts)
    {
        var forwards = new List<Forward>(guestPorts.Count);
        var next = range.First;
        foreach (var guest in guestPorts)
        {
            while (next <= range.Last && taken.Contains(next)) next++;
            if (next > range.Last) return ([], ForwardRefusal.Exhausted);
            forwards.Add(new Forward(next, guest));
            next++;
        }
        return (forwards, null);
    }

    /// <summary>
    /// Why <paramref name="address"/> is not an address buyers can be told to reach a host at, or null: an IPv4 address
    /// (dotted, each part 0–255) or a DNS name (labels of letters, digits and '-', no '-' at either end, 253 characters at most).
    /// </summary>
    public static string? CheckPublicAddress(string? address)
    {
        var a = address ?? "";
        var labels = a.Split('.');
        var why = $"public address must be an IPv4 address or a DNS name, not '{a}'";
        if (a.Length is 0 or > 253 || labels.Any(l => l.Length is 0 or > 63)) return why;
        if (labels.All(l => l.All(char.IsAsciiDigit)))
            return labels.Length == 4 && labels.All(l => l.Length <= 3 && int.Parse(l, CultureInfo.InvariantCulture) <= 255) ? null : why;
        return labels.All(l => l.All(c => char.IsAsciiLetterOrDigit(c) || c == '-') && l[0] != '-' && l[^1] != '-') ? null : why;
    }

    /// <summary>How many of <paramref name="range"/>'s ports are free.</summary>
    public static int Free(PortRange range, IReadOnlySet<int> taken) => range.Count - taken.Count(range.Contains);
}
