using System.Security.Cryptography;
using Virtuoso.FrontEnd.Isos;

namespace Virtuoso.FrontEnd.Tests.Isos;

/// <summary>BlobDirectory: content-addressed, read-only files, created on first use; only digests name files.</summary>
public sealed class BlobDirectoryTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "virtuoso-blobs-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static string Digest(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    private static string Temp(BlobDirectory blobs, byte[] content)
    {
        var (path, stream) = blobs.CreateTemp();
        using (stream) stream.Write(content);
        return path;
    }

    [Fact]
    public void Keep_MovesTheUploadUnderItsDigest_ReadOnly_AndASecondOfEqualContentOnlyGoes()
    {
        var blobs = new BlobDirectory(_root);
        Assert.False(Directory.Exists(_root)); // nothing until the first upload
        byte[] content = [1, 2, 3];

        var first = Temp(blobs, content);
        blobs.Keep(first, Digest(content));
        var second = Temp(blobs, content);
        blobs.Keep(second, Digest(content));

        Assert.Equal(content, File.ReadAllBytes(blobs.PathOf(Digest(content))));
        Assert.Equal(Path.Combine(_root, "sha256", Digest(content)), blobs.PathOf(Digest(content)));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(blobs.PathOf(Digest(content))));
        Assert.False(File.Exists(first));
        Assert.False(File.Exists(second));
        Assert.Empty(Directory.GetFiles(Path.Combine(_root, "tmp")));

        blobs.Remove(Digest(content));
        Assert.False(File.Exists(blobs.PathOf(Digest(content))));
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("D3EF2E87F987D26142F1CA4B969C5E754344C03B111B055C661C24D29B6286CA")] // upper case: not how blobs are named
    [InlineData("d3ef2e87")]
    [InlineData("")]
    public void PathOf_AnythingButADigest_IsABug(string notADigest)
    {
        Assert.False(BlobDirectory.IsDigest(notADigest));
        Assert.Throws<ArgumentException>(() => new BlobDirectory(_root).PathOf(notADigest));
    }
}
