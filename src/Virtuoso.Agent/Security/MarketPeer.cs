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
        var served = new ServedCertificate(tls, options.Name, builder.Configuration["tls-cert"]!, builder.Configuration["tls-key"]!);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https =>
        {
            https.ServerCertificateSelector = (_, _) => served.Current;
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

    /// <summary>
    /// The certificate the HTTPS port serves: the one the agent started with, then whatever <c>--tls-cert</c> and
    /// <c>--tls-key</c> hold once they change (<c>virtuoso-agent enroll</c> renewing it, or the front-end's new serial after an
    /// enrollment), without a restart, so a renewal never takes the host offline. A new file is taken only when it is a
    /// valid certificate of the same authority for this host; otherwise the previous one is kept. Files are looked at no
    /// more than once a second.
    /// </summary>
    private sealed class ServedCertificate(AgentTls tls, string host, string certificateFile, string keyFile)
    {
        private readonly Lock _gate = new();
        private X509Certificate2 _current = tls.Certificate;
        private DateTime _written = File.GetLastWriteTimeUtc(certificateFile);
        private long _checked = Environment.TickCount64;

        public X509Certificate2 Current
        {
            get
            {
                lock (_gate)
                {
                    if (Environment.TickCount64 - _checked < 1000)
                        return _current;
                    _checked = Environment.TickCount64;
                    var written = File.GetLastWriteTimeUtc(certificateFile);
                    if (written == _written)
                        return _current;
                    _written = written;
                    try
                    {
                        using var loaded = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
                        var fresh = X509CertificateLoader.LoadPkcs12(loaded.Export(X509ContentType.Pkcs12), null);
                        if (MarketCertificates.Verify(fresh, tls.Authority, DateTimeOffset.UtcNow) == MarketIdentity.Host(host))
                            _current = fresh;
                    }
                    catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException)
                    {
                        // Half-written or unreadable: the next change is tried again; the current one serves meanwhile.
                        _written = default;
                    }
                    return _current;
                }
            }
        }
    }
}
