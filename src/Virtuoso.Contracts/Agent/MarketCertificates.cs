using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Virtuoso.Contracts.Agent;

/// <summary>Who a marketplace certificate speaks for: a front-end replica, or the agent of one host.</summary>
public enum MarketRole
{
    FrontEnd,
    Host,
}

/// <summary>The identity a marketplace certificate carries: its role, and for a host its name.</summary>
public sealed record MarketIdentity(MarketRole Role, string Name)
{
    public static MarketIdentity FrontEnd { get; } = new(MarketRole.FrontEnd, "frontend");
    public static MarketIdentity Host(string name) => new(MarketRole.Host, name);
    public override string ToString() => Role == MarketRole.Host ? $"host {Name}" : "the front-end";
}

/// <summary>
/// Issue 20: the marketplace's own certificate authority, shared by the front-end (which keeps the authority and issues)
/// and the agents (which check). Every link between the parts is TLS with both ends showing a certificate of this authority;
/// a peer is trusted for what its certificate says it is (<see cref="MarketIdentity"/>: the organisational unit is the
/// role, the common name the host's name), never for the address it connects from. Host names are checked by the caller
/// against the one it expects (the host it meant to reach, or the destination of an export), not against DNS: agents are
/// reached by IP literals as often as by names. Keys are ECDSA P-256; certificates are for client and server use both.
/// </summary>
public static class MarketCertificates
{
    private const string FrontEndUnit = "virtuoso-frontend";
    private const string HostUnit = "virtuoso-host";
    private const string Organisation = "Virtuoso marketplace";
    private const string CommonNameOid = "2.5.4.3";
    private const string UnitOid = "2.5.4.11";
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    /// <summary>A new authority: a self-signed ECDSA P-256 root, valid for <paramref name="years"/>.</summary>
    public static X509Certificate2 CreateAuthority(string name, DateTimeOffset now, int years = 10)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={Escape(name)}, O={Organisation}"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(years));
    }

    /// <summary>
    /// A certificate for <paramref name="identity"/> on <paramref name="publicKey"/> (from a certificate request, or a key
    /// made here), signed by <paramref name="authority"/> (which must hold its private key), with a random serial.
    /// <para>The identity is in the subject (what the marketplace's own parts check). Standard clients (Prometheus scraping an
    /// agent's <c>/metrics</c>, curl) check a subject alternative name instead: a host's certificate names the host, as a
    /// DNS name (so such a client is told the host's name: Prometheus' <c>server_name</c>, curl's <c>--connect-to</c>). Never
    /// its address: a provider types that, and could type another's.</para>
    /// </summary>
    public static X509Certificate2 Issue(X509Certificate2 authority, PublicKey publicKey, MarketIdentity identity, DateTimeOffset now, TimeSpan lifetime)
    {
        var request = new CertificateRequest(SubjectOf(identity), publicKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(AlternativeNames(identity));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuth, ClientAuth], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));
        var notAfter = now + lifetime < authority.NotAfter ? now + lifetime : new DateTimeOffset(authority.NotAfter);
        // 16 random bytes whose first is 0x40–0x7F: a positive DER integer with no leading zero added or dropped, so every
        // serial is 32 hex digits (SerialOf) whatever the draw (a high first bit made it 34, a zero first byte 30: a flaky test).
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)(serial[0] & 0x3F | 0x40);
        return request.Create(authority, now.AddMinutes(-5), notAfter, serial);
    }

    private static X509Extension AlternativeNames(MarketIdentity identity)
    {
        var names = new SubjectAlternativeNameBuilder();
        var name = identity.Role == MarketRole.Host ? identity.Name : FrontEndUnit;
        if (Uri.CheckHostName(name) == UriHostNameType.Dns)
            names.AddDnsName(name);
        return names.Build();
    }

    /// <summary>A new key and a certificate for <paramref name="identity"/> on it (the front-end's own, or a test's).</summary>
    public static X509Certificate2 IssueWithKey(X509Certificate2 authority, MarketIdentity identity, DateTimeOffset now, TimeSpan lifetime)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = Issue(authority, new CertificateRequest("CN=unused", key, HashAlgorithmName.SHA256).PublicKey, identity, now, lifetime);
        return certificate.CopyWithPrivateKey(key);
    }

    /// <summary>A PEM certificate request for a new P-256 key; the key is returned too (an agent keeps it, sends the request).</summary>
    public static (string RequestPem, ECDsa Key) NewRequest(string hostName)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(SubjectOf(MarketIdentity.Host(hostName)), key, HashAlgorithmName.SHA256);
        return (request.CreateSigningRequestPem(), key);
    }

    /// <summary>
    /// The public key of a PEM certificate request whose signature holds (proof that the sender has the key), or null with
    /// a reason. What the request says about its subject is ignored: the authority decides the identity.
    /// </summary>
    public static PublicKey? KeyOfRequest(string pem, out string? error)
    {
        error = null;
        try
        {
            var request = CertificateRequest.LoadSigningRequestPem(pem, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.Default);
            if (request.PublicKey.Oid.Value != "1.2.840.10045.2.1") // id-ecPublicKey
            {
                error = "the certificate request's key must be ECDSA (P-256)";
                return null;
            }
            return request.PublicKey;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            error = $"not a valid PEM certificate request: {e.Message}";
            return null;
        }
    }

    /// <summary>The subject name that carries <paramref name="identity"/>.</summary>
    public static X500DistinguishedName SubjectOf(MarketIdentity identity) => new(identity.Role == MarketRole.Host
        ? $"CN={Escape(identity.Name)}, OU={HostUnit}, O={Organisation}"
        : $"CN={FrontEndUnit}, OU={FrontEndUnit}, O={Organisation}");

    /// <summary>What <paramref name="certificate"/> says it is, without checking who signed it (see <see cref="Verify"/>).</summary>
    public static MarketIdentity? IdentityOf(X509Certificate2 certificate)
    {
        string? name = null, unit = null;
        foreach (var part in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (part.HasMultipleElements)
                return null;
            switch (part.GetSingleElementType().Value)
            {
                case CommonNameOid: name = part.GetSingleElementValue(); break;
                case UnitOid: unit = part.GetSingleElementValue(); break;
            }
        }
        return (unit, name) switch
        {
            (HostUnit, { Length: > 0 } host) => MarketIdentity.Host(host),
            (FrontEndUnit, FrontEndUnit) => MarketIdentity.FrontEnd,
            _ => null,
        };
    }

    /// <summary>
    /// The identity of <paramref name="certificate"/> when it chains to <paramref name="authority"/> (and to nothing else),
    /// is within its validity at <paramref name="now"/> and is meant for TLS; otherwise null. Revocation is the caller's:
    /// the front-end knows which hosts exist, and an agent trusts a peer host only for the export the front-end named.
    /// </summary>
    public static MarketIdentity? Verify(X509Certificate2 certificate, X509Certificate2 authority, DateTimeOffset now)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        if (!chain.Build(certificate) || chain.ChainElements.Count != 2 || !chain.ChainElements[1].Certificate.RawDataMemory.Span.SequenceEqual(authority.RawDataMemory.Span))
            return null;
        return IdentityOf(certificate);
    }

    /// <summary>The serial number as lower-case hex, as the front-end stores it.</summary>
    public static string SerialOf(X509Certificate2 certificate) => certificate.SerialNumber.ToLowerInvariant();

    private static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(",", "\\,", StringComparison.Ordinal)
            .Replace("+", "\\+", StringComparison.Ordinal).Replace("=", "\\=", StringComparison.Ordinal)
            .Replace("\"", "\\\"", StringComparison.Ordinal).Replace("<", "\\<", StringComparison.Ordinal)
            .Replace(">", "\\>", StringComparison.Ordinal).Replace(";", "\\;", StringComparison.Ordinal);
}
