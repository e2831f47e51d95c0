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

    /// <summary>The gear hash over every byte, as the chunker computed it before it skipped the start of each chunk.</summary>
    private static List<int> SplitByteByByte(ReadOnlySpan<byte> data)
    {
        var gear = (ulong[])typeof(ContentChunker).GetField("Gear", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetValue(null)!;
        var before = (ulong)typeof(ContentChunker).GetField("MaskBeforeAverage", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetValue(null)!;
        var after = (ulong)typeof(ContentChunker).GetField("MaskAfterAverage", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetValue(null)!;
        var lengths = new List<int>();
        ulong hash = 0;
        var length = 0;
        foreach (var b in data)
        {
            length++;
            hash = (hash << 1) + gear[b];
            if (length < ContentChunker.MinSize)
                continue;
            if ((hash & (length < ContentChunker.AverageSize ? before : after)) == 0 || length >= ContentChunker.MaxSize)
            {
                lengths.Add(length);
                hash = 0;
                length = 0;
            }
        }
        if (length > 0)
            lengths.Add(length);
        return lengths;
    }

    [Theory]
    [InlineData(6, 1 << 20)]
    [InlineData(7, 13)]
    [InlineData(8, 16_320)]
    public void FindBoundary_SkippingTheStartOfEachChunk_CutsExactlyWhereHashingEveryByteCuts(int seed, int piece)
    {
        // random data, a long zero run (cuts forced at the maximum size) and a repeating pattern
        var data = RandomBytes(4 << 20, seed);
        Array.Clear(data, 1 << 20, 1 << 20);
        for (var i = 3 << 20; i < (3 << 20) + 300_000; i++)
            data[i] = (byte)(i % 7);
        var chunker = new ContentChunker();
        var cuts = new List<int>();
        var current = 0;
        for (var offset = 0; offset < data.Length;)
        {
            var span = data.AsSpan(offset, Math.Min(piece, data.Length - offset));
            var n = chunker.FindBoundary(span);
            if (n < 0) { current += span.Length; offset += span.Length; continue; }
            cuts.Add(current + n);
            current = 0;
            offset += n;
        }
        if (current > 0) cuts.Add(current);
        Assert.Equal(SplitByteByByte(data), cuts);
    }
}
