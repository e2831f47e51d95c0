using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Virtuoso.Agent.Migration.Methods.Dedup;

/// <summary>SHA-256 of one block, as four words so that it is a cheap dictionary key. <see cref="Zero"/> marks a block that is all zeros or unallocated.</summary>
internal readonly record struct BlockHash(ulong A, ulong B, ulong C, ulong D)
{
    /// <summary>The marker of an all-zero or unallocated block (no real SHA-256 is all zeros).</summary>
    public static readonly BlockHash Zero = default;

    public bool IsZero => this == Zero;

    public static BlockHash Read(ReadOnlySpan<byte> sha256) => new(
        BinaryPrimitives.ReadUInt64BigEndian(sha256),
        BinaryPrimitives.ReadUInt64BigEndian(sha256[8..]),
        BinaryPrimitives.ReadUInt64BigEndian(sha256[16..]),
        BinaryPrimitives.ReadUInt64BigEndian(sha256[24..]));

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, A);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], B);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], C);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], D);
    }

    /// <summary>The hash of a block's bytes, or <see cref="Zero"/> when they are all zero (zero blocks never travel).</summary>
    public static BlockHash Of(ReadOnlySpan<byte> block)
    {
        if (!block.ContainsAnyExcept((byte)0))
            return Zero;
        Span<byte> sha = stackalloc byte[32];
        SHA256.HashData(block, sha);
        return Read(sha);
    }

    public override string ToString() => $"{A:x16}{B:x16}{C:x16}{D:x16}";
}

/// <summary>How a file is cut into blocks; both agents derive it from the file's name (<see cref="BlockList.ChunkingFor"/>).</summary>
internal enum Chunking
{
    /// <summary>Fixed 64 KiB blocks, aligned with qcow2 clusters: a guest write changes blocks in place (disks).</summary>
    Fixed,
    /// <summary>Content-defined chunks of 16-256 KiB (<see cref="ContentChunker"/>): boundaries move with the bytes (saved memory state).</summary>
    ContentDefined,
}

/// <summary>
/// The blocks of one file (DEDUP, design §6.3), each described by its SHA-256 or <see cref="BlockHash.Zero"/>: either
/// fixed <see cref="BlockSize"/> blocks, the last one possibly shorter, or content-defined chunks of varying length.
/// </summary>
internal sealed class BlockList
{
    /// <summary>64 KiB, qcow2's default cluster size, so that a guest write dirties whole blocks of the image.</summary>
    public const int BlockSize = 64 * 1024;

    // Content-defined lists: start of every chunk, plus the file length at the end. Null for fixed blocks.
    private readonly long[]? _starts;

    /// <summary>A list of fixed blocks.</summary>
    public BlockList(long length, BlockHash[] blocks)
    {
        if (length < 0 || blocks.LongLength != CountFor(length))
            throw new ArgumentException($"a file of {length} bytes has {CountFor(length)} blocks, not {blocks.LongLength}");
        Length = length;
        Blocks = blocks;
    }

    private BlockList(long length, BlockHash[] blocks, long[] starts)
    {
        Length = length;
        Blocks = blocks;
        _starts = starts;
    }

    /// <summary>A list of content-defined chunks of the given lengths (each 1..<see cref="ContentChunker.MaxSize"/>).</summary>
    public static BlockList ContentDefined(BlockHash[] blocks, IReadOnlyList<int> lengths)
    {
        if (blocks.Length != lengths.Count)
            throw new ArgumentException($"{blocks.Length} hashes for {lengths.Count} chunks");
        var starts = new long[lengths.Count + 1];
        for (var i = 0; i < lengths.Count; i++)
        {
            if (lengths[i] is < 1 or > ContentChunker.MaxSize)
                throw new ArgumentException($"chunk {i} has {lengths[i]} bytes");
            starts[i + 1] = starts[i] + lengths[i];
        }
        return new BlockList(starts[^1], blocks, starts);
    }

    public long Length { get; }
    public BlockHash[] Blocks { get; }
    public int Count => Blocks.Length;
    public Chunking Chunking => _starts is null ? Chunking.Fixed : Chunking.ContentDefined;

    /// <summary>Disk images are cut in fixed, cluster-aligned blocks; anything else (the saved memory state) by content.</summary>
    public static Chunking ChunkingFor(string fileName) =>
        fileName.EndsWith(".qcow2", StringComparison.Ordinal) || fileName.EndsWith(".img", StringComparison.Ordinal)
        || fileName.EndsWith(".raw", StringComparison.Ordinal)
            ? Chunking.Fixed
            : Chunking.ContentDefined;

    public static int CountFor(long length) => checked((int)((length + BlockSize - 1) / BlockSize));

    /// <summary>Offset of fixed block <paramref name="index"/>.</summary>
    public static long FixedOffset(int index) => (long)index * BlockSize;

    /// <summary>Offset of block <paramref name="index"/> in the file.</summary>
    public long OffsetOf(int index) => _starts?[index] ?? FixedOffset(index);

    /// <summary>Length in bytes of block <paramref name="index"/> (the last fixed one may be short).</summary>
    public int LengthOf(int index) =>
        _starts is { } starts ? (int)(starts[index + 1] - starts[index]) : (int)Math.Min(BlockSize, Length - FixedOffset(index));

    public long DataBytes
    {
        get
        {
            long total = 0;
            for (var i = 0; i < Blocks.Length; i++)
                if (!Blocks[i].IsZero)
                    total += LengthOf(i);
            return total;
        }
    }

    /// <summary>The file's digest in an export manifest (<c>ExportFile.Digest</c>): SHA-256 of <see cref="Encode"/>, lower-case hex.</summary>
    public string Digest() => Convert.ToHexStringLower(SHA256.HashData(Encode()));

    public bool SameAs(BlockList other) =>
        Length == other.Length && Blocks.AsSpan().SequenceEqual(other.Blocks)
        && (_starts ?? []).AsSpan().SequenceEqual(other._starts ?? []);

    // Wire and disk format, all integers little-endian:
    //   "VDB1" | u32 block size (0: content-defined) | i64 length | i32 count
    //   | count × (u8 tag: 0 zero, 1 data | u32 chunk length if content-defined | 32-byte SHA-256 if data)
    // A sparse 2 GB disk with 600 MB of data is about 0.3 MB of list.
    private static ReadOnlySpan<byte> Magic => "VDB1"u8;
    private const int HeaderLength = 4 + 4 + 8 + 4;

    public int EncodedLength()
    {
        var length = HeaderLength;
        foreach (var block in Blocks)
            length += (block.IsZero ? 1 : 33) + (_starts is null ? 0 : 4);
        return length;
    }

    public byte[] Encode()
    {
        var bytes = new byte[EncodedLength()];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), _starts is null ? BlockSize : 0u);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), Length);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(16), Blocks.Length);
        var at = HeaderLength;
        for (var i = 0; i < Blocks.Length; i++)
        {
            var block = Blocks[i];
            bytes[at++] = block.IsZero ? (byte)0 : (byte)1;
            if (_starts is not null)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), (uint)LengthOf(i));
                at += 4;
            }
            if (block.IsZero)
                continue;
            block.Write(bytes.AsSpan(at));
            at += 32;
        }
        return bytes;
    }

    /// <summary>Reads an encoded list; null with a reason when the bytes are not one (the peer is not trusted to send well-formed data).</summary>
    public static (BlockList? List, string? Error) Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderLength || !bytes[..4].SequenceEqual(Magic))
            return (null, "not a DEDUP block list (bad magic)");
        var blockSize = BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]);
        if (blockSize != BlockSize && blockSize != 0)
            return (null, $"block size {blockSize}, expected {BlockSize} or 0 (content-defined)");
        var contentDefined = blockSize == 0;
        var length = BinaryPrimitives.ReadInt64LittleEndian(bytes[8..]);
        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes[16..]);
        if (length < 0 || length > (long)int.MaxValue * BlockSize || count < 0
            || (contentDefined ? count > length || (count == 0) != (length == 0) : count != CountFor(length)))
            return (null, $"block count {count} does not fit length {length}");
        var blocks = new BlockHash[count];
        var lengths = contentDefined ? new int[count] : null;
        var at = HeaderLength;
        for (var i = 0; i < count; i++)
        {
            if (at >= bytes.Length)
                return (null, $"list ends after {i} of {count} blocks");
            var tag = bytes[at++];
            if (lengths is not null)
            {
                if (at + 4 > bytes.Length)
                    return (null, $"block {i}: truncated length");
                var chunk = BinaryPrimitives.ReadUInt32LittleEndian(bytes[at..]);
                if (chunk is < 1 or > ContentChunker.MaxSize)
                    return (null, $"block {i}: chunk length {chunk} outside 1..{ContentChunker.MaxSize}");
                lengths[i] = (int)chunk;
                at += 4;
            }
            switch (tag)
            {
                case 0:
                    break;
                case 1 when at + 32 <= bytes.Length:
                    blocks[i] = BlockHash.Read(bytes.Slice(at, 32));
                    if (blocks[i].IsZero)
                        return (null, $"block {i}: a data block with an all-zero hash");
                    at += 32;
                    break;
                default:
                    return (null, $"block {i}: bad tag or truncated hash");
            }
        }
        if (at != bytes.Length)
            return (null, $"{bytes.Length - at} bytes after the last block");
        if (lengths is null)
            return (new BlockList(length, blocks), null);
        if (lengths.Sum(n => (long)n) != length)
            return (null, $"chunk lengths add up to {lengths.Sum(n => (long)n)}, not {length}");
        return (ContentDefined(blocks, lengths), null);
    }
}
