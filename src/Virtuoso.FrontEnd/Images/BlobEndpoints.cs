using System.Security.Cryptography;
using System.Text;
using Dapper;
using Virtuoso.FrontEnd.Data;

namespace Virtuoso.FrontEnd.Images;

/// <summary>
/// GET /agent/v1/hosts/{host}/blobs/{sha256}: a file an agent fetches by its SHA-256 (issue 15), proving the host's secret
/// without sending it (<see cref="Contracts.Agent.HostProof"/>, issue 20: this port may be cleartext). Ranges
/// are served, so an agent resumes a broken fetch. Only the catalogue's files are served, and a buyer's ISO only to the
/// host of a machine it is attached to (or the destination of that machine's open migration); anything else is 404,
/// and a wrong secret 401, without saying whether the blob exists.
/// </summary>
internal static class BlobEndpoints
{
    public static string Path(string host, string sha256) => $"/agent/v1/hosts/{Uri.EscapeDataString(host)}/blobs/{sha256}";

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/agent/v1/hosts/{host}/blobs/{sha256}", async (string host, string sha256, HttpRequest request, Database db, ImageCatalogue catalogue,
            Isos.IsoService isos, TimeProvider clock, ILogger<ImageCatalogue> log) =>
        {
            var secret = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<string>("SELECT secret FROM hosts WHERE name = @host", new { host }));
            const string scheme = Contracts.Agent.HostProof.Scheme + " ";
            var presented = request.Headers.Authorization.ToString() is { } auth && auth.StartsWith(scheme, StringComparison.Ordinal) ? auth[scheme.Length..] : "";
            if (secret is null || !Contracts.Agent.HostProof.Verify(presented, secret, host, sha256, clock.GetUtcNow()))
            {
                ImagesLog.BlobRefused(log, sha256.Length > 64 ? sha256[..64] : sha256, host, "wrong, old or missing proof of the host's secret");
                return Results.Problem(statusCode: 401, title: "Not a host of this marketplace", detail: $"prove the host's secret: Authorization: {Contracts.Agent.HostProof.Scheme} TIME.HMAC",
                    extensions: new Dictionary<string, object?> { ["code"] = Contracts.Api.ErrorCodes.Unauthenticated });
            }
            var file = sha256.Length == 64 && sha256.All(char.IsAsciiHexDigitLower)
                ? await catalogue.FileAsync(sha256) ?? (await AttachedOnAsync(db, host, sha256) ? isos.BlobPath(sha256) : null)
                : null;
            if (file is null || !File.Exists(file))
                return Results.Problem(statusCode: 404, title: "No such blob", detail: $"this front-end serves no file with SHA-256 {(sha256.Length > 64 ? sha256[..64] : sha256)}",
                    extensions: new Dictionary<string, object?> { ["code"] = Contracts.Api.ErrorCodes.NotFound });
            return Results.File(file, "application/octet-stream", enableRangeProcessing: true);
        }).AllowAnonymous().ExcludeFromDescription();

    // An ISO with these bytes is attached to a machine on the host, or on its way there.
    private static Task<bool> AttachedOnAsync(Database db, string host, string sha256) => db.ReadAsync(async c =>
        await c.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM machines m JOIN isos i ON i.id = m.cdrom_iso_id WHERE i.sha256 = @sha256 AND (m.host = @host OR EXISTS " +
            "(SELECT 1 FROM migrations g WHERE g.machine = m.id AND g.destination = @host AND g.phase IN ('open', 'committed')))",
            new { sha256, host }) > 0);
}
