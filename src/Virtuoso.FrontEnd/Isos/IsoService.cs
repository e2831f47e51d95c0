using System.Buffers;
using System.Buffers.Binary;
using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Isos;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Http;

namespace Virtuoso.FrontEnd.Isos;

/// <summary>An ISO as a machine's host needs it (issue 15): what to fetch, how to verify it, and where the front-end keeps it.</summary>
/// <param name="Path">The blob's full path in the front-end's <see cref="BlobDirectory"/>.</param>
internal sealed record IsoFile(string Name, string Sha256, long Size, string Path);

/// <summary>
/// A buyer's ISO images (issue 15 items 3 and 4). An upload is streamed to a temporary file while it is hashed and counted
/// against the quota, judged by <see cref="IsoImage.Check"/>, then recorded and kept as the content-addressed blob of its
/// SHA-256; every refusal leaves neither a row nor a file. A blob goes with the last row naming it. Blobs are created and
/// removed only under the blob's lock (<see cref="LockBlobAsync"/>) in the transaction that adds or last removes a row
/// of its digest, so that an upload of equal content never loses its file to a concurrent delete.
/// </summary>
internal sealed partial class IsoService(Database db, BlobDirectory blobs, EventLog events, TimeProvider clock, IOptions<MarketOptions> options,
    ILogger<IsoService> log)
{
    private const string Columns = "id, name, sha256, size_bytes, created_at";

    private sealed class Row
    {
        public long Id { get; init; }
        public required string Name { get; init; }
        public required string Sha256 { get; init; }
        public long SizeBytes { get; init; }
        public DateTimeOffset CreatedAt { get; init; }
    }

    private sealed record Attachment(long IsoId, string Name);

    private long Quota => options.Value.IsoQuotaBytes;

    /// <summary>The owner's ISOs, oldest first, with the machines each is attached to and the quota they use.</summary>
    public Task<IsoListResponse> ListAsync(string owner) => db.ReadAsync(async c =>
    {
        var rows = (await c.QueryAsync<Row>($"SELECT {Columns} FROM isos WHERE owner = @owner ORDER BY id", new { owner })).ToList();
        var attached = (await c.QueryAsync<Attachment>("SELECT cdrom_iso_id AS iso_id, name FROM machines " +
            "WHERE cdrom_iso_id IN (SELECT id FROM isos WHERE owner = @owner) ORDER BY name", new { owner })).ToLookup(a => a.IsoId, a => a.Name);
        return new IsoListResponse(rows.Select(r => ToResponse(r, attached[r.Id].ToList())).ToList(), rows.Sum(r => r.SizeBytes), Quota);
    });

    /// <summary>
    /// Stores the bytes of <paramref name="body"/> as the owner's ISO <paramref name="name"/>. <paramref name="length"/> is the
    /// request's Content-Length: required, since the quota is checked before anything is read. A web form's file is one part
    /// of a multipart body (<paramref name="exactLength"/> false): its request's length is only a bound, so the quota is
    /// then counted while reading only, and the part's end is the file's.
    /// </summary>
    public async Task<Outcome<IsoResponse>> UploadAsync(string owner, string name, long? length, Stream body, CancellationToken ct, bool exactLength = true)
    {
        if (Validate.First(Validate.IsoName(name)) is { } bad) return bad;
        if (length is not { } declared)
            return new Failure(ErrorCodes.LengthRequired, "send the ISO's size (Content-Length): the quota is checked before the upload is stored");
        // Early, to spare the transfer; the unique key is what decides (below).
        if (await db.ReadAsync(c => c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM isos WHERE owner = @owner AND name = @name", new { owner, name })) > 0)
            return NameTaken(name);
        var used = await db.ReadAsync(c => UsedAsync(c, null, owner));
        if (exactLength && used + declared > Quota) return OverQuota(used, declared);

        var (temp, file) = blobs.CreateTemp();
        try
        {
            string sha256;
            long total = 0;
            await using (file)
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
                try
                {
                    while (true)
                    {
                        int n;
                        try
                        {
                            n = await body.ReadAsync(buffer, ct);
                        }
                        catch (Exception e) when (e is BadHttpRequestException or IOException)
                        {
                            // Kestrel: the connection ended before Content-Length bytes (the client gave up).
                            LogIncomplete(log, owner, name, total, declared, e.Message);
                            return Incomplete(total, declared);
                        }

                        if (n == 0) break;
                        total += n;
                        if (total > declared)
                            return Failure.Validation($"the body is longer than its Content-Length ({declared} bytes)");
                        if (used + total > Quota) return OverQuota(used, total);
                        hash.AppendData(buffer, 0, n);
                        await file.WriteAsync(buffer.AsMemory(0, n), ct);
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                if (exactLength && total < declared)
                {
                    LogIncomplete(log, owner, name, total, declared, "end of body");
                    return Incomplete(total, declared);
                }

                if (await CheckAsync(file, total, ct) is { } why)
                    return new Failure(ErrorCodes.NotAnIso, $"{name}: {why}");
                sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
            }

            var now = clock.GetUtcNow();
            var outcome = await db.WriteAsync<Outcome<IsoResponse>>(async (c, tx) =>
            {
                // The account's row serializes its uploads (PostgreSQL replicas too), so the sum below stays true until the commit.
                await c.ExecuteAsync($"SELECT username FROM accounts WHERE username = @owner{db.ForUpdate}", new { owner }, tx);
                var usedNow = await UsedAsync(c, tx, owner);
                if (usedNow + total > Quota) return OverQuota(usedNow, total);
                var id = await c.QuerySingleOrDefaultAsync<long?>("INSERT INTO isos (owner, name, sha256, size_bytes, created_at) " +
                    "VALUES (@owner, @name, @sha256, @total, @now) ON CONFLICT DO NOTHING RETURNING id", new { owner, name, sha256, total, now }, tx);
                if (id is null) return NameTaken(name);
                await LockBlobAsync(c, tx, sha256);
                blobs.Keep(temp, sha256);
                await events.AppendAsync(c, tx, "iso-uploaded", null, owner, $"ISO {name} uploaded: {Format(total)}, SHA-256 {sha256}");
                return new IsoResponse(name, sha256, total, now, []);
            }, o => o.Ok);
            if (outcome.Ok) LogUploaded(log, owner, name, total, sha256);
            return outcome;
        }
        finally
        {
            BlobDirectory.DeleteTemp(temp); // gone already when kept
        }
    }

    /// <summary>Deletes the owner's ISO <paramref name="name"/>, refused while a machine has it attached; its blob goes with the last ISO of its content.</summary>
    public async Task<Failure?> DeleteAsync(string owner, string name)
    {
        string? sha256 = null;
        var refused = await db.WriteAsync<Failure?>(async (c, tx) =>
        {
            var row = await c.QuerySingleOrDefaultAsync<Row>($"SELECT {Columns} FROM isos WHERE owner = @owner AND name = @name{db.ForUpdate}", new { owner, name }, tx);
            if (row is null) return NoSuchIso(name);
            // A new statement after the lock: under READ COMMITTED it sees an attach that committed while this waited.
            var machines = (await c.QueryAsync<string>("SELECT name FROM machines WHERE cdrom_iso_id = @Id ORDER BY name", new { row.Id }, tx)).ToList();
            if (machines.Count > 0)
                return new Failure(ErrorCodes.InUse, $"ISO {name} is attached to {(machines.Count == 1 ? "machine" : "machines")} {string.Join(", ", machines)}: " +
                    "eject it first (--cdrom none)");
            await c.ExecuteAsync("DELETE FROM isos WHERE id = @Id", new { row.Id }, tx);
            await events.AppendAsync(c, tx, "iso-deleted", null, owner, $"ISO {name} deleted ({Format(row.SizeBytes)})");
            sha256 = row.Sha256;
            return null;
        }, f => f is null);
        if (refused is not null) return refused;
        // After the commit: a blob removed in the transaction would be lost if the commit failed.
        await db.WriteAsync(async (c, tx) =>
        {
            await LockBlobAsync(c, tx, sha256!);
            if (await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM isos WHERE sha256 = @sha256", new { sha256 }, tx) == 0)
            {
                blobs.Remove(sha256!);
                LogBlobRemoved(log, sha256!);
            }

            return 0;
        });
        return null;
    }

    // ---- for the machines (attach) and the agent side ----

    /// <summary>The ISO in the machine's CD drive, with the path of its bytes; null when none is attached (or no such machine).</summary>
    public Task<IsoFile?> AttachedAsync(Guid machineId) => db.ReadAsync(async c =>
    {
        var row = await c.QuerySingleOrDefaultAsync<Row>("SELECT i.id, i.name, i.sha256, i.size_bytes, i.created_at FROM machines m JOIN isos i ON i.id = m.cdrom_iso_id " +
            "WHERE m.id = @machineId", new { machineId });
        return row is null ? null : new IsoFile(row.Name, row.Sha256, row.SizeBytes, blobs.PathOf(row.Sha256));
    });

    /// <summary>The full path of the blob of <paramref name="sha256"/> when the front-end holds it; null for anything else (not a digest, unknown).</summary>
    public string? BlobPath(string sha256) =>
        BlobDirectory.IsDigest(sha256) && blobs.PathOf(sha256) is var path && File.Exists(path) ? path : null;

    /// <summary>The id of the owner's ISO <paramref name="name"/>, its row locked against a concurrent delete; null when the owner has none of that name.</summary>
    internal static Task<long?> LockAsync(Database db, DbConnection c, DbTransaction tx, string owner, string name) =>
        c.QuerySingleOrDefaultAsync<long?>($"SELECT id FROM isos WHERE owner = @owner AND name = @name{db.ForUpdate}", new { owner, name }, tx);

    /// <summary>The name of the ISO attached to each of <paramref name="owner"/>'s machines that has one.</summary>
    internal static async Task<IReadOnlyDictionary<Guid, string>> CdromsOfAsync(DbConnection c, string owner) =>
        (await c.QueryAsync<(string Machine, string Iso)>("SELECT m.id, i.name FROM machines m JOIN isos i ON i.id = m.cdrom_iso_id WHERE m.owner = @owner", new { owner }))
        .ToDictionary(r => Guid.Parse(r.Machine), r => r.Iso);

    /// <summary>The name of the ISO attached to the machine, or null.</summary>
    internal static Task<string?> CdromOfAsync(DbConnection c, Guid machine) =>
        c.QuerySingleOrDefaultAsync<string?>("SELECT i.name FROM machines m JOIN isos i ON i.id = m.cdrom_iso_id WHERE m.id = @machine", new { machine });

    /// <summary>
    /// The default name of an upload: the file's name without its extension, each character a name does not take made '-',
    /// at most 64 characters, starting with a letter or digit (the CLI's <c>iso upload</c> does the same).
    /// </summary>
    public static string NameFromFile(string fileName)
    {
        var stem = Path.GetFileNameWithoutExtension(Path.GetFileName(fileName.Replace('\\', '/')));
        var text = new string(stem.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-').ToArray()).TrimStart('.', '_', '-');
        text = text.Length > 64 ? text[..64] : text;
        return text.Length == 0 || text.Equals("none", StringComparison.OrdinalIgnoreCase) ? "iso" + (text.Length == 0 ? "" : "-" + text) : text;
    }

    internal static Failure NoSuchIso(string name) => new(ErrorCodes.NotFound, $"you have no ISO named '{name}' (see GET /api/v1/isos)");

    /// <summary>A size as people read it, in binary units: 10 GB is 10 × 1024³ bytes.</summary>
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.#", CultureInfo.InvariantCulture) + " GB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.#", CultureInfo.InvariantCulture) + " MB",
        >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("0.#", CultureInfo.InvariantCulture) + " KB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " bytes",
    };

    // ---- helpers ----

    private static IsoResponse ToResponse(Row r, IReadOnlyList<string> attachedTo) => new(r.Name, r.Sha256, r.SizeBytes, r.CreatedAt, attachedTo);

    private static Task<long> UsedAsync(DbConnection c, DbTransaction? tx, string owner) =>
        c.ExecuteScalarAsync<long>("SELECT COALESCE(SUM(size_bytes), 0) FROM isos WHERE owner = @owner", new { owner }, tx);

    /// <summary>
    /// Serializes the writers of one blob (an upload keeping it, a delete removing it) until the commit: PostgreSQL replicas
    /// on a transaction-scoped advisory lock keyed by the digest; SQLite's single writer serializes them already.
    /// </summary>
    private async Task LockBlobAsync(DbConnection c, DbTransaction tx, string sha256)
    {
        if (db.Dialect == Dialect.Postgres)
            await c.ExecuteAsync("SELECT pg_advisory_xact_lock(@key)", new { key = BinaryPrimitives.ReadInt64BigEndian(Convert.FromHexString(sha256[..16])) }, tx);
    }

    /// <summary>Reads the volume descriptors back from the written file and judges them (<see cref="IsoImage.Check"/>).</summary>
    private static async Task<string?> CheckAsync(FileStream file, long length, CancellationToken ct)
    {
        var descriptors = new byte[IsoImage.DescriptorsLength];
        var read = 0;
        if (length > IsoImage.DescriptorsOffset)
        {
            file.Position = IsoImage.DescriptorsOffset;
            read = await file.ReadAtLeastAsync(descriptors, descriptors.Length, throwOnEndOfStream: false, ct);
        }

        return IsoImage.Check(descriptors.AsSpan(0, read), length);
    }

    private Failure OverQuota(long used, long size) => new(ErrorCodes.OverQuota,
        $"over your ISO quota of {Format(Quota)}: you use {Format(used)} and this is {Format(size)}; delete an ISO first");

    private static Failure Incomplete(long got, long declared) => new(ErrorCodes.IncompleteUpload,
        $"the upload ended after {got} of its {declared} bytes; nothing was stored: send it again");

    private static Failure NameTaken(string name) => new(ErrorCodes.IsoNameTaken, $"you already have an ISO named '{name}'; delete it first or choose another name");

    [LoggerMessage(EventId = 9101, Level = LogLevel.Information, Message = "ISO {Name} of {Owner} stored: {Size} bytes, SHA-256 {Sha256}")]
    private static partial void LogUploaded(ILogger logger, string owner, string name, long size, string sha256);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Information, Message = "Upload of ISO {Name} by {Owner} ended after {Got} of {Declared} bytes ({Why}); nothing kept")]
    private static partial void LogIncomplete(ILogger logger, string owner, string name, long got, long declared, string why);

    [LoggerMessage(EventId = 9103, Level = LogLevel.Information, Message = "Blob {Sha256} removed: no ISO refers to it any more")]
    private static partial void LogBlobRemoved(ILogger logger, string sha256);
}
