using Virtuoso.Agent.Migration.Methods.Dedup;

namespace Virtuoso.Agent.Tests.Migration.Methods.Dedup;

public sealed class DedupPlanTests
{
    private const int B = BlockList.BlockSize;
    private static BlockHash H(byte n) => BlockHash.Of(Enumerable.Repeat(n, 16).ToArray());
    private static readonly BlockHash Z = BlockHash.Zero;

    private static BlockList List(params BlockHash[] blocks) => new((long)blocks.Length * B, blocks);

    [Fact]
    public void InPlace_SameLength_IsTheCachedList()
    {
        var cached = List(H(1), Z, H(2));
        Assert.Equal(new BlockHash?[] { H(1), Z, H(2) }, DedupPlan.InPlace(cached, cached.Length));
    }

    [Fact]
    public void InPlace_Grown_KeepsFullBlocksMarksThePartOldLastBlockUnknownAndTheRestZero()
    {
        var cached = new BlockList(B + 100, [H(1), H(2)]);
        Assert.Equal(new BlockHash?[] { H(1), null, Z, Z }, DedupPlan.InPlace(cached, 4L * B));
    }

    [Fact]
    public void InPlace_Shrunk_MarksTheCutBlockUnknown()
    {
        var cached = List(H(1), H(2), H(3));
        Assert.Equal(new BlockHash?[] { H(1), null }, DedupPlan.InPlace(cached, B + 10));
    }

    [Fact]
    public void Plan_NewFile_LeavesZeroBlocksAsHolesAndFetchesEachDistinctBlockOnce()
    {
        var origin = List(H(1), Z, H(2), H(1), Z);
        var plan = DedupPlan.Plan([new FileTarget("d", "/s/d", origin, null)], new Dictionary<BlockHash, BlockSource>());

        Assert.Equal(2L * B, plan.Files[0].BytesInPlace);
        Assert.Empty(plan.Files[0].Punch);
        Assert.Empty(plan.Files[0].Copy);
        Assert.Equal([H(1), H(2)], plan.Fetch.Select(f => f.Hash));
        Assert.Equal([(0, 0), (0, 3)], plan.Fetch[0].Targets);
        Assert.Equal(2L * B, plan.FetchBytes);
    }

    [Fact]
    public void Plan_MovedCopy_KeepsSameBlocksPunchesNewZerosAndFetchesOnlyChanges()
    {
        var origin = List(H(1), Z, H(5), H(3));
        var inPlace = new BlockHash?[] { H(1), H(2), H(4), H(3) };
        var plan = DedupPlan.Plan([new FileTarget("d", "/s/d", origin, inPlace)], new Dictionary<BlockHash, BlockSource>());

        Assert.Equal(2L * B, plan.Files[0].BytesInPlace);
        Assert.Equal([1], plan.Files[0].Punch);
        Assert.Equal([H(5)], plan.Fetch.Select(f => f.Hash));
    }

    [Fact]
    public void Plan_BlockThatMovedWithinTheCopy_IsCopiedFromItsUnchangedPosition()
    {
        // Block 0 stays; block 2 now holds what block 0 holds.
        var origin = List(H(1), H(2), H(1));
        var inPlace = new BlockHash?[] { H(1), H(2), H(9) };
        var plan = DedupPlan.Plan([new FileTarget("d", "/s/d", origin, inPlace)], new Dictionary<BlockHash, BlockSource>());

        Assert.Equal([(2, new BlockSource("/s/d", 0))], plan.Files[0].Copy);
        Assert.Empty(plan.Fetch);
    }

    [Fact]
    public void Plan_BlockOnlyAtAChangedPositionOfTheCopy_IsNotASource()
    {
        // Block 1 of the copy is overwritten, so what it held must not be read from it for block 2.
        var origin = List(H(1), H(3), H(2));
        var inPlace = new BlockHash?[] { H(1), H(2), H(9) };
        var plan = DedupPlan.Plan([new FileTarget("d", "/s/d", origin, inPlace)], new Dictionary<BlockHash, BlockSource>());

        Assert.Empty(plan.Files[0].Copy);
        Assert.Equal([H(3), H(2)], plan.Fetch.Select(f => f.Hash));
    }

    [Fact]
    public void Plan_BlockHeldInAnotherCache_IsCopied()
    {
        var origin = List(H(1), H(2));
        var local = new Dictionary<BlockHash, BlockSource> { [H(2)] = new("/cache/base", 7L * B) };
        var plan = DedupPlan.Plan([new FileTarget("d", "/s/d", origin, null)], local);

        Assert.Equal([(1, new BlockSource("/cache/base", 7L * B))], plan.Files[0].Copy);
        Assert.Equal([H(1)], plan.Fetch.Select(f => f.Hash));
    }

    [Fact]
    public void Plan_SameBlockInTwoFiles_TravelsOnceForBoth()
    {
        var plan = DedupPlan.Plan(
            [new FileTarget("a", "/s/a", List(H(1)), null), new FileTarget("b", "/s/b", List(Z, H(1)), null)],
            new Dictionary<BlockHash, BlockSource>());

        var fetch = Assert.Single(plan.Fetch);
        Assert.Equal([(0, 0), (1, 1)], fetch.Targets);
    }

    [Fact]
    public void Missing_CountsNeitherZerosNorInPlaceNorUnchangedNorHeldBlocks()
    {
        var files = new[] { new FileTarget("d", "/s/d", List(H(1), Z, H(2), H(3), H(1)), [H(1), H(7), H(8), H(9), H(9)]) };

        Assert.Equal([H(2), H(3)], DedupPlan.Missing(files, _ => false).OrderBy(h => h.A));
        Assert.Equal([H(3)], DedupPlan.Missing(files, h => h == H(2)));
    }
}
