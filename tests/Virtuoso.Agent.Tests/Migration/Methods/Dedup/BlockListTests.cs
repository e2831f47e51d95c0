using Virtuoso.Agent.Migration.Methods.Dedup;

namespace Virtuoso.Agent.Tests.Migration.Methods.Dedup;

public sealed class BlockListTests
{
    private const int B = BlockList.BlockSize;

    [Fact]
    public void Encode_ThenDecode_GivesTheSameList()
    {
        var list = new BlockList(2L * B + 5, [BlockHash.Of([1, 2, 3]), BlockHash.Zero, BlockHash.Of([4])]);

        var (decoded, error) = BlockList.Decode(list.Encode());

        Assert.Null(error);
        Assert.True(decoded!.SameAs(list));
        Assert.Equal(20 + 33 + 1 + 33, list.Encode().Length);
    }

    [Fact]
    public void ContentDefined_EncodeThenDecode_KeepsTheChunkLengths()
    {
        var list = BlockList.ContentDefined([BlockHash.Of([1]), BlockHash.Zero, BlockHash.Of([2])], [20_000, 70_000, 5]);

        var (decoded, error) = BlockList.Decode(list.Encode());

        Assert.Null(error);
        Assert.True(decoded!.SameAs(list));
        Assert.Equal(Chunking.ContentDefined, decoded.Chunking);
        Assert.Equal(90_000, decoded.OffsetOf(2));
        Assert.Equal(5, decoded.LengthOf(2));
        Assert.Equal(90_005, decoded.Length);
    }

    [Fact]
    public void ContentDefined_ChunkLongerThanTheMaximum_IsRefused()
    {
        var bytes = BlockList.ContentDefined([BlockHash.Of([1])], [100]).Encode();
        BitConverter.GetBytes(ContentChunker.MaxSize + 1).CopyTo(bytes, 21);
        BitConverter.GetBytes((long)ContentChunker.MaxSize + 1).CopyTo(bytes, 8);

        Assert.Null(BlockList.Decode(bytes).List);
    }

    [Theory]
    [InlineData("disk.qcow2", true)]
    [InlineData("disk.img", true)]
    [InlineData("state.bin", false)]
    public void ChunkingFor_DisksAreFixedStatesContentDefined(string name, bool isFixed) =>
        Assert.Equal(isFixed ? Chunking.Fixed : Chunking.ContentDefined, BlockList.ChunkingFor(name));

    [Fact]
    public void Of_AllZeroBytes_IsTheZeroMarker()
    {
        Assert.True(BlockHash.Of(new byte[B]).IsZero);
        Assert.False(BlockHash.Of([0, 0, 1]).IsZero);
    }

    [Theory]
    [InlineData("bad magic")]
    [InlineData("truncated")]
    [InlineData("trailing")]
    [InlineData("count")]
    [InlineData("tag")]
    public void Decode_MalformedList_IsRefusedWithAReason(string damage)
    {
        var bytes = new BlockList(2L * B, [BlockHash.Of([1]), BlockHash.Zero]).Encode().ToList();
        switch (damage)
        {
            case "bad magic": bytes[0] = (byte)'X'; break;
            case "truncated": bytes.RemoveAt(bytes.Count - 2); break;
            case "trailing": bytes.Add(0); break;
            case "count": bytes[16] = 3; break;
            case "tag": bytes[20] = 7; break;
        }

        var (list, error) = BlockList.Decode(bytes.ToArray());

        Assert.Null(list);
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void LengthOf_LastBlock_IsShort()
    {
        var list = new BlockList(B + 10, [BlockHash.Zero, BlockHash.Zero]);
        Assert.Equal(B, list.LengthOf(0));
        Assert.Equal(10, list.LengthOf(1));
    }

    [Fact]
    public void Chunks_CoverOnlyBlocksTouchingData()
    {
        var chunks = BlockHasher.Chunks([(10, 20), (5L * B + 1, 5L * B + 2), (200L * B, 300L * B)], 400);

        Assert.Equal([(0, 1), (5, 1), (200, 64), (264, 36)], chunks);
    }
}
