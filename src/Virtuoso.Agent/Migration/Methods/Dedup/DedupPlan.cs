namespace Virtuoso.Agent.Migration.Methods.Dedup;

/// <summary>Where a block with a known hash can be read on this host.</summary>
internal readonly record struct BlockSource(string Path, long Offset);

/// <summary>
/// One file to assemble in staging: the origin's blocks and, when this machine's own cached copy of the file was
/// moved into staging, what that copy holds at each index (<c>null</c> entry: unknown, e.g. cut by a new length);
/// <paramref name="InPlace"/> itself is null for a new, empty sparse file.
/// </summary>
internal sealed record FileTarget(string Name, string StagingPath, BlockList Origin, BlockHash?[]? InPlace);

/// <summary>The local work on one file: blocks to deallocate and blocks to copy from this host; the rest is already in place or fetched.</summary>
internal sealed record FilePlan(IReadOnlyList<int> Punch, IReadOnlyList<(int Index, BlockSource Source)> Copy, long BytesInPlace);

/// <summary>One distinct block to fetch: asked for at (<paramref name="File"/>, <paramref name="Index"/>) of the origin, written to every target.</summary>
internal sealed record BlockFetch(BlockHash Hash, int File, int Index, int Length, List<(int File, int Index)> Targets);

/// <summary>What a DEDUP fetch does, decided before any byte moves.</summary>
internal sealed record TransferPlan(IReadOnlyList<FilePlan> Files, IReadOnlyList<BlockFetch> Fetch)
{
    /// <summary>Payload bytes that must cross the network (each distinct missing block once).</summary>
    public long FetchBytes => Fetch.Sum(f => (long)f.Length);
}

/// <summary>
/// The decisions of a DEDUP fetch (design §6.3), as pure functions: which blocks are already in place, which can be
/// copied from this host, which must travel. Zero blocks never travel; a block needed at several places travels once.
/// </summary>
internal static class DedupPlan
{
    /// <summary>
    /// What a cached copy holds at each block index once it is moved into staging and cut or extended to
    /// <paramref name="newLength"/>: its own hash where the block is untouched by the change of length, zero beyond its
    /// old end (extending leaves a hole), null for a block the cut or extension only partly covers.
    /// </summary>
    public static BlockHash?[] InPlace(BlockList cached, long newLength)
    {
        var result = new BlockHash?[BlockList.CountFor(newLength)];
        for (var i = 0; i < result.Length; i++)
        {
            var start = BlockList.FixedOffset(i);
            var end = start + BlockList.BlockSize;
            if (i < cached.Count && (cached.Length == newLength || (end <= cached.Length && end <= newLength)))
                result[i] = cached.Blocks[i];
            else if (start >= cached.Length)
                result[i] = BlockHash.Zero;
            else
                result[i] = null;
        }
        return result;
    }

    /// <summary>
    /// Distinct non-zero blocks that are neither in place nor available from an unchanged block of a moved copy nor
    /// <paramref name="heldLocally"/>. The destination indexes its caches only until this is empty.
    /// </summary>
    public static HashSet<BlockHash> Missing(IReadOnlyList<FileTarget> files, Func<BlockHash, bool> heldLocally)
    {
        var unchanged = UnchangedSources(files);
        var missing = new HashSet<BlockHash>();
        foreach (var file in files)
        {
            var blocks = file.Origin.Blocks;
            for (var i = 0; i < blocks.Length; i++)
            {
                var hash = blocks[i];
                if (hash.IsZero || file.InPlace?[i] == hash || unchanged.ContainsKey(hash) || heldLocally(hash))
                    continue;
                missing.Add(hash);
            }
        }
        return missing;
    }

    /// <summary>
    /// Decides every block. Sources: first the unchanged blocks of moved copies (never overwritten, so safe to read
    /// while the copy is patched), then <paramref name="local"/> (files elsewhere on this host, never written).
    /// </summary>
    public static TransferPlan Plan(IReadOnlyList<FileTarget> files, IReadOnlyDictionary<BlockHash, BlockSource> local)
    {
        var sources = UnchangedSources(files);
        foreach (var (hash, source) in local)
            sources.TryAdd(hash, source);

        var plans = new List<FilePlan>(files.Count);
        var fetch = new Dictionary<BlockHash, BlockFetch>();
        var order = new List<BlockFetch>();
        for (var f = 0; f < files.Count; f++)
        {
            var file = files[f];
            var blocks = file.Origin.Blocks;
            var punch = new List<int>();
            var copy = new List<(int, BlockSource)>();
            long inPlace = 0;
            for (var i = 0; i < blocks.Length; i++)
            {
                var hash = blocks[i];
                if (file.InPlace is { } held ? held[i] == hash : hash.IsZero)
                    inPlace += file.Origin.LengthOf(i);
                else if (hash.IsZero)
                    punch.Add(i);
                else if (sources.TryGetValue(hash, out var source))
                    copy.Add((i, source));
                else if (fetch.TryGetValue(hash, out var pending))
                    pending.Targets.Add((f, i));
                else
                {
                    var wanted = new BlockFetch(hash, f, i, file.Origin.LengthOf(i), [(f, i)]);
                    fetch.Add(hash, wanted);
                    order.Add(wanted);
                }
            }
            plans.Add(new FilePlan(punch, copy, inPlace));
        }
        return new TransferPlan(plans, order);
    }

    private static Dictionary<BlockHash, BlockSource> UnchangedSources(IReadOnlyList<FileTarget> files)
    {
        var sources = new Dictionary<BlockHash, BlockSource>();
        foreach (var file in files)
        {
            if (file.InPlace is not { } held)
                continue;
            var blocks = file.Origin.Blocks;
            for (var i = 0; i < blocks.Length; i++)
                if (!blocks[i].IsZero && held[i] == blocks[i])
                    sources.TryAdd(blocks[i], new BlockSource(file.StagingPath, file.Origin.OffsetOf(i)));
        }
        return sources;
    }
}
