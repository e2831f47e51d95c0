using Microsoft.Win32.SafeHandles;

namespace Virtuoso.Agent.Migration.Methods.Dedup;

/// <summary>Reads a file and computes its <see cref="BlockList"/>: holes are skipped without reading, the data is hashed on every core.</summary>
internal static class BlockHasher
{
    // Work is handed out in 4 MiB chunks: big enough for sequential reads, small enough to keep both cores busy.
    private const int BlocksPerChunk = 64;

    /// <summary>The file's blocks, and how many bytes had to be read (holes are not).</summary>
    public static (BlockList List, long BytesRead) Hash(string path, CancellationToken ct)
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
                var offset = BlockList.OffsetOf(chunk.First);
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
        var read = chunks.Sum(c => Math.Min((long)c.Count * BlockList.BlockSize, length - BlockList.OffsetOf(c.First)));
        return (new BlockList(length, blocks), read);
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
