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

/// <summary>
/// The blocks of one file (DEDUP, design §6.3): fixed <see cref="BlockSize"/> blocks, the last one possibly shorter,
/// each described by its SHA-256 or <see cref="BlockHash.Zero"/>.
/// </summary>
internal sealed class BlockList
{
    /// <summary>64 KiB, qcow2's default cluster size, so that a guest write dirties whole blocks of the image.</summary>
    public const int BlockSize = 64 * 1024;

    public BlockList(long length, BlockHash[] blocks)
    {
        if (length < 0 || blocks.LongLength != CountFor(length))
            throw new ArgumentException($"a file of {length} bytes has {CountFor(length)} blocks, not {blocks.LongLength}");
        Length = length;
        Blocks = blocks;
    }

    public long Length { get; }
    public BlockHash[] Blocks { get; }
    public int Count => Blocks.Length;

    public static int CountFor(long length) => checked((int)((length + BlockSize - 1) / BlockSize));

    /// <summary>Length in bytes of block <paramref name="index"/> (the last one may be short).</summary>
    public int LengthOf(int index) => (int)Math.Min(BlockSize, Length - (long)index * BlockSize);

    public static long OffsetOf(int index) => (long)index * BlockSize;

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

    public bool SameAs(BlockList other) => Length == other.Length && Blocks.AsSpan().SequenceEqual(other.Blocks);

    // Wire and disk format, all integers little-endian:
    //   "VDB1" | u32 block size | i64 length | i32 count | count × (u8 tag: 0 zero, 1 data | 32-byte SHA-256 if data)
    // A sparse 2 GB disk with 600 MB of data is about 0.3 MB of list.
    private static ReadOnlySpan<byte> Magic => "VDB1"u8;
    private const int HeaderLength = 4 + 4 + 8 + 4;

    public int EncodedLength()
    {
        var length = HeaderLength;
        foreach (var block in Blocks)
            length += block.IsZero ? 1 : 33;
        return length;
    }

    public byte[] Encode()
    {
        var bytes = new byte[EncodedLength()];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), BlockSize);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), Length);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(16), Blocks.Length);
        var at = HeaderLength;
        foreach (var block in Blocks)
        {
            if (block.IsZero)
            {
                bytes[at++] = 0;
                continue;
            }
            bytes[at++] = 1;
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
        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]) != BlockSize)
            return (null, $"block size {BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..])}, expected {BlockSize}");
        var length = BinaryPrimitives.ReadInt64LittleEndian(bytes[8..]);
        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes[16..]);
        if (length < 0 || length > (long)int.MaxValue * BlockSize || count != CountFor(length))
            return (null, $"block count {count} does not fit length {length}");
        var blocks = new BlockHash[count];
        var at = HeaderLength;
        for (var i = 0; i < count; i++)
        {
            if (at >= bytes.Length)
                return (null, $"list ends after {i} of {count} blocks");
            switch (bytes[at++])
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
        return (new BlockList(length, blocks), null);
    }
}
