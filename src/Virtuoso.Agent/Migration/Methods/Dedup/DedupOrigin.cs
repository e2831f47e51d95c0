using System.Buffers.Binary;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Agent.Migration.Methods.Dedup;

/// <summary>
/// The origin's half of <see cref="DedupMethod"/>: the routes a destination calls. Each exported file's block list
/// (from the index, hashed once), the blocks asked for, streamed in runs, and page patches of disk blocks.
/// </summary>
internal sealed class DedupOrigin(BlockIndexStore index, ILogger log)
{
    /// <summary>Blocks the origin compares at once when answering page digests (<see cref="PageDiff"/>).</summary>
    private const int PageGroup = 64;

    public void MapRoutes(IEndpointRouteBuilder transfer)
    {
        transfer.MapGet(DedupMethod.BlocksRoute, ServeListAsync);
        transfer.MapPost(DedupMethod.BlocksRoute, ServeBlocksAsync);
        transfer.MapPost(DedupMethod.PagesRoute, ServePagesAsync);
    }

    private async Task<IResult> ServeListAsync(HttpContext http, string name, CancellationToken ct)
    {
        if (Exported(http, name) is not var (export, file))
            return NotExported(name);
        var path = export.PathOf(file);
        var list = await index.GetOrHashAsync(path, ct);
        if (list.Length != file.Length)
            return Problem(ErrorCodes.Conflict, $"{file.Name} has {list.Length} bytes, the export says {file.Length}", StatusCodes.Status409Conflict);
        DedupLog.ListServed(log, path, list.Count, list.DataBytes);
        return Results.Bytes(list.Encode(), "application/octet-stream");
    }

    private async Task ServeBlocksAsync(HttpContext http, string name, CancellationToken ct)
    {
        // The list says where each block lies (content-defined chunks vary in length); it comes from the index.
        if (await ExportedListAsync(http, name, ct) is not var (export, file, list))
            return;
        var (indices, error) = await ReadIndicesAsync(http.Request, list.Count, ct);
        if (indices is null)
        {
            await BadRequest(error!).ExecuteAsync(http);
            return;
        }
        using var handle = await OpenUnchangedAsync(http, export, file, list);
        if (handle is null)
            return;
        http.Response.ContentType = "application/octet-stream";
        http.Response.ContentLength = indices.Sum(i => (long)list.LengthOf(i));
        // Runs of consecutive blocks are read in one call of up to 2 MiB.
        var buffer = new byte[2 << 20];
        for (var at = 0; at < indices.Length;)
        {
            var run = 1;
            var bytes = list.LengthOf(indices[at]);
            while (at + run < indices.Length && indices[at + run] == indices[at] + run && bytes + list.LengthOf(indices[at + run]) <= buffer.Length)
                bytes += list.LengthOf(indices[at + run++]);
            var offset = list.OffsetOf(indices[at]);
            var done = 0;
            while (done < bytes)
            {
                var n = await RandomAccess.ReadAsync(handle, buffer.AsMemory(done, bytes - done), offset + done, ct);
                if (n == 0)
                    throw new IOException($"{file.Name} ended at {offset + done}");
                done += n;
            }
            await http.Response.Body.WriteAsync(buffer.AsMemory(0, bytes), ct);
            at += run;
        }
    }

    /// <summary>
    /// Body: records of a u32 block index followed by the destination's digest of each page of that block. Answer, per
    /// record in order: a u16 mask of the pages that differ, then those pages (<see cref="PageDiff"/>).
    /// </summary>
    private async Task ServePagesAsync(HttpContext http, string name, CancellationToken ct)
    {
        if (await ExportedListAsync(http, name, ct) is not var (export, file, list))
            return;
        if (list.Chunking != Chunking.Fixed)
        {
            await BadRequest($"{file.Name} is not cut in fixed blocks; pages are only for disks").ExecuteAsync(http);
            return;
        }
        const int MaxRecordSize = 4 + PageDiff.MaxPages * PageDiff.DigestSize;
        var (body, error) = await ReadBodyAsync(http.Request, DedupMethod.MaxBlocksPerRequest * MaxRecordSize, ct);
        var bytes = body.AsMemory();
        var records = new List<(int Index, int Digests)>();
        for (var at = 0; at < bytes.Length && error is null;)
        {
            var index = at + 4 <= bytes.Length ? BinaryPrimitives.ReadUInt32LittleEndian(bytes.Span[at..]) : uint.MaxValue;
            if (index >= list.Count)
                error = at + 4 > bytes.Length ? $"record at byte {at} is cut short" : $"block {index} is past the end ({list.Count} blocks)";
            else if (at + 4 + PageDiff.PagesIn(list.LengthOf((int)index)) * PageDiff.DigestSize > bytes.Length)
                error = $"the page digests of block {index} are cut short";
            else
            {
                records.Add(((int)index, at + 4));
                at += 4 + PageDiff.PagesIn(list.LengthOf((int)index)) * PageDiff.DigestSize;
            }
        }
        if (error is null && records.Count is 0 or > DedupMethod.MaxBlocksPerRequest)
            error = $"the body must hold 1 to {DedupMethod.MaxBlocksPerRequest} records, not {records.Count}";
        if (error is not null)
        {
            await BadRequest(error).ExecuteAsync(http);
            return;
        }
        using var handle = await OpenUnchangedAsync(http, export, file, list);
        if (handle is null)
            return;
        http.Response.ContentType = "application/octet-stream";
        // A group of blocks is read and compared on every core at once; the answers go out in the order asked.
        var blocks = new byte[PageGroup * BlockList.BlockSize];
        var masks = new ushort[PageGroup];
        var output = new byte[PageGroup * (2 + BlockList.BlockSize)];
        for (var first = 0; first < records.Count; first += PageGroup)
        {
            var count = Math.Min(PageGroup, records.Count - first);
            Parallel.For(0, count, new ParallelOptions { CancellationToken = ct }, i =>
            {
                var (index, digests) = records[first + i];
                var length = list.LengthOf(index);
                var data = blocks.AsSpan(i * BlockList.BlockSize, length);
                for (var done = 0; done < length;)
                {
                    var n = RandomAccess.Read(handle, data[done..], list.OffsetOf(index) + done);
                    if (n == 0)
                        throw new IOException($"{file.Name} ended at {list.OffsetOf(index) + done}");
                    done += n;
                }
                masks[i] = PageDiff.Differing(data, body.AsSpan(digests, PageDiff.PagesIn(length) * PageDiff.DigestSize));
            });
            var used = 0;
            for (var i = 0; i < count; i++)
            {
                var length = list.LengthOf(records[first + i].Index);
                BinaryPrimitives.WriteUInt16LittleEndian(output.AsSpan(used), masks[i]);
                used += 2;
                for (var p = 0; p < PageDiff.PagesIn(length); p++)
                    if ((masks[i] & (1 << p)) != 0)
                    {
                        var page = blocks.AsSpan(i * BlockList.BlockSize + p * PageDiff.PageSize, PageDiff.PageLength(length, p));
                        page.CopyTo(output.AsSpan(used));
                        used += page.Length;
                    }
            }
            await http.Response.Body.WriteAsync(output.AsMemory(0, used), ct);
        }
    }

    /// <summary>
    /// The exported file <paramref name="name"/> and its block list (from the index), or null after answering 404
    /// when this export has no such file.
    /// </summary>
    private async Task<(ExportContext Export, ExportFile File, BlockList List)?> ExportedListAsync(HttpContext http, string name, CancellationToken ct)
    {
        if (Exported(http, name) is not var (export, file))
        {
            await NotExported(name).ExecuteAsync(http);
            return null;
        }
        return (export, file, await index.GetOrHashAsync(export.PathOf(file), ct));
    }

    /// <summary>The exported file opened for reading, or null after answering 409 when it changed since the export.</summary>
    private static async Task<SafeFileHandle?> OpenUnchangedAsync(HttpContext http, ExportContext export, ExportFile file, BlockList list)
    {
        var handle = File.OpenHandle(export.PathOf(file), FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
        if (RandomAccess.GetLength(handle) == file.Length && list.Length == file.Length)
            return handle;
        handle.Dispose();
        await Problem(ErrorCodes.Conflict, $"{file.Name} changed since it was exported", StatusCodes.Status409Conflict).ExecuteAsync(http);
        return null;
    }

    /// <summary>The request body, read whole, or an error when it is longer than <paramref name="limit"/> bytes (not read further).</summary>
    private static async Task<(byte[] Body, string? Error)> ReadBodyAsync(HttpRequest request, int limit, CancellationToken ct)
    {
        using var body = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await request.Body.ReadAsync(buffer, ct)) > 0)
        {
            if (body.Length + n > limit)
                return ([], $"the body is longer than {limit} bytes");
            body.Write(buffer, 0, n);
        }
        return (body.ToArray(), null);
    }

    private static async Task<(int[]? Indices, string? Error)> ReadIndicesAsync(HttpRequest request, int blockCount, CancellationToken ct)
    {
        var (body, tooLong) = await ReadBodyAsync(request, DedupMethod.MaxBlocksPerRequest * 4, ct);
        if (tooLong is not null || body.Length == 0 || body.Length % 4 != 0)
            return (null, $"the body must be 1 to {DedupMethod.MaxBlocksPerRequest} block indices of 4 bytes, not {(tooLong is null ? $"{body.Length} bytes" : "more")}");
        var bytes = body.AsSpan();
        var indices = new int[bytes.Length / 4];
        for (var i = 0; i < indices.Length; i++)
        {
            var index = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(i * 4)..]);
            if (index >= blockCount)
                return (null, $"block {index} is past the end ({blockCount} blocks)");
            indices[i] = (int)index;
        }
        return (indices, null);
    }

    // The migration server checked the token against this export; the route's id must still be the exported machine.
    private static (ExportContext Export, ExportFile File)? Exported(HttpContext http, string name) =>
        http.Items[ExportContext.ItemKey] is ExportContext export
        && (http.Request.RouteValues["id"] is not string id || (Guid.TryParse(id, out var routed) && routed == export.MachineId))
        && export.Manifest.Files.FirstOrDefault(f => f.Name == name) is { } file
            ? (export, file)
            : null;

    private static IResult NotExported(string name) =>
        Problem(ErrorCodes.NotFound, $"no exported file '{name}'", StatusCodes.Status404NotFound);

    private static IResult BadRequest(string detail) => Problem(ErrorCodes.Validation, detail, StatusCodes.Status400BadRequest);

    private static IResult Problem(string code, string detail, int status) =>
        Results.Problem(detail: detail, statusCode: status, extensions: new Dictionary<string, object?> { ["code"] = code });
}
