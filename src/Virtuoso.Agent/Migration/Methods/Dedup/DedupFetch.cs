using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Migration.Methods.Dedup;

/// <summary>
/// The destination's half of <see cref="DedupMethod"/>: puts the machine's own cached copy in place, patches, copies
/// and fetches what differs from the origin (<see cref="DedupPlan"/>), and checks every block that lands.
/// </summary>
internal sealed class DedupFetch(BlockIndexStore index, ILogger log)
{
    /// <summary>Blocks whose page digests the destination sends per request (<see cref="PageDiff"/>).</summary>
    private const int PagesPerRequest = 512;
    /// <summary>A request that receives nothing for this long fails (design: a timeout on every external call).</summary>
    public static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(60);

    public async Task<bool> FetchAsync(FetchContext context, CancellationToken ct)
    {
        foreach (var file in context.Manifest.Files)
            if (!IsPlainName(file.Name))
                throw new InvalidDataException($"manifest file name '{file.Name}' is not a plain file name");
        var progress = new ProgressCounter(context.Progress);
        // The lists come at once. A file whose own cached copy is exactly the origin's (the manifest's digest is that
        // of its block list) needs none: a machine moved back unchanged sends nothing but the manifest.
        var lists = (await Task.WhenAll(context.Manifest.Files.Select(file =>
            HeldList(context, file) is { } held ? Task.FromResult(held) : FetchListAsync(context, file, progress, ct)))).ToList();

        // Disks are patched in place. A state file's bytes shift, so its old copy stays in the cache as a source of
        // chunks — unless the index says it is exactly the origin's (a machine moved back unchanged): then it moves too.
        var seed = CacheSeed.Move(context.CachedCopies, context.Manifest, context.StagingDirectory, name =>
            BlockList.ChunkingFor(name) == Chunking.Fixed
            || index.TryLoad(Path.Combine(context.CachedCopies[0], name)) is { } held
               && held.SameAs(lists[context.Manifest.Files.ToList().FindIndex(f => f.Name == name)]));
        try
        {
            return await AssembleAsync(context, lists, seed, progress, ct);
        }
        catch (Exception e)
        {
            seed.Restore();
            DedupLog.FetchFailed(log, context.MachineId, e.Message);
            throw;
        }
    }

    private async Task<bool> AssembleAsync(FetchContext context, List<BlockList> lists, CacheSeed seed, ProgressCounter progress, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var hashedBefore = index.BytesHashed;
        var files = context.Manifest.Files;
        var targets = new List<FileTarget>();
        for (var f = 0; f < files.Count; f++)
        {
            var path = Path.Combine(context.StagingDirectory, files[f].Name);
            BlockHash?[]? inPlace = null;
            if (seed.WasMoved(files[f].Name))
            {
                var held = await index.GetOrHashAsync(path, ct);
                if (lists[f].Chunking == Chunking.Fixed)
                    inPlace = DedupPlan.InPlace(held, lists[f].Length);
                else if (held.SameAs(lists[f]))
                    inPlace = [.. lists[f].Blocks.Select(b => (BlockHash?)b)];
                else
                    throw new InvalidDataException($"the cached {files[f].Name} moved into place no longer matches the origin's");
            }
            using (var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite))
                if (stream.Length != lists[f].Length)
                    stream.SetLength(lists[f].Length); // a new file is one hole: zero blocks are never written
            targets.Add(new FileTarget(files[f].Name, path, lists[f], inPlace));
        }

        var local = await IndexCachesAsync(context, targets, ct);
        var plan = DedupPlan.Plan(targets, local);
        progress.AddDone(plan.Files.Sum(f => f.BytesInPlace));

        var handles = targets.Select(t => File.OpenHandle(t.StagingPath, FileMode.Open, FileAccess.ReadWrite, FileShare.Read)).ToArray();
        try
        {
            for (var f = 0; f < targets.Count; f++)
                Punch(handles[f], targets[f].Origin, plan.Files[f].Punch, progress);
            // Blocks held on this host are copied while the network brings the rest: the plan gives every place in
            // staging one source, and a copy reads only blocks that stay unchanged, so the two never touch each other.
            var refetch = new ConcurrentQueue<(int File, int Index)>();
            var copying = Task.Run(() => Enumerable.Range(0, targets.Count).Sum(f =>
                CopyLocal(context.MachineId, handles[f], targets[f].Origin, plan.Files[f].Copy, f, refetch, progress, ct)), ct);
            long fetched;
            try
            {
                // A block whose older version sits at the same place is patched page by page; the rest travel whole.
                var patch = plan.Fetch.Where(b => targets[b.File] is { Origin.Chunking: Chunking.Fixed, InPlace: { } held } && held[b.Index] is { IsZero: false }).ToList();
                var (patched, unpatched) = await PatchBlocksAsync(context, targets, handles, patch, progress, ct);
                fetched = patched + await FetchBlocksAsync(context, targets, handles, plan.Fetch.Except(patch).Concat(unpatched).ToList(), progress, ct);
            }
            finally
            {
                // Never leave the copy writing to handles about to be closed.
                await copying.ContinueWith(_ => { }, TaskScheduler.Default);
            }
            var copied = await copying;
            // A local block that no longer matched its hash travels instead (rare: a cached file changed behind the index).
            if (!refetch.IsEmpty)
                fetched += await FetchBlocksAsync(context, targets, handles, Refetch(refetch, targets), progress, ct);
            foreach (var handle in handles)
                RandomAccess.FlushToDisk(handle);
            progress.Flush();
            DedupLog.Fetched(log, context.MachineId, targets.Count, plan.Files.Sum(f => f.BytesInPlace), copied, fetched,
                progress.BytesOnWire, index.BytesHashed - hashedBefore, clock.Elapsed.TotalSeconds);
        }
        finally
        {
            foreach (var handle in handles)
                handle.Dispose();
        }
        // Each file now holds exactly the origin's blocks: remember them, so that exporting it later or finding it
        // in a cache costs no hashing.
        foreach (var target in targets)
            index.Remember(target.StagingPath, target.Origin);
        return true;
    }

    /// <summary>
    /// Indexes files of the cached directories, in order, only until every missing block is found. Only files that
    /// can share blocks with the machine's are read: another machine's file of the same name, and disk images when a
    /// disk is wanted. A base image's kernel and initrd are compressed: they never match a disk or a memory image,
    /// and hashing them (70 MB for linux-busybox) would cost the first migration that needs a block nobody has.
    /// </summary>
    private async Task<Dictionary<BlockHash, BlockSource>> IndexCachesAsync(FetchContext context, List<FileTarget> targets, CancellationToken ct)
    {
        var local = new Dictionary<BlockHash, BlockSource>();
        var missing = DedupPlan.Missing(targets, _ => false);
        var names = targets.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var disks = targets.Any(t => t.Origin.Chunking == Chunking.Fixed);
        foreach (var directory in context.CachedCopies)
        {
            if (missing.Count == 0 || !Directory.Exists(directory))
                continue;
            foreach (var path in Directory.EnumerateFiles(directory))
            {
                if (missing.Count == 0)
                    break;
                var name = Path.GetFileName(path);
                if (!names.Contains(name) && !(disks && BlockList.ChunkingFor(name) == Chunking.Fixed))
                    continue;
                if (NativeFile.Identify(path) is not { Size: >= BlockList.BlockSize })
                    continue;
                var list = await index.GetOrHashAsync(path, ct);
                for (var i = 0; i < list.Count; i++)
                    if (missing.Remove(list.Blocks[i]))
                        local[list.Blocks[i]] = new BlockSource(path, list.OffsetOf(i));
            }
        }
        return local;
    }

    private static void Punch(SafeFileHandle handle, BlockList origin, IReadOnlyList<int> punch, ProgressCounter progress)
    {
        byte[]? zeros = null;
        foreach (var index in punch)
        {
            var length = origin.LengthOf(index);
            if (!NativeFile.PunchHole(handle, origin.OffsetOf(index), length))
            {
                zeros ??= new byte[ContentChunker.MaxSize];
                RandomAccess.Write(handle, zeros.AsSpan(0, length), origin.OffsetOf(index));
            }
            progress.AddDone(length);
        }
    }

    /// <summary>Copies blocks held elsewhere on this host on every core, hashing each; one that no longer matches is fetched instead.</summary>
    private long CopyLocal(Guid machine, SafeFileHandle target, BlockList origin, IReadOnlyList<(int Index, BlockSource Source)> copies,
        int file, ConcurrentQueue<(int File, int Index)> refetch, ProgressCounter progress, CancellationToken ct)
    {
        long copied = 0;
        if (copies.Count == 0)
            return 0;
        var sources = new ConcurrentDictionary<string, SafeFileHandle>();
        try
        {
            // Ranges of 64 copies per worker keep reads of neighbouring chunks together.
            Parallel.ForEach(Partitioner.Create(0, copies.Count, 64), new ParallelOptions { CancellationToken = ct }, range =>
            {
                var buffer = new byte[ContentChunker.MaxSize];
                for (var c = range.Item1; c < range.Item2; c++)
                {
                    var (index, source) = copies[c];
                    var handle = sources.GetOrAdd(source.Path, path => File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
                    var block = buffer.AsSpan(0, origin.LengthOf(index));
                    var n = RandomAccess.Read(handle, block, source.Offset);
                    if (n != block.Length || BlockHash.Of(block) != origin.Blocks[index])
                    {
                        DedupLog.StaleLocalBlock(log, machine, source.Path, source.Offset);
                        refetch.Enqueue((file, index));
                        continue;
                    }
                    RandomAccess.Write(target, block, origin.OffsetOf(index));
                    Interlocked.Add(ref copied, block.Length);
                    progress.AddDone(block.Length);
                }
            });
        }
        finally
        {
            foreach (var handle in sources.Values)
                handle.Dispose();
        }
        return copied;
    }

    /// <summary>The blocks to fetch for places whose local copy failed its check, each distinct block once.</summary>
    private static List<BlockFetch> Refetch(IEnumerable<(int File, int Index)> places, List<FileTarget> targets)
    {
        var byHash = new Dictionary<BlockHash, BlockFetch>();
        foreach (var (file, index) in places)
        {
            var hash = targets[file].Origin.Blocks[index];
            if (byHash.TryGetValue(hash, out var pending))
                pending.Targets.Add((file, index));
            else
                byHash.Add(hash, new BlockFetch(hash, file, index, targets[file].Origin.LengthOf(index), [(file, index)]));
        }
        return [.. byHash.Values];
    }

    /// <summary>Asks the origin for each missing block once, in file order, checks its hash as it lands and writes it everywhere it is needed.</summary>
    private static async Task<long> FetchBlocksAsync(FetchContext context, List<FileTarget> targets, SafeFileHandle[] handles,
        List<BlockFetch> fetch, ProgressCounter progress, CancellationToken ct)
    {
        long fetched = 0;
        var buffer = new byte[ContentChunker.MaxSize];
        var writeback = handles.Select(h => new NativeFile.Writeback(h)).ToArray();
        foreach (var group in fetch.GroupBy(f => f.File).OrderBy(g => g.Key))
        {
            var wanted = group.OrderBy(f => f.Index).ToList();
            var name = targets[group.Key].Name;
            foreach (var batch in wanted.Chunk(DedupMethod.MaxBlocksPerRequest))
            {
                var body = new byte[batch.Length * 4];
                for (var i = 0; i < batch.Length; i++)
                    BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(i * 4), (uint)batch[i].Index);
                using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
                stall.CancelAfter(StallTimeout);
                using var request = Request(context, HttpMethod.Post, DedupMethod.BlocksPath(context.MachineId, name));
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                using var response = await SendAsync(context, request, stall, ct);
                await using var stream = await response.Content.ReadAsStreamAsync(stall.Token);
                foreach (var block in batch)
                {
                    var data = buffer.AsMemory(0, block.Length);
                    await ReadExactlyAsync(stream, data, stall, ct, $"block {block.Index} of {name}");
                    progress.AddWire(block.Length);
                    if (BlockHash.Of(data.Span) != block.Hash)
                        throw new InvalidDataException($"block {block.Index} of {name} from the origin does not match its hash");
                    foreach (var (file, index) in block.Targets)
                    {
                        RandomAccess.Write(handles[file], data.Span, targets[file].Origin.OffsetOf(index));
                        writeback[file].Wrote(block.Length);
                        progress.AddDone(block.Length);
                    }
                    fetched += block.Length;
                }
            }
        }
        return fetched;
    }

    /// <summary>
    /// Asks the origin, per block, for only the pages that differ from the older version in place (<see cref="PageDiff"/>),
    /// patches the block in memory, and writes it everywhere it is needed once its full hash matches. Returns the bytes
    /// of blocks so assembled and the blocks that did not match (to be fetched whole).
    /// </summary>
    private static async Task<(long Bytes, List<BlockFetch> Unpatched)> PatchBlocksAsync(FetchContext context, List<FileTarget> targets,
        SafeFileHandle[] handles, List<BlockFetch> patch, ProgressCounter progress, CancellationToken ct)
    {
        long assembled = 0;
        var unpatched = new List<BlockFetch>();
        var block = new byte[BlockList.BlockSize];
        var mask = new byte[2];
        foreach (var group in patch.GroupBy(f => f.File).OrderBy(g => g.Key))
        {
            var (name, origin, handle) = (targets[group.Key].Name, targets[group.Key].Origin, handles[group.Key]);
            // The digests of the next batch are computed (on every core) while the origin answers this one.
            var batches = group.OrderBy(f => f.Index).Chunk(PagesPerRequest).ToList();
            var next = Task.Run(() => DigestRequest(handle, origin, batches[0], ct), ct);
            try
            {
                for (var k = 0; k < batches.Count; k++)
                {
                    var batch = batches[k];
                    var body = await next;
                    if (k + 1 < batches.Count)
                    {
                        var following = batches[k + 1];
                        next = Task.Run(() => DigestRequest(handle, origin, following, ct), ct);
                    }
                    using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    stall.CancelAfter(StallTimeout);
                    using var request = Request(context, HttpMethod.Post, DedupMethod.PagesPath(context.MachineId, name));
                    request.Content = new ByteArrayContent(body);
                    request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                    progress.AddWire(body.Length);
                    using var response = await SendAsync(context, request, stall, ct);
                    await using var stream = await response.Content.ReadAsStreamAsync(stall.Token);
                    for (var i = 0; i < batch.Length; i++)
                    {
                        var b = batch[i];
                        ushort bits;
                        try
                        {
                            await ReadExactlyAsync(stream, mask, stall, ct, $"the page mask of block {b.Index} of {name}");
                            bits = BinaryPrimitives.ReadUInt16LittleEndian(mask);
                            ReadBlock(handle, block, origin.OffsetOf(b.Index), b.Length);
                            for (var p = 0; p < PageDiff.PagesIn(b.Length); p++)
                                if ((bits & (1 << p)) != 0)
                                    await ReadExactlyAsync(stream, block.AsMemory(p * PageDiff.PageSize, PageDiff.PageLength(b.Length, p)), stall, ct, $"a page of block {b.Index} of {name}");
                        }
                        catch (IOException)
                        {
                            // A damaged mask makes the answer end early: the rest of the batch travels whole (and is checked again).
                            unpatched.AddRange(batch[i..]);
                            break;
                        }
                        progress.AddWire(2 + PageDiff.SelectedBytes(bits, b.Length));
                        var data = block.AsSpan(0, b.Length);
                        if (BlockHash.Of(data) != b.Hash)
                        {
                            unpatched.Add(b);
                            continue;
                        }
                        foreach (var (file, index) in b.Targets)
                        {
                            RandomAccess.Write(handles[file], data, targets[file].Origin.OffsetOf(index));
                            progress.AddDone(b.Length);
                        }
                        assembled += b.Length;
                    }
                }
            }
            finally
            {
                // Never leave a digest task reading a handle the caller is about to close.
                await next.ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
        return (assembled, unpatched);
    }

    /// <summary>The body of a pages request: per block its index and the digest of each page of the older version in place.</summary>
    private static byte[] DigestRequest(SafeFileHandle handle, BlockList origin, BlockFetch[] batch, CancellationToken ct)
    {
        var at = new int[batch.Length + 1];
        for (var i = 0; i < batch.Length; i++)
            at[i + 1] = at[i] + 4 + PageDiff.PagesIn(batch[i].Length) * PageDiff.DigestSize;
        var body = new byte[at[^1]];
        Parallel.For(0, batch.Length, new ParallelOptions { CancellationToken = ct }, () => new byte[BlockList.BlockSize], (i, _, buffer) =>
        {
            BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(at[i]), (uint)batch[i].Index);
            PageDiff.Digests(ReadBlock(handle, buffer, origin.OffsetOf(batch[i].Index), batch[i].Length), body.AsSpan(at[i] + 4));
            return buffer;
        }, _ => { });
        return body;
    }

    private static Span<byte> ReadBlock(SafeFileHandle handle, byte[] buffer, long offset, int length)
    {
        var data = buffer.AsSpan(0, length);
        var done = 0;
        while (done < length)
        {
            var n = RandomAccess.Read(handle, data[done..], offset + done);
            if (n == 0)
            {
                data[done..].Clear(); // past the end of a shorter old copy: zeros, as a hole reads
                break;
            }
            done += n;
        }
        return data;
    }

    /// <summary>The block list of this machine's own cached copy of <paramref name="file"/> (the first cached directory), when it is the origin's.</summary>
    private BlockList? HeldList(FetchContext context, ExportFile file) =>
        context.CachedCopies.Count > 0 && index.TryLoad(Path.Combine(context.CachedCopies[0], file.Name)) is { } held
        && held.Length == file.Length && held.Digest() == file.Digest
            ? held
            : null;

    private static async Task<BlockList> FetchListAsync(FetchContext context, ExportFile file, ProgressCounter progress, CancellationToken ct)
    {
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stall.CancelAfter(StallTimeout);
        using var request = Request(context, HttpMethod.Get, DedupMethod.BlocksPath(context.MachineId, file.Name));
        using var response = await SendAsync(context, request, stall, ct);
        byte[] bytes;
        try
        {
            bytes = await response.Content.ReadAsByteArrayAsync(stall.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"the block list of {file.Name} did not arrive within {StallTimeout.TotalSeconds} s");
        }
        progress.AddWire(bytes.Length);
        var (list, error) = BlockList.Decode(bytes);
        if (list is null)
            throw new InvalidDataException($"block list of {file.Name} from the origin: {error}");
        if (list.Length != file.Length)
            throw new InvalidDataException($"block list of {file.Name} describes {list.Length} bytes, the manifest {file.Length}");
        return list;
    }

    private static HttpRequestMessage Request(FetchContext context, HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, new Uri(context.Origin, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", context.Token);
        return request;
    }

    private static async Task<HttpResponseMessage> SendAsync(FetchContext context, HttpRequestMessage request, CancellationTokenSource stall, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await context.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stall.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"{request.Method} {request.RequestUri} did not answer within {StallTimeout.TotalSeconds} s");
        }
        if (response.IsSuccessStatusCode)
            return response;
        var detail = await response.Content.ReadAsStringAsync(ct);
        response.Dispose();
        throw new HttpRequestException(
            $"{request.Method} {request.RequestUri} answered {(int)response.StatusCode}: {detail[..Math.Min(detail.Length, 300)]}", null, response.StatusCode);
    }

    private static async Task ReadExactlyAsync(Stream stream, Memory<byte> buffer, CancellationTokenSource stall, CancellationToken ct, string what)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            stall.CancelAfter(StallTimeout);
            int n;
            try
            {
                n = await stream.ReadAsync(buffer[done..], stall.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new TimeoutException($"the origin sent nothing for {StallTimeout.TotalSeconds} s while sending {what}");
            }
            if (n == 0)
                throw new IOException($"the origin's stream ended inside {what}");
            done += n;
        }
    }

    internal static bool IsPlainName(string name) =>
        name.Length is > 0 and <= 255 && name is not "." and not ".." && name.IndexOfAny(['/', '\0']) < 0;

    /// <summary>Cumulative progress, reported at most every 4 MiB of change (and at the end); local copies and the network add to it at once.</summary>
    private sealed class ProgressCounter(IProgress<TransferProgress> sink)
    {
        private const long Step = 4L << 20;
        private readonly Lock _gate = new();
        private long _done, _wire, _reported;

        public long BytesOnWire
        {
            get
            {
                lock (_gate)
                    return _wire;
            }
        }

        public void AddDone(long bytes) => Bump(ref _done, bytes);
        public void AddWire(long bytes) => Bump(ref _wire, bytes);

        private void Bump(ref long counter, long bytes)
        {
            lock (_gate)
            {
                counter += bytes;
                if (_done + _wire - _reported >= Step)
                    Flush();
            }
        }

        public void Flush()
        {
            lock (_gate)
            {
                _reported = _done + _wire;
                sink.Report(new TransferProgress(_done, _wire));
            }
        }
    }
}
