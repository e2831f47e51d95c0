using System.Security.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Security;

/// <summary>
/// Issue 20 point 1: the agent's HTTP port under <see cref="AgentOptions.Tls"/>: every https:// address of <c>--urls</c>
/// serves this host's certificate and asks the client for one of the marketplace's authority. A certificate of another
/// authority ends the handshake; which identity may call what is decided per route (the transfer routes: the export's
/// destination host, <see cref="Migration.Origin.TransferAuthentication"/>). With TLS, a cleartext http:// address is refused.
/// </summary>
internal static class AgentHttps
{
    /// <summary>Why the agent cannot start with these addresses, or null; sets Kestrel up when the host has TLS.</summary>
    public static string? Configure(WebApplicationBuilder builder, AgentOptions options)
    {
        if (options.Tls is not { } tls)
            return null;
        var urls = builder.Configuration["urls"] ?? "";
        if (urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault(u => !u.StartsWith("https://", StringComparison.OrdinalIgnoreCase)) is { } plain)
            return $"--urls {plain}: with --tls-cert the agent listens on https:// addresses only";
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https =>
        {
            https.ServerCertificate = tls.Certificate;
            https.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
            https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
            https.CheckCertificateRevocation = false;
            https.ClientCertificateValidation = (certificate, _, _) => MarketTls.IdentityOf(certificate, tls.Authority) is not null;
        }));
        return null;
    }
}
