using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Virtuoso.Core.Accounts;

/// <summary>
/// An SSH public key a buyer puts on the account (issue 14, design §10), read from one OpenSSH public-key line,
/// <c>TYPE BASE64 [COMMENT]</c>, as <c>ssh-keygen</c> writes it into a <c>.pub</c> file. The blob is checked as the
/// wire format defines it (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4) so that what is stored is a key an SSH server
/// will accept, not merely text that looks like one.
/// </summary>
/// <param name="Type">The key type: one of <see cref="AcceptedTypes"/>.</param>
/// <param name="Blob">The decoded key blob (what the fingerprint is computed over).</param>
/// <param name="Comment">The comment after the blob, or "" when there is none.</param>
/// <param name="Bits">The key size as <c>ssh-keygen -l</c> reports it: 256 for ed25519, the curve's for ECDSA, the modulus's for RSA.</param>
public sealed record SshPublicKey(string Type, ImmutableArray<byte> Blob, string Comment, int Bits)
{
    /// <summary>Longest line accepted: an RSA key of 16384 bits (OpenSSH's largest) takes about 2.8 KB with a long comment.</summary>
    public const int MaxLength = 8192;
    /// <summary>Smallest RSA modulus accepted, in bits (OpenSSH's own minimum since 8.x is 1024; 2048 is today's floor).</summary>
    public const int MinRsaBits = 2048;
    /// <summary>Largest RSA modulus, in bits (OpenSSH's SSHBUF_MAX_BIGNUM).</summary>
    public const int MaxRsaBits = 16384;

    public const string Ed25519 = "ssh-ed25519";
    public const string Rsa = "ssh-rsa";

    /// <summary>ECDSA key types with their curve identifier and the length of an uncompressed point (0x04 ‖ X ‖ Y).</summary>
    private static readonly Dictionary<string, (string Curve, int PointLength, int Bits)> Ecdsa = new()
    {
        ["ecdsa-sha2-nistp256"] = ("nistp256", 1 + 2 * 32, 256),
        ["ecdsa-sha2-nistp384"] = ("nistp384", 1 + 2 * 48, 384),
        ["ecdsa-sha2-nistp521"] = ("nistp521", 1 + 2 * 66, 521),
    };

    public static IReadOnlyList<string> AcceptedTypes { get; } = [Ed25519, .. Ecdsa.Keys, Rsa];

    /// <summary>The line as stored and handed to the guest: <c>TYPE BASE64 COMMENT</c>, single spaces, canonical base64.</summary>
    public string Line => Comment.Length == 0 ? $"{Type} {Convert.ToBase64String(Blob.AsSpan())}" : $"{Type} {Convert.ToBase64String(Blob.AsSpan())} {Comment}";

    /// <summary>OpenSSH's fingerprint, as <c>ssh-keygen -l</c> prints it: <c>SHA256:</c> and the unpadded base64 of the blob's SHA-256.</summary>
    public string Fingerprint => "SHA256:" + Convert.ToBase64String(SHA256.HashData(Blob.AsSpan())).TrimEnd('=');

    /// <summary>
    /// Reads <paramref name="text"/>, the content of a <c>.pub</c> file (one line; surrounding blank space is ignored).
    /// On refusal, <paramref name="error"/> says why in words a user can act on.
    /// </summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out SshPublicKey? key, [NotNullWhen(false)] out string? error)
    {
        key = null;
        error = Check(text, out key);
        return error is null;
    }

    private static string? Check(string? text, out SshPublicKey? key)
    {
        key = null;
        if (text is null || text.Length > MaxLength)
            return text is null ? "no public key given" : $"the key is too long ({text.Length} characters; an OpenSSH public key line is at most {MaxLength})";
        text = text.Trim();
        if (text.Length == 0) return "the key is empty; give the contents of a .pub file, such as ~/.ssh/id_ed25519.pub";
        if (text.Contains("PRIVATE KEY", StringComparison.Ordinal) || text.StartsWith("PuTTY-User-Key-File", StringComparison.Ordinal))
            return "this is a private key; give the .pub file (never share the private key)";
        if (text.StartsWith("---- BEGIN SSH2 PUBLIC KEY", StringComparison.Ordinal))
            return "this is an RFC 4716 (SSH2) public key; convert it to OpenSSH's format with: ssh-keygen -i -f FILE";
        if (text.Contains('\n', StringComparison.Ordinal) || text.Contains('\r', StringComparison.Ordinal))
            return "give exactly one key: the text has more than one line";
        if (text.Any(c => c != '\t' && char.IsControl(c))) return "the key contains control characters";

        var fields = text.Split((char[]?)null, 3, StringSplitOptions.RemoveEmptyEntries);
        var type = fields[0];
        if (type == "ssh-dss") return "DSA keys (ssh-dss) are not accepted: OpenSSH no longer allows them; make an ed25519 key with: ssh-keygen -t ed25519";
        if (!AcceptedTypes.Contains(type))
            return LooksLikeKeyType(type)
                ? $"key type '{type}' is not accepted; accepted: {string.Join(", ", AcceptedTypes)}"
                : "not an OpenSSH public key: expected a line 'TYPE BASE64 [COMMENT]' such as the contents of ~/.ssh/id_ed25519.pub";
        if (fields.Length < 2) return $"the {type} key has no key data after its type (truncated?)";
        var blob = new byte[fields[1].Length];
        if (!Convert.TryFromBase64String(fields[1], blob, out var length) || length == 0)
            return "the key data is not valid base64 (truncated or damaged?)";
        blob = blob[..length];
        var comment = fields.Length == 3 ? string.Join(' ', fields[2].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)) : "";

        var reader = new BlobReader(blob);
        if (reader.String() is not { } embedded) return "the key data is truncated";
        if (!embedded.SequenceEqual(System.Text.Encoding.ASCII.GetBytes(type)))
            return $"the key data does not match the type {type}";
        var (structure, bits) = type switch
        {
            Ed25519 => (reader.String() is { Length: 32 } ? null : "an ed25519 key must hold exactly 32 bytes (truncated?)", 256),
            Rsa => CheckRsa(ref reader),
            _ => (CheckEcdsa(ref reader, Ecdsa[type]), Ecdsa[type].Bits),
        };
        if (structure is not null) return structure;
        if (!reader.AtEnd) return "the key data has extra bytes after the key";
        key = new SshPublicKey(type, [.. blob], comment, bits);
        return null;
    }

    /// <summary>Another SSH key type (sk-ssh-ed25519@openssh.com, a certificate, …) rather than text that is no key at all.</summary>
    private static bool LooksLikeKeyType(string type) => type.Length <= 64 &&
        (type.StartsWith("ssh-", StringComparison.Ordinal) || type.StartsWith("ecdsa-", StringComparison.Ordinal) ||
         type.StartsWith("sk-", StringComparison.Ordinal) || type.EndsWith("@openssh.com", StringComparison.Ordinal));

    private static string? CheckEcdsa(ref BlobReader reader, (string Curve, int PointLength, int Bits) curve)
    {
        if (reader.String() is not { } name) return "the ECDSA key data is truncated";
        if (!name.SequenceEqual(System.Text.Encoding.ASCII.GetBytes(curve.Curve))) return $"the ECDSA key's curve is not {curve.Curve}";
        return reader.String() is { } point && point.Length == curve.PointLength && point[0] == 0x04
            ? null
            : $"the ECDSA key's point is not an uncompressed {curve.Curve} point of {curve.PointLength} bytes (truncated?)";
    }

    private static (string? Error, int Bits) CheckRsa(ref BlobReader reader)
    {
        var e = reader.String();
        var n = reader.String();
        if (e is null || n is null) return ("the RSA key data is truncated", 0);
        if (!PositiveMpint(e) || !PositiveMpint(n)) return ("the RSA key's exponent or modulus is not a positive integer", 0);
        var bits = BitLength(n);
        if ((e[^1] & 1) == 0 || BitLength(e) < 2) return ("the RSA key's exponent is not an odd number above 1", bits);
        if (bits < MinRsaBits) return ($"the RSA key has {bits} bits; at least {MinRsaBits} are required (make an ed25519 key with: ssh-keygen -t ed25519)", bits);
        if (bits > MaxRsaBits) return ($"the RSA key has {bits} bits; at most {MaxRsaBits} are accepted", bits);
        return (null, bits);
    }

    /// <summary>An mpint (RFC 4251 §5) above zero, in its shortest form: no sign bit, no needless leading zero.</summary>
    private static bool PositiveMpint(ReadOnlySpan<byte> v) =>
        v.Length > 0 && (v[0] & 0x80) == 0 && !(v[0] == 0 && (v.Length == 1 || (v[1] & 0x80) == 0));

    private static int BitLength(ReadOnlySpan<byte> v)
    {
        var i = v[0] == 0 ? 1 : 0;
        return (v.Length - i - 1) * 8 + (32 - System.Numerics.BitOperations.LeadingZeroCount((uint)v[i]));
    }

    /// <summary>Reads SSH wire strings (a 32-bit big-endian length, then that many bytes) off a blob.</summary>
    private ref struct BlobReader(ReadOnlySpan<byte> blob)
    {
        private ReadOnlySpan<byte> _rest = blob;

        public readonly bool AtEnd => _rest.IsEmpty;

        /// <summary>The next string, or null when the blob ends before it does.</summary>
        public byte[]? String()
        {
            if (_rest.Length < 4) return null;
            var length = BinaryPrimitives.ReadUInt32BigEndian(_rest);
            if (length > (uint)(_rest.Length - 4)) return null;
            var value = _rest.Slice(4, (int)length).ToArray();
            _rest = _rest[(4 + (int)length)..];
            return value;
        }
    }
}
