using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Virtuoso.Agent.Migration.Methods.Dedup;

/// <summary>
/// Content-defined chunking (a gear hash in the manner of FastCDC, Xia et al., USENIX ATC 2016) for files whose
/// contents shift when something early in them changes, such as QEMU's saved memory state: its stream writes each
/// RAM page with a small header and leaves out zero pages, so one page that turns from zero to data moves every
/// later byte. Fixed blocks would then all differ; chunk boundaries chosen by content move with the bytes, so
/// unchanged runs of pages keep their chunks and their hashes. Disks keep fixed, cluster-aligned blocks (a guest's
/// write changes a cluster in place). Pure: no I/O, the caller feeds bytes.
/// </summary>
internal sealed class ContentChunker
{
    public const int MinSize = 16 * 1024;
    public const int AverageSize = 64 * 1024;
    public const int MaxSize = 256 * 1024;

    // FastCDC's normalized chunking: a stricter mask before the average size and a looser one after it pulls chunk
    // sizes towards the average. 64 KiB average → 16 bits; ±2 bits of normalization.
    private static readonly ulong MaskBeforeAverage = SpreadMask(18);
    private static readonly ulong MaskAfterAverage = SpreadMask(14);

    private static readonly ulong[] Gear = BuildGear();

    private ulong _hash;
    private int _length;

    /// <summary>
    /// Feeds <paramref name="data"/> and returns how many of its bytes complete the current chunk, or -1 when the
    /// whole span belongs to the current chunk and more is needed. After a boundary the chunker starts a new chunk.
    /// </summary>
    /// <remarks>
    /// The gear hash shifts left once per byte, so after 64 bytes a byte's term has left the 64-bit hash: the hash
    /// at a position depends on the last 64 bytes only. No cut can fall before <see cref="MinSize"/>, so the first
    /// <c>MinSize - 64</c> bytes of every chunk are skipped without being looked at (FastCDC's cut-point skipping):
    /// the cuts are exactly those of hashing every byte, for a quarter less work.
    /// </remarks>
    public int FindBoundary(ReadOnlySpan<byte> data)
    {
        var i = 0;
        if (_length < SkipTo)
        {
            var skip = Math.Min(SkipTo - _length, data.Length);
            _length += skip;
            i = skip;
        }
        ref var gear = ref MemoryMarshal.GetArrayDataReference(Gear);
        ref var bytes = ref MemoryMarshal.GetReference(data);
        var hash = _hash;
        var length = _length;
        // Up to the average size the stricter mask, after it the looser one, at the maximum size a forced cut.
        for (; i < data.Length && length < AverageSize; i++)
        {
            length++;
            hash = (hash << 1) + Unsafe.Add(ref gear, Unsafe.Add(ref bytes, i));
            if (length >= MinSize && (hash & MaskBeforeAverage) == 0)
                return Cut(i);
        }
        for (; i < data.Length; i++)
        {
            length++;
            hash = (hash << 1) + Unsafe.Add(ref gear, Unsafe.Add(ref bytes, i));
            if ((hash & MaskAfterAverage) == 0 || length >= MaxSize)
                return Cut(i);
        }
        _hash = hash;
        _length = length;
        return -1;

        int Cut(int at)
        {
            Reset();
            return at + 1;
        }
    }

    // Bytes of a chunk that cannot influence the hash at its first possible cut.
    private const int SkipTo = MinSize - 64;

    /// <summary>Forgets the current chunk, as at the start of a file.</summary>
    public void Reset()
    {
        _hash = 0;
        _length = 0;
    }

    /// <summary>The chunk lengths of a whole buffer, in order; the last chunk ends at the end of the buffer.</summary>
    public static IReadOnlyList<int> Split(ReadOnlySpan<byte> data)
    {
        var chunker = new ContentChunker();
        var lengths = new List<int>();
        while (!data.IsEmpty)
        {
            var n = chunker.FindBoundary(data);
            if (n < 0)
            {
                lengths.Add(data.Length);
                break;
            }
            lengths.Add(n);
            data = data[n..];
        }
        return lengths;
    }

    /// <summary>A mask of <paramref name="bits"/> one-bits spread evenly over the upper 48 bits of the hash, where the
    /// gear hash has mixed the most recent bytes best (the low bits only see the last few bytes).</summary>
    private static ulong SpreadMask(int bits)
    {
        var mask = 0UL;
        for (var i = 0; i < bits; i++)
            mask |= 1UL << (63 - i * 48 / bits);
        return mask;
    }

    private static ulong[] BuildGear()
    {
        // A fixed table: origin and destination must cut at the same places, so no per-process randomness.
        var gear = new ulong[256];
        var state = 0x9E37_79B9_7F4A_7C15UL;
        for (var i = 0; i < gear.Length; i++)
        {
            // splitmix64
            state += 0x9E37_79B9_7F4A_7C15UL;
            var z = state;
            z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
            gear[i] = z ^ (z >> 31);
        }
        return gear;
    }
}
