using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Data;

namespace Virtuoso.FrontEnd.Images;

/// <summary>
/// The catalogue of preconfigured base images (issue 15: "images are data that travel"; design §3: a preconfigured
/// configuration carries an installed OS image and states the minimum memory and disk it needs). At start-up every folder
/// of <see cref="MarketOptions.ImagesDirectory"/> holding an <c>image.json</c> (the same folders the agents' <c>--images</c>
/// take, as guest/build-*.sh write them) is hashed and written to <c>images</c> and <c>image_files</c>; a store or a
/// migration then tells the agent each file's SHA-256 and where to fetch it (<see cref="BlobEndpoints"/>), so a host that
/// was never given the image can hold any preconfigured machine. Replicas must see the same images directory.
/// </summary>
internal sealed class ImageCatalogue(Database db, IOptions<MarketOptions> options, TimeProvider clock, ILogger<ImageCatalogue> log, IServer? server = null)
{
    private sealed record Manifest(string? Name, string? Os, string? Kernel, string? Initrd, string? Disk, string? Append, long MinMemoryMb, long MinDiskMb);

    private sealed class ImageRow
    {
        public string Name { get; set; } = "";
        public string Os { get; set; } = "";
        public string? Kernel { get; set; }
        public string? Initrd { get; set; }
        public string Disk { get; set; } = "";
        public string? Append { get; set; }
        public long MinMemory { get; set; }
        public long MinDisk { get; set; }
        public long SizeBytes { get; set; }
        public string Sha256 { get; set; } = "";
    }

    private sealed record FileRow(string Image, string File, string Sha256, long SizeBytes);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Hashes the images directory and brings the catalogue up to date; an image whose folder is unusable is left out and logged.</summary>
    public async Task ImportAsync(CancellationToken ct = default)
    {
        if (options.Value.ImagesDirectory is not { } root)
            return;
        if (!Directory.Exists(root))
        {
            ImagesLog.DirectoryMissing(log, root);
            return;
        }
        foreach (var dir in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(dir);
            var file = Path.Combine(dir, "image.json");
            if (!File.Exists(file)) continue;
            Manifest? m;
            try
            {
                m = JsonSerializer.Deserialize<Manifest>(await File.ReadAllBytesAsync(file, ct), Json);
            }
            catch (JsonException e)
            {
                ImagesLog.Unusable(log, name, e.Message);
                continue;
            }
            if (m is null || m.Name != name || m.Disk is null ||
                new[] { m.Kernel, m.Initrd, m.Disk }.OfType<string>().Any(f => f != Path.GetFileName(f) || f is "" or "." or ".." or "image.json" || !File.Exists(Path.Combine(dir, f))))
            {
                ImagesLog.Unusable(log, name, "image.json must name the image after its folder and a disk (and kernel, initrd) that are files in that folder");
                continue;
            }
            var files = new List<FileRow>();
            foreach (var f in new[] { m.Kernel, m.Initrd, m.Disk }.OfType<string>())
            {
                var path = Path.Combine(dir, f);
                await using var input = File.OpenRead(path);
                files.Add(new FileRow(name, f, Convert.ToHexStringLower(await SHA256.HashDataAsync(input, ct)), input.Length));
            }
            var row = new ImageRow
            {
                Name = name, Os = m.Os ?? "", Kernel = m.Kernel, Initrd = m.Initrd, Disk = m.Disk, Append = m.Append,
                MinMemory = m.MinMemoryMb, MinDisk = m.MinDiskMb, SizeBytes = files.Sum(x => x.SizeBytes),
                Sha256 = files.Single(x => x.File == m.Disk).Sha256,
            };
            await SaveAsync(row, files);
            ImagesLog.Imported(log, name, row.SizeBytes, row.Sha256);
        }
    }

    // Replicas starting together import the same folders: every write is an upsert, so that none trips over another's.
    private Task SaveAsync(ImageRow row, List<FileRow> files) => db.WriteAsync(async (c, tx) =>
    {
        var now = clock.GetUtcNow();
        await c.ExecuteAsync(
            "INSERT INTO images (name, os, kernel, initrd, disk, append, min_memory, min_disk, size_bytes, sha256, updated_at) " +
            "VALUES (@Name, @Os, @Kernel, @Initrd, @Disk, @Append, @MinMemory, @MinDisk, @SizeBytes, @Sha256, @now) " +
            "ON CONFLICT (name) DO UPDATE SET os = excluded.os, kernel = excluded.kernel, initrd = excluded.initrd, disk = excluded.disk, " +
            "append = excluded.append, min_memory = excluded.min_memory, min_disk = excluded.min_disk, size_bytes = excluded.size_bytes, " +
            "sha256 = excluded.sha256, updated_at = excluded.updated_at",
            new { row.Name, row.Os, row.Kernel, row.Initrd, row.Disk, row.Append, row.MinMemory, row.MinDisk, row.SizeBytes, row.Sha256, now }, tx);
        foreach (var f in files)
            await c.ExecuteAsync("INSERT INTO image_files (image, file, sha256, size_bytes) VALUES (@Image, @File, @Sha256, @SizeBytes) " +
                "ON CONFLICT (image, file) DO UPDATE SET sha256 = excluded.sha256, size_bytes = excluded.size_bytes", f, tx);
        var names = files.Select(f => f.File).ToList();
        foreach (var gone in await c.QueryAsync<string>("SELECT file FROM image_files WHERE image = @Name", row, tx))
            if (!names.Contains(gone))
                await c.ExecuteAsync("DELETE FROM image_files WHERE image = @Name AND file = @gone", new { row.Name, gone }, tx);
        return 0;
    });

    /// <summary>GET /api/v1/images: the catalogue.</summary>
    public async Task<IReadOnlyList<ImageResponse>> ListAsync() =>
        (await db.ReadAsync(c => c.QueryAsync<ImageRow>("SELECT * FROM images ORDER BY name")))
            .Select(r => new ImageResponse(r.Name, r.Os, r.MinMemory, r.MinDisk, r.SizeBytes, r.Sha256)).ToList();

    /// <summary>What the agent of <paramref name="host"/> is told about an image: every file by SHA-256, fetched from this
    /// front-end with the host's secret. Null when the catalogue does not hold the image (the agent uses its own directory).</summary>
    public async Task<ImageSource?> SourceAsync(string image, string host) => await db.ReadAsync(async c =>
    {
        var row = await c.QuerySingleOrDefaultAsync<ImageRow>("SELECT * FROM images WHERE name = @image", new { image });
        if (row is null) return null;
        var files = await c.QueryAsync<FileRow>("SELECT image, file, sha256, size_bytes AS SizeBytes FROM image_files WHERE image = @image", new { image });
        var baseUrl = AgentFacingUrl();
        return new ImageSource(row.Name, row.Kernel, row.Initrd, row.Disk, row.Append, row.MinMemory, row.MinDisk,
            files.ToDictionary(f => f.File, f => new BlobSource(f.Sha256, f.SizeBytes, baseUrl + BlobEndpoints.Path(host, f.Sha256))));
    });

    /// <summary>The catalogue's file with this SHA-256 in the images directory, or null.</summary>
    public async Task<string?> FileAsync(string sha256)
    {
        if (options.Value.ImagesDirectory is not { } root) return null;
        var hit = await db.ReadAsync(c => c.QueryFirstOrDefaultAsync<FileRow>(
            "SELECT image, file, sha256, size_bytes AS SizeBytes FROM image_files WHERE sha256 = @sha256", new { sha256 }));
        return hit is null ? null : Path.Combine(root, hit.Image, hit.File);
    }

    /// <summary>What the agent of <paramref name="host"/> is told about the ISO attached to a machine (issue 15), or null.</summary>
    public async Task<BlobSource?> CdromAsync(Isos.IsoService isos, Guid machine, string host) =>
        await isos.AttachedAsync(machine) is { } iso ? new BlobSource(iso.Sha256, iso.Size, AgentFacingUrl() + BlobEndpoints.Path(host, iso.Sha256)) : null;

    /// <summary>
    /// Where agents reach this front-end: <see cref="MarketOptions.AgentFacingUrl"/>, else the first address it listens
    /// on (a wildcard address is read as loopback: set the option when agents run on other machines).
    /// </summary>
    public string AgentFacingUrl()
    {
        if (options.Value.AgentFacingUrl is { Length: > 0 } configured) return configured.TrimEnd('/');
        var first = server?.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://127.0.0.1:5080";
        var uri = new UriBuilder(first.Replace("://+", "://0.0.0.0").Replace("://*", "://0.0.0.0"));
        if (uri.Host is "0.0.0.0" or "[::]" or "::") uri.Host = "127.0.0.1";
        return uri.Uri.GetLeftPart(UriPartial.Authority);
    }
}

internal static partial class ImagesLog
{
    [LoggerMessage(EventId = 15001, Level = LogLevel.Warning, Message = "Image catalogue: the images directory {Directory} does not exist; the catalogue stays as it is")]
    public static partial void DirectoryMissing(ILogger logger, string directory);

    [LoggerMessage(EventId = 15002, Level = LogLevel.Warning, Message = "Image catalogue: folder {Image} is left out: {Reason}")]
    public static partial void Unusable(ILogger logger, string image, string reason);

    [LoggerMessage(EventId = 15003, Level = LogLevel.Information, Message = "Image catalogue: {Image} ({Bytes} bytes, disk SHA-256 {Sha256})")]
    public static partial void Imported(ILogger logger, string image, long bytes, string sha256);

    [LoggerMessage(EventId = 15004, Level = LogLevel.Warning, Message = "Blob {Sha256} asked for by host {Host} refused: {Reason}")]
    public static partial void BlobRefused(ILogger logger, string sha256, string host, string reason);
}
