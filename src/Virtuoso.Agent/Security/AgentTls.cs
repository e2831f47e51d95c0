using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent;

/// <summary>
/// Issue 20: this host's identity on the marketplace's links: its certificate (with the private key), issued by the
/// marketplace's authority for this host's name, and the authority every peer's certificate must chain to
/// (<see cref="MarketCertificates"/>).
/// <para>
/// <see cref="Certificate"/> is the current one on every link (the HTTPS port, VMMP, transfers, the link to the front-end):
/// the one the agent started with, then whatever <c>--tls-cert</c> and <c>--tls-key</c> hold once they change
/// (<c>virtuoso-agent enroll</c>, or the agent renewing itself, <see cref="Security.CertificateRenewal"/>), without a restart,
/// so a renewal never takes the host offline: the front-end accepts only the host's newest serial on each link. A new file
/// is taken only when it is a valid certificate of the same authority for this host; otherwise the previous one is kept.
/// Files are looked at no more than once a second.
/// </para>
/// </summary>
internal sealed class AgentTls(X509Certificate2 certificate, X509Certificate2 authority, string? certificateFile = null, string? keyFile = null, string? hostName = null)
{
    private readonly Lock _gate = new();
    private X509Certificate2 _current = certificate;
    private DateTime _written = certificateFile is null ? default : File.GetLastWriteTimeUtc(certificateFile);
    private long _checked = Environment.TickCount64;

    public X509Certificate2 Authority { get; } = authority;

    /// <summary>The <c>--tls-cert</c> file (null for a certificate given in memory, as some tests do).</summary>
    public string? CertificateFile => certificateFile;

    /// <summary>This host's current certificate, with its key.</summary>
    public X509Certificate2 Certificate
    {
        get
        {
            if (certificateFile is null || keyFile is null || hostName is null)
                return _current;
            lock (_gate)
            {
                if (Environment.TickCount64 - _checked < 1000)
                    return _current;
                _checked = Environment.TickCount64;
                // Either file's change counts: a certificate copied before its key is taken once the key is there too.
                var written = new[] { File.GetLastWriteTimeUtc(certificateFile), File.GetLastWriteTimeUtc(keyFile) }.Max();
                if (written == _written)
                    return _current;
                try
                {
                    var fresh = LoadUsable(certificateFile, keyFile);
                    if (MarketCertificates.Verify(fresh, Authority, DateTimeOffset.UtcNow) == MarketIdentity.Host(hostName))
                        _current = fresh;
                    _written = written; // a valid pair of another host or authority is not looked at again until it changes
                }
                catch (Exception e) when (e is CryptographicException or ArgumentException or IOException or UnauthorizedAccessException)
                {
                    // Half-written, unreadable, or a certificate and a key that are not a pair (yet): looked at again within a
                    // second; the current one serves meanwhile.
                }
                return _current;
            }
        }
    }

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
            certificate = LoadUsable(cert, key);
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
        return (new AgentTls(certificate, authority, cert, key, hostName), null);
    }

    // An ephemeral key cannot serve TLS on every platform; a PKCS#12 round trip makes it a persisted one.
    private static X509Certificate2 LoadUsable(string certificateFile, string keyFile)
    {
        using var loaded = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        return X509CertificateLoader.LoadPkcs12(loaded.Export(X509ContentType.Pkcs12), null);
    }
}
