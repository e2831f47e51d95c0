using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent;

/// <summary>
/// Issue 20: this host's identity on the marketplace's links: its certificate (with the private key), issued by the
/// marketplace's authority for this host's name, and the authority every peer's certificate must chain to
/// (<see cref="MarketCertificates"/>).
/// </summary>
internal sealed record AgentTls(X509Certificate2 Certificate, X509Certificate2 Authority)
{
    /// <summary>Reads <c>--tls-cert</c>, <c>--tls-key</c> and <c>--tls-ca</c>: all three or none.</summary>
    public static (AgentTls? Tls, string? Error) Load(IConfiguration config, string hostName)
    {
        string? cert = config["tls-cert"], key = config["tls-key"], ca = config["tls-ca"];
        if (string.IsNullOrEmpty(cert) && string.IsNullOrEmpty(key) && string.IsNullOrEmpty(ca))
            return (null, null);
        if (string.IsNullOrEmpty(cert) || string.IsNullOrEmpty(key) || string.IsNullOrEmpty(ca))
            return (null, "--tls-cert, --tls-key and --tls-ca go together: this host's certificate, its key and the marketplace's authority");
        X509Certificate2 certificate, authority;
        try
        {
            using var loaded = X509Certificate2.CreateFromPemFile(cert, key);
            // An ephemeral key cannot serve TLS on every platform; a PKCS#12 round trip makes it a persisted one.
            certificate = X509CertificateLoader.LoadPkcs12(loaded.Export(X509ContentType.Pkcs12), null);
            authority = X509CertificateLoader.LoadCertificateFromFile(ca);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            return (null, $"cannot read this host's certificate ({cert}, {key}) or the authority ({ca}): {e.Message}");
        }
        var identity = MarketCertificates.Verify(certificate, authority, DateTimeOffset.UtcNow);
        if (identity is null)
            return (null, $"--tls-cert {cert} is not a valid certificate of the authority in {ca} (expired, or from another marketplace)");
        if (identity != MarketIdentity.Host(hostName))
            return (null, $"--tls-cert {cert} is for {identity}, not for host {hostName} (--name)");
        return (new AgentTls(certificate, authority), null);
    }
}
