using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Dapper;
using Virtuoso.Contracts.Agent;
using Virtuoso.FrontEnd.Data;

namespace Virtuoso.FrontEnd.Agents;

/// <summary>
/// Issue 20: the marketplace's certificate authority as this replica holds it, and this replica's own certificate
/// (<see cref="MarketIdentity.FrontEnd"/>, with its key) that it shows to agents as a client and on its VMMP listener as
/// a server.
/// The authority lives in the database (table <c>market_authority</c>, migration 0023): the first replica to start makes it
/// and inserts it if none is there (<c>ON CONFLICT DO NOTHING</c>: replicas racing cannot both win), then every replica loads
/// the stored one, so all of them issue and accept the same certificates. Each replica makes its own front-end certificate
/// at start, valid <see cref="CertificateLifetime"/>, and a new one when less than <see cref="RenewBefore"/> is left.
/// Program loads it (<see cref="LoadAsync"/>) right after the database migrations, before anything calls an agent.
/// </summary>
internal sealed class MarketTrust(Database db, TimeProvider clock)
{
    /// <summary>How long a replica's own certificate is valid.</summary>
    public static readonly TimeSpan CertificateLifetime = TimeSpan.FromDays(30);
    /// <summary>A replica's certificate is replaced when less than this is left of it.</summary>
    public static readonly TimeSpan RenewBefore = TimeSpan.FromDays(10);
    /// <summary>How long a host's certificate is valid (renewed by <c>virtuoso-agent enroll</c>).</summary>
    public static readonly TimeSpan HostCertificateLifetime = TimeSpan.FromDays(365);

    private readonly Lock _gate = new();
    private X509Certificate2? _authority;
    private X509Certificate2? _certificate;

    /// <summary>The authority (with its private key: this replica issues hosts' certificates).</summary>
    public X509Certificate2 Authority => _authority ?? throw new InvalidOperationException("MarketTrust.LoadAsync has not run");

    /// <summary>This replica's certificate, with its private key; a fresh one once the current one nears its end.</summary>
    public X509Certificate2 Certificate
    {
        get
        {
            var now = clock.GetUtcNow();
            lock (_gate)
            {
                if (_certificate is null || _certificate.NotAfter.ToUniversalTime() - now.UtcDateTime < RenewBefore)
                    _certificate = Usable(MarketCertificates.IssueWithKey(Authority, MarketIdentity.FrontEnd, now, CertificateLifetime));
                return _certificate;
            }
        }
    }

    /// <summary>The authority's certificate as PEM (what hosts are given as their <c>ca.crt</c>).</summary>
    public string AuthorityPem => Authority.ExportCertificatePem();

    /// <summary>Makes the authority if the database has none, loads the stored one, and makes this replica's certificate.</summary>
    public async Task LoadAsync(CancellationToken ct = default)
    {
        var stored = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<StoredAuthority>("SELECT certificate, private_key FROM market_authority WHERE id = 1"));
        if (stored is null)
        {
            var now = clock.GetUtcNow();
            using var made = MarketCertificates.CreateAuthority("Virtuoso marketplace authority", now);
            using var key = made.GetECDsaPrivateKey()!;
            await db.WriteAsync((c, tx) => c.ExecuteAsync(
                "INSERT INTO market_authority (id, certificate, private_key, created_at) VALUES (1, @certificate, @key, @at) ON CONFLICT (id) DO NOTHING",
                new { certificate = made.ExportCertificatePem(), key = key.ExportPkcs8PrivateKeyPem(), at = now }, tx));
            stored = await db.ReadAsync(c => c.QuerySingleAsync<StoredAuthority>("SELECT certificate, private_key FROM market_authority WHERE id = 1"));
        }
        using (var loaded = X509Certificate2.CreateFromPem(stored.Certificate, stored.PrivateKey))
            _authority = Usable(loaded);
        _ = Certificate;
    }

    /// <summary>A certificate for host <paramref name="name"/> on the key of <paramref name="requestKey"/>.</summary>
    public X509Certificate2 IssueForHost(PublicKey requestKey, string name) =>
        MarketCertificates.Issue(Authority, requestKey, MarketIdentity.Host(name), clock.GetUtcNow(), HostCertificateLifetime);

    /// <summary>What an agent's certificate says it is, when it chains to this marketplace's authority and is valid now.</summary>
    public MarketIdentity? Verify(X509Certificate2 certificate) => MarketCertificates.Verify(certificate, Authority, clock.GetUtcNow());

    // An ephemeral key cannot serve TLS on every platform; a PKCS#12 round trip makes it a persisted one (as the agent does).
    private static X509Certificate2 Usable(X509Certificate2 certificate)
    {
        using (certificate)
            return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
    }

    private sealed class StoredAuthority
    {
        public string Certificate { get; set; } = "";
        public string PrivateKey { get; set; } = "";
    }
}
