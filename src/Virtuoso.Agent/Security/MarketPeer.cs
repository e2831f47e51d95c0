using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Security;

/// <summary>
/// Issue 20: an agent with <see cref="AgentOptions.Tls"/> serves HTTPS only, with this host's certificate, and asks every client
/// for a certificate without requiring one (a stranger still reaches the health check's liveness). A certificate of another
/// authority ends the handshake; one of the marketplace's is judged per request (<see cref="Of"/>): which identity it is.
/// Kestrel keeps one set of HTTPS defaults (the last configured): this is the agent's only one. <see cref="SecretAuthentication"/> lets control calls through only from the front-end's certificate AND with
/// the host secret.
/// </summary>
internal static class MarketPeer
{
    private static readonly ConditionalWeakTable<X509Certificate2, Verdict> Verdicts = new();

    /// <summary>Kestrel's HTTPS settings for an agent with TLS; nothing without.</summary>
    public static void UseAgentTls(this WebApplicationBuilder builder, AgentOptions options)
    {
        if (options.Tls is not { } tls)
            return;
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https =>
        {
            https.ServerCertificateSelector = (_, _) => tls.Certificate; // the current one: renewed without a restart (AgentTls)
            https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
            https.SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13;
            // Not the system's roots: a certificate of another authority ends the handshake; one of the marketplace's passes, and
            // what it may call is decided per request (Of()). No certificate at all passes too (health's liveness is for anyone).
            https.ClientCertificateValidation = (certificate, _, _) => MarketCertificates.Verify(certificate, tls.Authority, DateTimeOffset.UtcNow) is not null;
            https.CheckCertificateRevocation = false;
        }));
    }

    /// <summary>
    /// Who the client of this request is by its TLS certificate: its identity when the certificate chains to the marketplace's
    /// authority and is valid now; null without TLS, without a certificate, or with anyone else's. One check per connection.
    /// </summary>
    public static MarketIdentity? Of(HttpContext context, AgentTls? tls, TimeProvider clock)
    {
        if (tls is null || context.Connection.ClientCertificate is not { } certificate)
            return null;
        var verdict = Verdicts.GetValue(certificate, c => new Verdict(MarketCertificates.Verify(c, tls.Authority, clock.GetUtcNow())));
        // A verdict is kept as long as the certificate object (one connection); its validity is still checked at every call.
        return verdict.Identity is not null && certificate.NotAfter.ToUniversalTime() > clock.GetUtcNow().UtcDateTime ? verdict.Identity : null;
    }

    /// <summary>Whether the client shows the front-end's certificate; true for every client of an agent without TLS.</summary>
    public static bool IsFrontEnd(HttpContext context, AgentTls? tls, TimeProvider clock) =>
        tls is null || Of(context, tls, clock) == MarketIdentity.FrontEnd;

    private sealed record Verdict(MarketIdentity? Identity);
}
