using System.Security.Cryptography;
using Virtuoso.Agent.Migration.Methods.Dedup;

namespace Virtuoso.Agent.Tests.Migration.Methods.Dedup;

public sealed class ContentChunkerTests
{
    private static byte[] RandomBytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static HashSet<string> ChunkHashes(byte[] data)
    {
        var set = new HashSet<string>();
        var offset = 0;
        foreach (var n in ContentChunker.Split(data))
        {
            set.Add(Convert.ToHexString(SHA256.HashData(data.AsSpan(offset, n))));
            offset += n;
        }
        return set;
    }

    [Fact]
    public void Split_CoversTheWholeBuffer_WithChunksWithinTheLimits()
    {
        var data = RandomBytes(8 << 20, 1);
        var lengths = ContentChunker.Split(data);
        Assert.Equal(data.Length, lengths.Sum());
        Assert.All(lengths.SkipLast(1), n => Assert.InRange(n, ContentChunker.MinSize, ContentChunker.MaxSize));
        var average = lengths.Average();
        Assert.InRange(average, ContentChunker.AverageSize / 2, ContentChunker.AverageSize * 2);
    }

    [Fact]
    public void Split_IsTheSameForTheSameBytes_SoBothAgentsCutAlike()
    {
        var data = RandomBytes(2 << 20, 2);
        Assert.Equal(ContentChunker.Split(data), ContentChunker.Split(data.ToArray()));
    }

    [Fact]
    public void Split_AfterBytesInsertedNearTheStart_KeepsAlmostEveryLaterChunk()
    {
        // What a saved memory state does when one early zero page becomes data: everything after it shifts.
        var data = RandomBytes(8 << 20, 3);
        var shifted = data[..1000].Concat(RandomBytes(4104, 4)).Concat(data[1000..]).ToArray();
        var before = ChunkHashes(data);
        var after = ChunkHashes(shifted);
        var kept = after.Count(before.Contains);
        Assert.True(kept >= before.Count - 3, $"only {kept} of {before.Count} chunks survived a 4 KiB insertion");
    }

    [Fact]
    public void FindBoundary_FedInPieces_CutsWhereTheWholeBufferIsCut()
    {
        var data = RandomBytes(3 << 20, 5);
        var whole = ContentChunker.Split(data);
        var chunker = new ContentChunker();
        var pieces = new List<int>();
        var current = 0;
        for (var offset = 0; offset < data.Length;)
        {
            var span = data.AsSpan(offset, Math.Min(7919, data.Length - offset));
            var n = chunker.FindBoundary(span);
            if (n < 0) { current += span.Length; offset += span.Length; continue; }
            pieces.Add(current + n);
            current = 0;
            offset += n;
        }
        if (current > 0) pieces.Add(current);
        Assert.Equal(whole, pieces);
    }
}
