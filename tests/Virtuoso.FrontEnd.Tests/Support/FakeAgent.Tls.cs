using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.FrontEnd.Tests.Support;

internal sealed partial class FakeAgent
{
    /// <summary>Issue 20: the fake's TLS settings on its HTTP port, when it serves HTTPS (its VMMP's are <c>Tls</c>).</summary>
    public FakeAgentTls? Https { get; private init; }
}

/// <summary>
/// Issue 20: what a fake agent shows and checks on TLS. <see cref="Certificate"/> can be swapped while it runs (a test serves
/// another host's certificate, or an older one of its own); every handshake uses the current one.
/// </summary>
internal sealed class FakeAgentTls(X509Certificate2 certificate, X509Certificate2 authority)
{
    public X509Certificate2 Certificate { get; set; } = certificate;
    public X509Certificate2 Authority { get; set; } = authority;
    /// <summary>The identity of every client certificate shown at a control call (null: none, or not of the authority).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<MarketIdentity?> Clients { get; } = new();

    public void Configure(WebApplicationBuilder builder)
    {
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k => k.ConfigureHttpsDefaults(h =>
        {
            h.ServerCertificateSelector = (_, _) => Certificate;
            h.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
            h.ClientCertificateValidation = (_, _, _) => true;
        }));
    }

    public bool IsFrontEnd(HttpContext context)
    {
        var identity = context.Connection.ClientCertificate is { } c ? MarketCertificates.Verify(c, Authority, DateTimeOffset.UtcNow) : null;
        Clients.Enqueue(identity);
        return identity == MarketIdentity.FrontEnd;
    }
}
