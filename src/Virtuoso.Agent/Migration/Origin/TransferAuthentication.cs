using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Virtuoso.Agent.Migration.Methods;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Agent.Migration.Origin;

/// <summary>
/// Guards <c>/v1/transfer/{id}/...</c> (design §6.1: authentication rides beside VMMP, with a per-migration token
/// issued by the front-end). The caller must present <c>Authorization: Bearer &lt;token&gt;</c> of the export of that
/// very machine; anything else gets 401 before routing, exactly like <see cref="Security.SecretAuthentication"/>,
/// which leaves these paths to this middleware. On success the export is in
/// <c>HttpContext.Items[<see cref="ExportContext.ItemKey"/>]</c>.
/// <para>Issue 20 point 1: on a host with <see cref="AgentOptions.Tls"/>, the token is not enough: the request must also
/// come over TLS with a client certificate of the marketplace's authority naming the host the export is for
/// (<see cref="ExportRegistry.Export.Destination"/>). Another host's certificate, another authority's, or none: 401.</para>
/// </summary>
internal sealed class TransferAuthentication(RequestDelegate next, ExportRegistry exports, AgentOptions options, TimeProvider clock,
    ILogger<TransferAuthentication> log)
{
    private static readonly PathString Prefix = new(Contracts.Agent.TransferRoutes.Prefix.TrimEnd('/'));

    /// <summary>Whether a request is a transfer call: authenticated by migration token, never by the host secret.</summary>
    public static bool Covers(PathString path) => path.StartsWithSegments(Prefix, StringComparison.OrdinalIgnoreCase);

    public async Task InvokeAsync(HttpContext context)
    {
        if (!Covers(context.Request.Path))
        {
            await next(context);
            return;
        }
        var export = Authenticate(context.Request);
        if (export is not null && options.Tls is { } tls)
        {
            var identity = MarketTls.IdentityOf(context.Connection.ClientCertificate, tls.Authority, clock);
            if (export.Destination is null || identity != MarketIdentity.Host(export.Destination))
            {
                await Security.Unauthenticated.WriteAsync(context, log,
                    "this call needs the migration token of an export of this machine and, over TLS, the certificate of the host it is exported to");
                return;
            }
        }
        if (export is not null)
        {
            context.Items[ExportContext.ItemKey] = export.Context;
            await next(context);
            return;
        }
        await Security.Unauthenticated.WriteAsync(context, log, "this call needs the migration token of an export of this machine: Authorization: Bearer <token>");
    }

    private ExportRegistry.Export? Authenticate(HttpRequest request)
    {
        const string scheme = "Bearer ";
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return null;
        request.Path.StartsWithSegments(Prefix, StringComparison.OrdinalIgnoreCase, out var rest);
        var segments = rest.Value?.Split('/', StringSplitOptions.RemoveEmptyEntries) ?? [];
        if (segments.Length == 0 || !Guid.TryParse(segments[0], out var id))
            return null;
        return exports.Authenticate(id, header[scheme.Length..].Trim());
    }
}
