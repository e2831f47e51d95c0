using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Virtuoso.Contracts.Agent;

/// <summary>
/// Issue 20 point 1: the TLS settings of the marketplace's links that are not the front-end's HTTP calls to agents —
/// VMMP (front-end ↔ agent), the agents' transfer routes and the rsync tunnel (agent ↔ agent). Both ends show a
/// certificate of the marketplace's authority (<see cref="MarketCertificates"/>) and each accepts the other only for the
/// identity it expects: the host it meant to reach, the front-end, or (when any of several would do) whatever the caller's
/// <c>accept</c> says. TLS 1.2 and 1.3 only; the system's certificate store plays no part.
/// </summary>
public static class MarketTls
{
    private const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>
    /// A client's options: show <paramref name="own"/> (with its key) and accept the server only when its certificate
    /// chains to <paramref name="authority"/> and names <paramref name="server"/> — and, when <paramref name="serial"/> is given,
    /// is that very certificate (the host's current one: an older one of the same host, from before it enrolled again, is refused).
    /// </summary>
    public static SslClientAuthenticationOptions Client(X509Certificate2 own, X509Certificate2 authority, MarketIdentity server, TimeProvider? clock = null, string? serial = null) => new()
    {
        // Host names are checked against the certificate's identity, not DNS (agents are reached by IP literals).
        TargetHost = server.Role == MarketRole.Host ? server.Name : "virtuoso-frontend",
        EnabledSslProtocols = Protocols,
        // The context makes the client send its certificate whatever the server's list of acceptable authorities says.
        ClientCertificateContext = SslStreamCertificateContext.Create(own, null, offline: true),
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => Accepts(certificate, authority, clock, id => id == server) &&
            (serial is null || SerialOf(certificate!) == serial),
    };

    /// <summary>
    /// A server's options: show <paramref name="own"/>, require a client certificate, and accept the client only when it
    /// chains to <paramref name="authority"/> and <paramref name="accept"/> takes its identity.
    /// </summary>
    public static SslServerAuthenticationOptions Server(X509Certificate2 own, X509Certificate2 authority, Func<MarketIdentity, bool> accept, TimeProvider? clock = null) => new()
    {
        ServerCertificateContext = SslStreamCertificateContext.Create(own, null, offline: true),
        ClientCertificateRequired = true,
        EnabledSslProtocols = Protocols,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => Accepts(certificate, authority, clock, accept),
    };

    /// <summary>The identity of a peer's certificate when it is the authority's and valid now; null otherwise (or none shown).</summary>
    public static MarketIdentity? IdentityOf(X509Certificate? certificate, X509Certificate2 authority, TimeProvider? clock = null) => certificate switch
    {
        null => null,
        X509Certificate2 c2 => MarketCertificates.Verify(c2, authority, (clock ?? TimeProvider.System).GetUtcNow()),
        _ => VerifyCopy(certificate, authority, clock),
    };

    /// <summary>
    /// Whether <paramref name="first"/> (the first byte a peer sent) opens a TLS handshake (a TLS record of type
    /// handshake, 0x16): how a listener that serves both tells a TLS client from a cleartext VMMP line, which starts with
    /// '&lt;' or 'A'.
    /// </summary>
    public static bool IsHandshake(byte first) => first == 0x16;

    private static string SerialOf(X509Certificate certificate)
    {
        if (certificate is X509Certificate2 c2)
            return MarketCertificates.SerialOf(c2);
        using var copy = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return MarketCertificates.SerialOf(copy);
    }

    private static MarketIdentity? VerifyCopy(X509Certificate certificate, X509Certificate2 authority, TimeProvider? clock)
    {
        using var copy = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return MarketCertificates.Verify(copy, authority, (clock ?? TimeProvider.System).GetUtcNow());
    }

    private static bool Accepts(X509Certificate? certificate, X509Certificate2 authority, TimeProvider? clock, Func<MarketIdentity, bool> accept) =>
        // The policy errors SslStream reports come from the system's store, which does not hold the authority: ignored,
        // the chain is built again against the authority alone.
        IdentityOf(certificate, authority, clock) is { } identity && accept(identity);
}
