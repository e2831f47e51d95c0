using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.FrontEnd.Tests.Support;

/// <summary>Issue 20: fake agents on TLS and the certificates the front-end issues them, as a real agent gets them.</summary>
internal static class TlsAgents
{
    /// <summary>A fake agent serving HTTPS with a stand-in certificate of no marketplace, until the test gives it one.</summary>
    public static async Task<(FakeAgent Agent, FakeAgentTls Tls)> StartAsync(string name)
    {
        var stranger = MarketCertificates.CreateAuthority("stranger", DateTimeOffset.UtcNow);
        var tls = new FakeAgentTls(Usable(MarketCertificates.IssueWithKey(stranger, MarketIdentity.Host(name), DateTimeOffset.UtcNow, TimeSpan.FromDays(1))), stranger);
        return (await FakeAgent.StartAsync(name, tls: tls), tls);
    }

    /// <summary>POST /api/v1/agents/certificate with the host's secret and a new key's request: its certificate (with the key) and the authority.</summary>
    public static async Task<(X509Certificate2 Certificate, X509Certificate2 Authority)> EnrollAsync(MarketFixture market, string name, string secret)
    {
        var (csr, key) = MarketCertificates.NewRequest(name);
        using (key)
        {
            var answer = await Session.Ok<JoinResponse>(await market.Anonymous().PostAsJsonAsync("/api/v1/agents/certificate", new EnrollRequest(name, secret, csr)));
            return Received(answer, key);
        }
    }

    /// <summary>The certificate of a join or enrollment answer with the key of its request, and the authority.</summary>
    public static (X509Certificate2 Certificate, X509Certificate2 Authority) Received(JoinResponse answer, ECDsa key)
    {
        using var certificate = X509Certificate2.CreateFromPem(answer.Certificate!);
        return (Usable(certificate.CopyWithPrivateKey(key)), X509Certificate2.CreateFromPem(answer.Authority!));
    }

    // An ephemeral key cannot serve TLS everywhere; a PKCS#12 round trip makes it usable.
    private static X509Certificate2 Usable(X509Certificate2 certificate)
    {
        using (certificate)
            return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }
}
