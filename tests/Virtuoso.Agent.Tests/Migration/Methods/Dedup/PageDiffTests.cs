using Virtuoso.Agent.Migration.Methods.Dedup;

namespace Virtuoso.Agent.Tests.Migration.Methods.Dedup;

public sealed class PageDiffTests
{
    [Fact]
    public void Differing_MarksExactlyThePagesThatChanged()
    {
        var old = new byte[BlockList.BlockSize];
        new Random(1).NextBytes(old);
        var digests = new byte[PageDiff.MaxPages * PageDiff.DigestSize];
        PageDiff.Digests(old, digests);
        var now = old.ToArray();
        now[3 * PageDiff.PageSize + 17] ^= 1;
        now[15 * PageDiff.PageSize] ^= 0x80;

        var mask = PageDiff.Differing(now, digests);

        Assert.Equal((1 << 3) | (1 << 15), mask);
        Assert.Equal(2 * PageDiff.PageSize, PageDiff.SelectedBytes(mask, now.Length));
        Assert.Equal(0, PageDiff.Differing(old, digests));
    }

    [Fact]
    public void ShortLastBlock_HasAShortLastPage()
    {
        var block = new byte[2 * PageDiff.PageSize + 100];
        new Random(2).NextBytes(block);
        var digests = new byte[3 * PageDiff.DigestSize];
        PageDiff.Digests(block, digests);
        block[^1] ^= 1;

        var mask = PageDiff.Differing(block, digests);

        Assert.Equal(3, PageDiff.PagesIn(block.Length));
        Assert.Equal(1 << 2, mask);
        Assert.Equal(100, PageDiff.SelectedBytes(mask, block.Length));
    }
}
