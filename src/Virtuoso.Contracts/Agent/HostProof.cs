using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Virtuoso.Contracts.Agent;

/// <summary>
/// Issue 20: how an agent proves it is a host of the marketplace when it fetches a blob from the front-end
/// (<c>GET /agent/v1/hosts/{host}/blobs/{sha256}</c>), without the host's secret crossing the network: the front-end's
/// web port may be cleartext HTTP (<c>./run</c>), and a bearer secret seen there would let anyone call the agent. The
/// credential is <c>VirtuosoHost TIME.PROOF</c>: the Unix time and HMAC-SHA-256 under the host's secret of the host, the
/// blob and that time. It opens that one blob for that host within <see cref="Window"/> of the time, nothing else.
/// </summary>
public static class HostProof
{
    public const string Scheme = "VirtuosoHost";

    /// <summary>How far the proof's time may be from the front-end's clock (either way).</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);

    /// <summary>The <c>Authorization</c> value's parameter (after the scheme) for <paramref name="host"/> fetching <paramref name="sha256"/>.</summary>
    public static string Credential(string secret, string host, string sha256, DateTimeOffset now)
    {
        var time = now.ToUnixTimeSeconds();
        return $"{time.ToString(CultureInfo.InvariantCulture)}.{Convert.ToHexStringLower(Proof(secret, host, sha256, time))}";
    }

    /// <summary>Whether <paramref name="credential"/> (the part after the scheme) proves <paramref name="secret"/> for this host and blob at about <paramref name="now"/>.</summary>
    public static bool Verify(string credential, string secret, string host, string sha256, DateTimeOffset now)
    {
        var dot = credential.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || !long.TryParse(credential.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var time))
            return false;
        if (Math.Abs(now.ToUnixTimeSeconds() - time) > (long)Window.TotalSeconds)
            return false;
        byte[] presented;
        try
        {
            presented = Convert.FromHexString(credential.AsSpan(dot + 1));
        }
        catch (FormatException)
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(presented, Proof(secret, host, sha256, time));
    }

    private static byte[] Proof(string secret, string host, string sha256, long time) =>
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret),
            Encoding.UTF8.GetBytes($"virtuoso-blob\n{host}\n{sha256}\n{time.ToString(CultureInfo.InvariantCulture)}"));
}
