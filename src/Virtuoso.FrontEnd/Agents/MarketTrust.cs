using System.Security.Cryptography.X509Certificates;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.FrontEnd.Agents;

/// <summary>
/// Issue 20: the marketplace's certificate authority as this replica holds it, and this replica's own certificate
/// (<see cref="MarketIdentity.FrontEnd"/>, with its key) that it shows to agents as a client and on its VMMP listener as
/// a server.
/// STUB (this session's first commit, to be replaced by the branch that keeps the authority in the database so every
/// replica shares it): a new authority per process.
/// </summary>
internal sealed class MarketTrust
{
    public MarketTrust(TimeProvider clock)
    {
        var now = clock.GetUtcNow();
        Authority = MarketCertificates.CreateAuthority("Virtuoso marketplace", now);
        Certificate = MarketCertificates.IssueWithKey(Authority, MarketIdentity.FrontEnd, now, TimeSpan.FromDays(30));
    }

    /// <summary>The authority (with its private key: this replica issues hosts' certificates).</summary>
    public X509Certificate2 Authority { get; }

    /// <summary>This replica's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }
}
