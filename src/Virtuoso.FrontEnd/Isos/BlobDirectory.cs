using System.Text.RegularExpressions;

namespace Virtuoso.FrontEnd.Isos;

/// <summary>
/// Where the front-end keeps uploaded bytes, content-addressed (issue 15): a blob of SHA-256 <c>HEX</c> is the read-only
/// file <c>{Path}/sha256/{HEX}</c>, shared by every ISO of equal content; uploads are written under <c>{Path}/tmp</c> first
/// (the same file system, so that keeping one is a rename). <see cref="Program"/> puts it at <c>$VIRTUOSO_DATA/blobs</c>.
/// Replicas of the front-end must share this directory (one network file system), since the row that names a blob may
/// be written by one replica and read by another; issue 19 will revisit this (an object store).
/// Created on first use, so that a front-end that never stores a blob leaves no directory behind.
/// </summary>
internal sealed partial record BlobDirectory(string Path)
{
    [GeneratedRegex("^[0-9a-f]{64}\\z")] private static partial Regex HexRx();

    private string Blobs => System.IO.Path.Combine(Path, "sha256");
    private string Temp => System.IO.Path.Combine(Path, "tmp");

    /// <summary>Whether <paramref name="sha256"/> is a digest as blobs are named: 64 lower-case hex digits.</summary>
    public static bool IsDigest(string sha256) => HexRx().IsMatch(sha256);

    /// <summary>The file of a blob, whether or not it exists.</summary>
    public string PathOf(string sha256) =>
        IsDigest(sha256) ? System.IO.Path.Combine(Blobs, sha256) : throw new ArgumentException($"not a SHA-256 digest: '{sha256}'", nameof(sha256));

    /// <summary>A new, empty temporary file for an upload, open for writing; the caller deletes it (<see cref="DeleteTemp"/>) unless it was kept.</summary>
    public (string Path, FileStream Stream) CreateTemp()
    {
        Directory.CreateDirectory(Temp);
        var path = System.IO.Path.Combine(Temp, Guid.NewGuid().ToString("N") + ".part");
        return (path, new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.Asynchronous));
    }

    /// <summary>
    /// Makes the temporary file <paramref name="temp"/> the blob <paramref name="sha256"/>, read-only; when that blob exists
    /// already (equal content uploaded before), the temporary file is simply deleted. Call under the blob's lock.
    /// </summary>
    public void Keep(string temp, string sha256)
    {
        var blob = PathOf(sha256);
        if (File.Exists(blob))
        {
            File.Delete(temp);
            return;
        }

        Directory.CreateDirectory(Blobs);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.Move(temp, blob);
    }

    /// <summary>Deletes a temporary file if it is still there (an upload refused, failed, or kept under another name).</summary>
    public static void DeleteTemp(string temp) => File.Delete(temp);

    /// <summary>Deletes a blob no row refers to any more. Call under the blob's lock, after checking that.</summary>
    public void Remove(string sha256) => File.Delete(PathOf(sha256));
}
