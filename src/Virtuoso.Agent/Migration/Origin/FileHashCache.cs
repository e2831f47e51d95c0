using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Virtuoso.Agent.Migration.Methods.Dedup;

namespace Virtuoso.Agent.Migration.Origin;

/// <summary>
/// SHA-256 of machine files (the export manifest's, design §6.2), remembered on disk in <c>&lt;data&gt;/hashes/</c> by
/// <see cref="FileIdentity"/> (device, inode, size, mtime in ns), one small file per inode. Exporting an unchanged
/// machine again — a retry, a migration back, after an agent restart — reads nothing; and a destination that has just
/// verified a copy records its hash (<see cref="Remember"/>), so exporting it onward costs no read either. A rename
/// (staging → machine → cache) keeps inode and mtime, so the entry follows the file. Trust is the same as the DEDUP
/// block index's (<see cref="BlockIndexStore"/>): an entry is believed while the identity matches.
/// </summary>
internal sealed class FileHashCache(AgentOptions options)
{
    private readonly string _directory = Path.Combine(options.DataDirectory, "hashes");
    private int _hashed;

    /// <summary>How many files were actually read and hashed (tests check the cache works).</summary>
    public int HashedFiles => _hashed;

    /// <summary>The length and lower-case hex SHA-256 of a file.</summary>
    public async Task<(long Length, string Sha256)> HashAsync(string path, CancellationToken ct)
    {
        var identity = NativeFile.Identify(path) ?? throw new FileNotFoundException($"{path} is not a regular file", path);
        if (TryLoad(identity) is { } known)
            return (identity.Size, known);
        string sha;
        await using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true))
            sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
        Interlocked.Increment(ref _hashed);
        // Remembered only if the file did not change while it was read.
        if (NativeFile.Identify(path) == identity)
            Save(identity, sha);
        return (identity.Size, sha);
    }

    /// <summary>Records that the file with this identity (taken when its bytes were known to match) has this SHA-256.</summary>
    public void Remember(FileIdentity identity, string sha256)
    {
        if (sha256.Length != 64 || !sha256.All(char.IsAsciiHexDigitLower))
            throw new ArgumentException($"'{sha256}' is not a lower-case hex SHA-256", nameof(sha256));
        Save(identity, sha256);
    }

    // One line: "VFH1 <device> <inode> <size> <mtime ns> <sha256>\n". Written to a temporary file and renamed; a line
    // cut short by a crash does not parse and only costs a re-read.
    private string PathOf(FileIdentity id) => Path.Combine(_directory, $"{id.Device:x}-{id.Inode:x}.sha");

    private static string Line(FileIdentity id, string sha) =>
        string.Create(CultureInfo.InvariantCulture, $"VFH1 {id.Device} {id.Inode} {id.Size} {id.ModifiedNs} {sha}\n");

    private string? TryLoad(FileIdentity identity)
    {
        string text;
        try
        {
            text = File.ReadAllText(PathOf(identity), Encoding.ASCII);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        var sha = text.Length > 65 ? text[^65..^1] : "";
        return sha.Length == 64 && text == Line(identity, sha) && sha.All(char.IsAsciiHexDigitLower) ? sha : null;
    }

    private void Save(FileIdentity identity, string sha)
    {
        Directory.CreateDirectory(_directory);
        var target = PathOf(identity);
        var temp = $"{target}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(temp, Line(identity, sha), Encoding.ASCII);
        File.Move(temp, target, overwrite: true);
    }
}
