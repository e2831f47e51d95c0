using System.Security.Cryptography;

namespace Virtuoso.Agent.Migration.Methods.Dedup;

/// <summary>
/// The 4 KiB pages of a 64 KiB disk block (DEDUP, design §6.3). A guest writes pages, not clusters: 1% of a disk
/// rewritten as scattered 4 KiB writes touches up to 16 times as many bytes of 64 KiB blocks. When the destination
/// holds an older version of a block at the same place, it sends a short digest of each of its pages and the origin
/// answers only the pages that differ. The digest is the first <see cref="DigestSize"/> bytes of the page's SHA-256;
/// it only chooses what to send: the patched block is checked against the block's full SHA-256, and a block that does
/// not match (a digest collision, a changed file) is fetched whole.
/// </summary>
internal static class PageDiff
{
    public const int PageSize = 4096;
    public const int DigestSize = 8;
    public const int MaxPages = BlockList.BlockSize / PageSize;

    public static int PagesIn(int blockLength) => (blockLength + PageSize - 1) / PageSize;

    /// <summary>Bytes of page <paramref name="page"/> of a block of <paramref name="blockLength"/> bytes (the last may be short).</summary>
    public static int PageLength(int blockLength, int page) => Math.Min(PageSize, blockLength - page * PageSize);

    /// <summary>Writes the digest of every page of <paramref name="block"/> to <paramref name="into"/> (<see cref="PagesIn"/> × <see cref="DigestSize"/> bytes).</summary>
    public static void Digests(ReadOnlySpan<byte> block, Span<byte> into)
    {
        Span<byte> sha = stackalloc byte[32];
        var pages = PagesIn(block.Length);
        for (var p = 0; p < pages; p++)
        {
            SHA256.HashData(block.Slice(p * PageSize, PageLength(block.Length, p)), sha);
            sha[..DigestSize].CopyTo(into[(p * DigestSize)..]);
        }
    }

    /// <summary>Bit p set: page p of <paramref name="block"/> does not match the other side's digest of it.</summary>
    public static ushort Differing(ReadOnlySpan<byte> block, ReadOnlySpan<byte> theirDigests)
    {
        var pages = PagesIn(block.Length);
        Span<byte> mine = stackalloc byte[MaxPages * DigestSize];
        Digests(block, mine);
        ushort mask = 0;
        for (var p = 0; p < pages; p++)
            if (!mine.Slice(p * DigestSize, DigestSize).SequenceEqual(theirDigests.Slice(p * DigestSize, DigestSize)))
                mask |= (ushort)(1 << p);
        return mask;
    }

    /// <summary>Bytes of the pages a mask selects in a block of <paramref name="blockLength"/> bytes.</summary>
    public static int SelectedBytes(ushort mask, int blockLength)
    {
        var total = 0;
        for (var p = 0; p < PagesIn(blockLength); p++)
            if ((mask & (1 << p)) != 0)
                total += PageLength(blockLength, p);
        return total;
    }
}
