using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Virtuoso.Agent.Migration.Origin;

/// <summary>
/// SHA-256 of machine files, remembered by (path, length, last write time), so exporting an unchanged machine again
/// (a retry, a migration back) does not read a multi-gigabyte disk twice.
/// </summary>
internal sealed class FileHashCache
{
    private readonly ConcurrentDictionary<string, (long Length, DateTime Modified, string Sha256)> _known = new();

    /// <summary>How many files were actually read and hashed (tests check the cache works).</summary>
    public int HashedFiles => _hashed;
    private int _hashed;

    /// <summary>The length and lower-case hex SHA-256 of a file.</summary>
    public async Task<(long Length, string Sha256)> HashAsync(string path, CancellationToken ct)
    {
        var info = new FileInfo(path);
        var (length, modified) = (info.Length, info.LastWriteTimeUtc);
        if (_known.TryGetValue(path, out var known) && known.Length == length && known.Modified == modified)
            return (length, known.Sha256);
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
        Interlocked.Increment(ref _hashed);
        _known[path] = (length, modified, sha);
        return (length, sha);
    }
}
