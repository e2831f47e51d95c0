using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Agent.Security;

/// <summary>
/// Every call but the health check must carry <c>Authorization: Bearer &lt;host secret&gt;</c> (design §2: agents never
/// trust the network; report §6.2.3 footnote 26 is what we do better). Runs before routing, so an unauthenticated
/// caller learns nothing, not even whether a machine or route exists, and changes nothing.
/// Issue 20: on an agent with TLS, the caller must also show the front-end's client certificate from the marketplace's
/// authority (<see cref="MarketPeer"/>): the certificate is the first factor, the secret the second. A host's certificate
/// (another agent's) is not enough: agents reach each other only on the transfer routes.
/// </summary>
internal sealed class SecretAuthentication(RequestDelegate next, AgentOptions options, TimeProvider clock, ILogger<SecretAuthentication> log)
{
    // Compare digests, so that neither the content nor the length of the secret leaks through timing.
    private readonly byte[] _secretDigest = SHA256.HashData(Encoding.UTF8.GetBytes(options.Secret));
    private readonly byte[]? _metricsDigest = options.MetricsToken is { } token ? SHA256.HashData(Encoding.UTF8.GetBytes(token)) : null;

    public async Task InvokeAsync(HttpContext context)
    {
        if (IsPublic(context.Request) || IsScrape(context.Request))
        {
            await next(context);
            return;
        }
        if (!MarketPeer.IsFrontEnd(context, options.Tls, clock))
        {
            await Security.Unauthenticated.WriteAsync(context, log, MarketPeer.Of(context, options.Tls, clock) is { } other
                ? $"this call is for the marketplace's front-end only, and the client certificate shown is {other}'s"
                : "this call needs the marketplace front-end's client certificate (TLS, from the marketplace's authority) and the host secret");
            return;
        }
        if (Presents(context.Request.Headers.Authorization.ToString()))
        {
            await next(context);
            return;
        }
        await Security.Unauthenticated.WriteAsync(context, log, "this call needs the host secret: Authorization: Bearer <secret>");
    }

    // Transfer routes are authenticated by the migration token instead (Migration.Origin.TransferAuthentication).
    private static bool IsPublic(HttpRequest request) =>
        Migration.Origin.TransferAuthentication.Covers(request.Path) ||
        (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) && request.Path.Equals(AgentRoutes.Health, StringComparison.Ordinal);

    // A scraper's GET of /metrics with the metrics token (AgentOptions.MetricsToken), with or without a client certificate.
    private bool IsScrape(HttpRequest request) =>
        _metricsDigest is not null && HttpMethods.IsGet(request.Method) &&
        request.Path.Equals(Telemetry.TelemetrySetup.Path, StringComparison.Ordinal) &&
        Presents(request.Headers.Authorization.ToString(), _metricsDigest);

    private bool Presents(string header) => Presents(header, _secretDigest);

    private static bool Presents(string header, byte[] expected)
    {
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return false;
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(digest, expected);
    }
}
