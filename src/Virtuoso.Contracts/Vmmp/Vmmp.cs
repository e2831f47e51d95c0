using System.Globalization;
using System.Net;
using System.Text;

namespace Virtuoso.Contracts.Vmmp;

// VMMP 1.0, the Virtual Machine Migration Protocol (report §7.2.1, design §6.1). One ASCII line per message over
// TCP, written exactly as the report prints it, angle brackets included, ended by "\n" ("\r\n" is accepted):
//
//   <VMMP 1.0 QUERY MACHINE_ID METHODS>
//   <VMMP 1.0 RESULTS MACHINE_ID N_METHODS METHOD_1 ... METHOD_N>
//   <VMMP 1.0 REQ MACHINE_ID VERSION ORIG_IP ORIG_PORT CENTRAL_IP CENTRAL_PORT METHOD>
//   <VMMP 1.0 HEARTBEAT MACHINE_ID>
//   <VMMP 1.0 RESP MACHINE_ID VERSION' SUCCESS|FAIL>
//
// Fields are separated by single spaces. MACHINE_ID is the machine's UUID in its 36-character form; VERSION is a
// non-negative decimal integer; IPs are dotted IPv4 or IPv6 text; ports are 1..65535; METHOD is an upper-case
// token of 1..16 letters, digits or '-' (known ones: VmmpMethods). Authentication rides beside the grammar
// (design §6.1): the front-end announces each migration to both agents over their authenticated control API
// with a per-migration token, and a destination answers a REQ it was not told about with RESP ... FAIL.

/// <summary>One VMMP 1.0 message (design §6.1). Immutable; <see cref="VmmpWire.Format"/> writes it, <see cref="VmmpWire.Parse"/> reads it.</summary>
public abstract record VmmpMessage(Guid MachineId);

/// <summary><c>&lt;VMMP 1.0 QUERY MACHINE_ID METHODS&gt;</c>: which transfer methods does the destination support?</summary>
public sealed record VmmpQuery(Guid MachineId) : VmmpMessage(MachineId);

/// <summary><c>&lt;VMMP 1.0 RESULTS MACHINE_ID N METHOD_1 ... METHOD_N&gt;</c>: the answer to a QUERY.</summary>
public sealed record VmmpResults(Guid MachineId, IReadOnlyList<string> Methods) : VmmpMessage(MachineId)
{
    public bool Equals(VmmpResults? other) => other is not null && MachineId == other.MachineId && Methods.SequenceEqual(other.Methods);
    public override int GetHashCode() => HashCode.Combine(MachineId, Methods.Count);
}

/// <summary>
/// <c>&lt;VMMP 1.0 REQ MACHINE_ID VERSION ORIG_IP ORIG_PORT CENTRAL_IP CENTRAL_PORT METHOD&gt;</c>: the front-end asks
/// the destination to fetch the machine at <paramref name="Version"/> from the origin agent (ORIG_IP:ORIG_PORT, the
/// origin agent's control API address, where its transfer endpoints live) and to report HEARTBEATs and the final
/// RESP to CENTRAL_IP:CENTRAL_PORT (the front-end's VMMP listener).
/// </summary>
public sealed record VmmpReq(Guid MachineId, long Version, IPAddress OrigIp, int OrigPort, IPAddress CentralIp, int CentralPort, string Method)
    : VmmpMessage(MachineId);

/// <summary><c>&lt;VMMP 1.0 HEARTBEAT MACHINE_ID&gt;</c>: the destination is alive and still migrating the machine.</summary>
public sealed record VmmpHeartbeat(Guid MachineId) : VmmpMessage(MachineId);

/// <summary>
/// <c>&lt;VMMP 1.0 RESP MACHINE_ID VERSION' SUCCESS|FAIL&gt;</c>: the end of a migration. On success VERSION' is the
/// requested VERSION + 1 (design §6.2 step 3); on failure it is the unchanged VERSION.
/// </summary>
public sealed record VmmpResp(Guid MachineId, long Version, bool Success) : VmmpMessage(MachineId);

/// <summary>Method names a destination may advertise in RESULTS (design §6.3).</summary>
public static class VmmpMethods
{
    public const string Scp = "SCP";
    public const string Rsync = "RSYNC";
    public const string Dedup = "DEDUP";
    public static readonly IReadOnlyList<string> All = [Scp, Rsync, Dedup];
}

/// <summary>The outcome of parsing one line: a message, or the reason it is not one.</summary>
public readonly record struct VmmpParse(VmmpMessage? Message, string? Error)
{
    public static implicit operator VmmpParse(VmmpMessage m) => new(m, null);
    public static VmmpParse Fail(string reason) => new(null, reason);
}

/// <summary>Reads and writes VMMP 1.0 lines. Pure functions; never throws on bad input.</summary>
public static class VmmpWire
{
    /// <summary>The longest line a peer may send, terminator excluded. A REQ with two IPv6 addresses fits well inside.</summary>
    public const int MaxLineLength = 512;
    public const string Version = "1.0";
    private const int MaxMethods = 32;

    public static string Format(VmmpMessage message) => message switch
    {
        VmmpQuery q => Line($"QUERY {Id(q.MachineId)} METHODS"),
        VmmpResults r => Line($"RESULTS {Id(r.MachineId)} {r.Methods.Count.ToString(CultureInfo.InvariantCulture)}"
                              + string.Concat(r.Methods.Select(m => " " + m))),
        VmmpReq q => Line($"REQ {Id(q.MachineId)} {Num(q.Version)} {q.OrigIp} {Num(q.OrigPort)} {q.CentralIp} {Num(q.CentralPort)} {q.Method}"),
        VmmpHeartbeat h => Line($"HEARTBEAT {Id(h.MachineId)}"),
        VmmpResp r => Line($"RESP {Id(r.MachineId)} {Num(r.Version)} {(r.Success ? "SUCCESS" : "FAIL")}"),
        _ => throw new ArgumentOutOfRangeException(nameof(message), message, "not a VMMP 1.0 message"),
    };

    /// <summary>The bytes of <see cref="Format"/> with the terminating newline, ready to write to the socket.</summary>
    public static byte[] Encode(VmmpMessage message) => Encoding.ASCII.GetBytes(Format(message) + "\n");

    /// <summary>Parses one line, without its terminator (a trailing "\r" is tolerated).</summary>
    public static VmmpParse Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (line.EndsWith('\r'))
            line = line[..^1];
        if (line.Length > MaxLineLength)
            return VmmpParse.Fail($"line longer than {MaxLineLength} characters");
        foreach (var c in line)
            if (c is < ' ' or > '~')
                return VmmpParse.Fail("line holds a character that is not printable ASCII");
        if (!line.StartsWith('<') || !line.EndsWith('>'))
            return VmmpParse.Fail("a message is written <VMMP 1.0 ...>");
        var fields = line[1..^1].Split(' ');
        if (fields.Any(f => f.Length == 0))
            return VmmpParse.Fail("fields are separated by single spaces");
        if (fields.Length < 4 || fields[0] != "VMMP")
            return VmmpParse.Fail("not a VMMP message");
        if (fields[1] != Version)
            return VmmpParse.Fail($"unsupported VMMP version '{fields[1]}'");
        if (!Guid.TryParseExact(fields[3], "D", out var id))
            return VmmpParse.Fail($"'{fields[3]}' is not a machine id");

        var rest = fields[4..];
        switch (fields[2])
        {
            case "QUERY":
                return rest is ["METHODS"] ? new VmmpQuery(id) : VmmpParse.Fail("QUERY takes MACHINE_ID METHODS");
            case "HEARTBEAT":
                return rest.Length == 0 ? new VmmpHeartbeat(id) : VmmpParse.Fail("HEARTBEAT takes MACHINE_ID only");
            case "RESULTS":
                if (rest.Length == 0 || !TryCount(rest[0], out var n))
                    return VmmpParse.Fail("RESULTS takes MACHINE_ID N_METHODS METHOD_1 ... METHOD_N");
                if (n > MaxMethods || rest.Length != n + 1)
                    return VmmpParse.Fail($"RESULTS announces {rest[0]} methods but lists {rest.Length - 1}");
                if (rest[1..].FirstOrDefault(m => !IsMethod(m)) is { } badMethod)
                    return VmmpParse.Fail($"'{badMethod}' is not a method name");
                return new VmmpResults(id, rest[1..]);
            case "REQ":
                if (rest.Length != 6)
                    return VmmpParse.Fail("REQ takes MACHINE_ID VERSION ORIG_IP ORIG_PORT CENTRAL_IP CENTRAL_PORT METHOD");
                if (!TryVersion(rest[0], out var version))
                    return VmmpParse.Fail($"'{rest[0]}' is not a version");
                if (!TryIp(rest[1], out var origIp) || !TryPort(rest[2], out var origPort))
                    return VmmpParse.Fail($"'{rest[1]} {rest[2]}' is not an origin address");
                if (!TryIp(rest[3], out var centralIp) || !TryPort(rest[4], out var centralPort))
                    return VmmpParse.Fail($"'{rest[3]} {rest[4]}' is not a central address");
                if (!IsMethod(rest[5]))
                    return VmmpParse.Fail($"'{rest[5]}' is not a method name");
                return new VmmpReq(id, version, origIp, origPort, centralIp, centralPort, rest[5]);
            case "RESP":
                if (rest.Length != 2 || !TryVersion(rest[0], out var respVersion) || rest[1] is not ("SUCCESS" or "FAIL"))
                    return VmmpParse.Fail("RESP takes MACHINE_ID VERSION SUCCESS|FAIL");
                return new VmmpResp(id, respVersion, rest[1] == "SUCCESS");
            default:
                return VmmpParse.Fail($"unknown VMMP message '{fields[2]}'");
        }
    }

    /// <summary>
    /// Reads one line of at most <see cref="MaxLineLength"/> bytes from <paramref name="stream"/>. Returns null at a
    /// clean end of stream; throws <see cref="InvalidDataException"/> for an overlong line or one cut off by the end of
    /// the stream, so the caller closes the connection. Reads byte by byte: VMMP lines are few and short.
    /// </summary>
    public static async Task<string?> ReadLineAsync(Stream stream, CancellationToken ct)
    {
        var buffer = new byte[MaxLineLength + 2];
        var one = new byte[1];
        var length = 0;
        while (true)
        {
            var read = await stream.ReadAsync(one, ct);
            if (read == 0)
                return length == 0 ? null : throw new InvalidDataException("connection closed in the middle of a line");
            if (one[0] == (byte)'\n')
                return Encoding.Latin1.GetString(buffer, 0, length); // Latin-1 keeps every byte, so Parse sees non-ASCII and refuses it
            if (length == buffer.Length)
                throw new InvalidDataException($"line longer than {MaxLineLength} characters");
            buffer[length++] = one[0];
        }
    }

    public static bool IsMethod(string s) =>
        s.Length is >= 1 and <= 16 && s.All(c => c is (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-');

    private static string Line(string body) => $"<VMMP {Version} {body}>";
    private static string Id(Guid id) => id.ToString("D");
    private static string Num(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static bool TryCount(string s, out int n) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out n) && s.Length <= 3;

    private static bool TryVersion(string s, out long v) =>
        long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v) && s.Length <= 18;

    private static bool TryPort(string s, out int port) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out port) && s.Length <= 5 && port is >= 1 and <= 65535;

    private static bool TryIp(string s, out IPAddress ip)
    {
        ip = IPAddress.None;
        // IPAddress.TryParse accepts "1" or "1.2" as IPv4 shorthands; VMMP wants the plain dotted or colon form.
        if (!(s.Count(c => c == '.') == 3 || s.Contains(':')) || !IPAddress.TryParse(s, out var parsed))
            return false;
        ip = parsed;
        return true;
    }
}
