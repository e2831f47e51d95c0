using System.Security.Cryptography;
using System.Text;

namespace Virtuoso.Contracts.Vmmp;

/// <summary>
/// Authentication beside VMMP's grammar (design §6.1, issue 20): a line <c>AUTH &lt;64 hex digits&gt;</c> just before a
/// VMMP line proves that whoever sent that one line holds a key, without sending the key. The proof is
/// HMAC-SHA256(key, "VMMP-AUTH\n" + the next line without its terminator), in lower-case hex; it authenticates that line
/// only (each message carries its own). Keys: the host's secret (the front-end to an agent, an agent to the front-end),
/// or a migration's token (a peer agent to the destination of that migration). A VMMP 1.0 parser sees an AUTH line as
/// "not a VMMP message", so a peer that knows nothing of it refuses it like any other bad line.
/// <para>The proof names neither the time nor the connection: someone who can read the traffic can replay a line it saw
/// (the same QUERY, the same HEARTBEAT) until TLS (issue 20 point 1) hides it, but can make no other line.</para>
/// </summary>
public static class VmmpAuth
{
    public const string Prefix = "AUTH ";
    private const int ProofBytes = 32;
    private static readonly byte[] Domain = Encoding.ASCII.GetBytes("VMMP-AUTH\n");

    /// <summary>The proof for <paramref name="line"/> (a formatted VMMP line, no terminator) under <paramref name="key"/>.</summary>
    public static byte[] Proof(string key, string line)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var data = new byte[Domain.Length + Encoding.Latin1.GetByteCount(line)];
        Domain.CopyTo(data, 0);
        Encoding.Latin1.GetBytes(line, 0, line.Length, data, Domain.Length);
        return HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), data);
    }

    /// <summary>The AUTH line for <paramref name="line"/>, without terminator.</summary>
    public static string Line(string key, string line) => Prefix + Convert.ToHexStringLower(Proof(key, line));

    /// <summary>The bytes of an AUTH line and the message it authenticates, each ended by "\n", ready to write.</summary>
    public static byte[] Encode(string key, VmmpMessage message)
    {
        var line = VmmpWire.Format(message);
        return Encoding.ASCII.GetBytes(Line(key, line) + "\n" + line + "\n");
    }

    /// <summary>Whether <paramref name="line"/> is an AUTH line (well formed or not): the next line is what it would prove.</summary>
    public static bool IsAuthLine(string line) => line.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The proof an AUTH line carries, or null when it is not exactly <c>AUTH</c> and 64 hex digits.</summary>
    public static byte[]? ParseProof(string authLine)
    {
        var text = authLine.EndsWith('\r') ? authLine[..^1] : authLine;
        if (!IsAuthLine(text) || text.Length != Prefix.Length + 2 * ProofBytes)
            return null;
        var hex = text[Prefix.Length..];
        if (!hex.All(char.IsAsciiHexDigit))
            return null;
        return Convert.FromHexString(hex);
    }

    /// <summary>Whether <paramref name="proof"/> proves <paramref name="line"/> under <paramref name="key"/>; fixed time.</summary>
    public static bool Verify(string key, string line, byte[] proof)
    {
        if (string.IsNullOrEmpty(key) || proof.Length != ProofBytes)
            return false;
        var text = line.EndsWith('\r') ? line[..^1] : line;
        return CryptographicOperations.FixedTimeEquals(Proof(key, text), proof);
    }
}
