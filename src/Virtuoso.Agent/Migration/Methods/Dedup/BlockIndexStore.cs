using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Virtuoso.Agent.Migration.Methods.Dedup;

/// <summary>
/// Remembers the <see cref="BlockList"/> of files this host has hashed or written, keyed by their
/// <see cref="FileIdentity"/> (device, inode, size, mtime in ns), in <c>&lt;data&gt;/dedup/index/</c>, one small file
/// per inode. Both halves of DEDUP use it: the origin to answer a block list without re-hashing an unchanged disk,
/// the destination to know what its cached copies hold. A rename (staging → machine → cache) keeps inode and mtime,
/// so a file written by a fetch is known again when it is exported back or found in a cache.
/// Trust: a list is believed as long as the identity matches; a file rewritten in place with its mtime forged back
/// would fool it (only root on this host can do that). Stale entries are overwritten when their inode is reused.
/// </summary>
internal sealed class BlockIndexStore
{
    private readonly string _directory;
    private readonly ConcurrentDictionary<FileIdentity, Lazy<Task<BlockList>>> _hashing = new();
    private long _bytesHashed;

    public BlockIndexStore(string dataDirectory) => _directory = Path.Combine(dataDirectory, "dedup", "index");

    /// <summary>Bytes of files read to hash them so far (holes are not read), for tests and the benchmark.</summary>
    public long BytesHashed => Interlocked.Read(ref _bytesHashed);

    /// <summary>
    /// The file's block list from the index, or computed (once, even when asked concurrently) and remembered. The
    /// file's name says how it is cut (<see cref="BlockList.ChunkingFor"/>).
    /// </summary>
    public async Task<BlockList> GetOrHashAsync(string path, CancellationToken ct)
    {
        var identity = NativeFile.Identify(path) ?? throw new FileNotFoundException($"{path} is not a regular file", path);
        var chunking = BlockList.ChunkingFor(Path.GetFileName(path));
        if (TryLoad(identity) is { } known && known.Chunking == chunking)
            return known;
        // Hashing is shared by concurrent callers and runs to its end even if this caller gives up: the next asks for it.
        var lazy = _hashing.GetOrAdd(identity, id => new Lazy<Task<BlockList>>(() => Task.Run(() =>
        {
            try
            {
                var (list, read) = BlockHasher.Hash(path, chunking, CancellationToken.None);
                Interlocked.Add(ref _bytesHashed, read);
                // The file may have changed while it was read; remember the list only if it did not.
                if (NativeFile.Identify(path) == id)
                    Save(id, list);
                return list;
            }
            finally
            {
                _hashing.TryRemove(id, out _);
            }
        })));
        return await lazy.Value.WaitAsync(ct);
    }

    /// <summary>Records that the file at <paramref name="path"/>, as it is now, has exactly these blocks (a fetch just wrote and verified it).</summary>
    public void Remember(string path, BlockList list)
    {
        var identity = NativeFile.Identify(path) ?? throw new FileNotFoundException($"{path} is not a regular file", path);
        if (identity.Size != list.Length)
            throw new InvalidOperationException($"{path} has {identity.Size} bytes, its block list {list.Length}");
        Save(identity, list);
    }

    public BlockList? TryLoad(string path) =>
        NativeFile.Identify(path) is { } identity && TryLoad(identity) is { } list && list.Chunking == BlockList.ChunkingFor(Path.GetFileName(path)) ? list : null;

    // Format: "VDI1" | u64 device | u64 inode | i64 size | i64 mtime ns | encoded BlockList | SHA-256 of all before.
    // The checksum catches a torn write (entries are written without fsync: losing one only costs a re-hash).
    private const int HeaderLength = 4 + 8 + 8 + 8 + 8;

    private string PathOf(FileIdentity id) => Path.Combine(_directory, $"{id.Device:x}-{id.Inode:x}.vdi");

    private BlockList? TryLoad(FileIdentity identity)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(PathOf(identity));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        if (bytes.Length < HeaderLength + 32 || !bytes.AsSpan(0, 4).SequenceEqual("VDI1"u8))
            return null;
        var body = bytes.AsSpan(0, bytes.Length - 32);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - 32)))
            return null;
        var stored = new FileIdentity(
            BinaryPrimitives.ReadUInt64LittleEndian(body[4..]),
            BinaryPrimitives.ReadUInt64LittleEndian(body[12..]),
            BinaryPrimitives.ReadInt64LittleEndian(body[20..]),
            BinaryPrimitives.ReadInt64LittleEndian(body[28..]));
        if (stored != identity)
            return null;
        var (list, _) = BlockList.Decode(body[HeaderLength..]);
        return list is not null && list.Length == identity.Size ? list : null;
    }

    private void Save(FileIdentity identity, BlockList list)
    {
        var encoded = list.Encode();
        var bytes = new byte[HeaderLength + encoded.Length + 32];
        "VDI1"u8.CopyTo(bytes);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(4), identity.Device);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(12), identity.Inode);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(20), identity.Size);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(28), identity.ModifiedNs);
        encoded.CopyTo(bytes, HeaderLength);
        SHA256.HashData(bytes.AsSpan(0, HeaderLength + encoded.Length), bytes.AsSpan(HeaderLength + encoded.Length));
        Directory.CreateDirectory(_directory);
        var target = PathOf(identity);
        var temp = $"{target}.{Guid.NewGuid():N}.tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, target, overwrite: true);
    }
}
