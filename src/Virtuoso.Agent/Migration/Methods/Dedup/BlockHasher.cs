using Microsoft.Win32.SafeHandles;

namespace Virtuoso.Agent.Migration.Methods.Dedup;

/// <summary>Reads a file and computes its <see cref="BlockList"/>: holes are skipped without reading, the data is hashed on every core.</summary>
internal static class BlockHasher
{
    // Work is handed out in 4 MiB chunks: big enough for sequential reads, small enough to keep both cores busy.
    private const int BlocksPerChunk = 64;

    /// <summary>The file's blocks cut as <paramref name="chunking"/> says, and how many bytes had to be read (holes are not, for fixed blocks).</summary>
    public static (BlockList List, long BytesRead) Hash(string path, Chunking chunking, CancellationToken ct) =>
        chunking == Chunking.Fixed ? HashFixed(path, ct) : HashContentDefined(path, ct);

    private static (BlockList List, long BytesRead) HashFixed(string path, CancellationToken ct)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var length = RandomAccess.GetLength(handle);
        var blocks = new BlockHash[BlockList.CountFor(length)];
        var chunks = Chunks(NativeFile.DataRanges(handle, length), blocks.Length);
        Parallel.ForEach(
            chunks,
            new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct },
            () => new byte[BlocksPerChunk * BlockList.BlockSize],
            (chunk, _, buffer) =>
            {
                var offset = BlockList.FixedOffset(chunk.First);
                var bytes = (int)Math.Min((long)chunk.Count * BlockList.BlockSize, length - offset);
                ReadFully(handle, buffer.AsSpan(0, bytes), offset, path);
                for (var i = 0; i < chunk.Count; i++)
                {
                    var start = i * BlockList.BlockSize;
                    blocks[chunk.First + i] = BlockHash.Of(buffer.AsSpan(start, Math.Min(BlockList.BlockSize, bytes - start)));
                }
                return buffer;
            },
            _ => { });
        var read = chunks.Sum(c => Math.Min((long)c.Count * BlockList.BlockSize, length - BlockList.FixedOffset(c.First)));
        return (new BlockList(length, blocks), read);
    }

    /// <summary>
    /// Content-defined chunks, in one sequential pass (boundaries depend on every byte before them); the chunks are
    /// hashed on the other core while the next megabytes are read and cut.
    /// </summary>
    private static (BlockList List, long BytesRead) HashContentDefined(string path, CancellationToken ct)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        var chunker = new ContentChunker();
        var lengths = new List<int>();
        var hashing = new List<Task<BlockHash>>();
        var chunk = new MemoryStream(ContentChunker.MaxSize);
        var buffer = new byte[4 << 20];
        long read = 0;
        int n;
        while ((n = stream.Read(buffer)) > 0)
        {
            ct.ThrowIfCancellationRequested();
            read += n;
            var data = buffer.AsMemory(0, n);
            while (!data.IsEmpty)
            {
                var cut = chunker.FindBoundary(data.Span);
                var take = cut < 0 ? data.Length : cut;
                chunk.Write(data.Span[..take]);
                data = data[take..];
                if (cut >= 0)
                    Complete(chunk, lengths, hashing);
            }
        }
        if (chunk.Length > 0)
            Complete(chunk, lengths, hashing);
        var blocks = Task.WhenAll(hashing).GetAwaiter().GetResult();
        return (BlockList.ContentDefined(blocks, lengths), read);

        static void Complete(MemoryStream chunk, List<int> lengths, List<Task<BlockHash>> hashing)
        {
            var bytes = chunk.ToArray();
            lengths.Add(bytes.Length);
            hashing.Add(Task.Run(() => BlockHash.Of(bytes)));
            chunk.SetLength(0);
        }
    }

    /// <summary>Block ranges (first index, count ≤ <see cref="BlocksPerChunk"/>) that touch any of the data ranges; the others stay zero.</summary>
    internal static List<(int First, int Count)> Chunks(IReadOnlyList<(long Start, long End)> data, int blockCount)
    {
        var chunks = new List<(int, int)>();
        var next = 0; // first block not yet covered
        foreach (var (start, end) in data)
        {
            if (end <= start)
                continue;
            var first = Math.Max(next, (int)(start / BlockList.BlockSize));
            var last = (int)Math.Min(blockCount - 1, (end - 1) / BlockList.BlockSize);
            for (var b = first; b <= last; b += BlocksPerChunk)
                chunks.Add((b, Math.Min(BlocksPerChunk, last - b + 1)));
            next = Math.Max(next, last + 1);
        }
        return chunks;
    }

    public static void ReadFully(SafeFileHandle handle, Span<byte> buffer, long offset, string path)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var n = RandomAccess.Read(handle, buffer[done..], offset + done);
            if (n == 0)
                throw new IOException($"{path} ended at {offset + done} while reading {buffer.Length} bytes at {offset}");
            done += n;
        }
    }
}
