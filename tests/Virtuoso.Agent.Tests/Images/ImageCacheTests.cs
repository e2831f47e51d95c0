using Microsoft.Extensions.Logging.Abstractions;
using Virtuoso.Agent.Images;
using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Tests.Machines;
using Virtuoso.Agent.Tests.Support;

namespace Virtuoso.Agent.Tests.Images;

public sealed class ImageCacheTests : IDisposable
{
    private readonly TestDirectory _dir = new();
    private readonly string _images;
    private readonly ImageCache _cache;

    public ImageCacheTests()
    {
        _images = _dir.Sub("images");
        MachineEndpointsTests.WriteImage(_images, "linux-busybox", 128, 1000);
        _cache = Cache(TestOptions.For(_dir.Sub("data"), _images));
    }

    public void Dispose() => _dir.Dispose();

    internal static ImageCache Cache(AgentOptions options)
    {
        var (held, error) = DataDirectoryLock.Acquire(options.DataDirectory);
        Assert.Null(error);
        return new ImageCache(options, new Blobs(options, new PlainHttpClients(), NullLogger<Blobs>.Instance), new MachineStore(options, held!),
            NullLogger<ImageCache>.Instance);
    }

    [Fact]
    public async Task EnsureCached_CopiesOnce_AndNeverReplacesTheCopy()
    {
        var first = await _cache.EnsureCachedAsync("linux-busybox");
        File.WriteAllText(Path.Combine(_images, "linux-busybox", "vmlinuz"), "a rebuilt kernel");

        var second = await _cache.EnsureCachedAsync("linux-busybox");

        Assert.Equal(first, second);
        Assert.Equal("kernel bytes", File.ReadAllText(second.Kernel!));
        Assert.StartsWith(Path.Combine(_dir.Path, "data", "images", "linux-busybox"), second.Disk);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(second.Disk));
    }

    [Fact]
    public async Task EnsureCached_ConcurrentCallers_ShareOneCopy()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => _cache.EnsureCachedAsync("linux-busybox")));

        Assert.Single(results.Distinct());
        Assert.Single(Directory.EnumerateDirectories(Path.Combine(_dir.Path, "data", "images")));
    }

    [Fact]
    public async Task EnsureCached_MissingFile_FailsAndLeavesNoPartialCopy()
    {
        File.Delete(Path.Combine(_images, "linux-busybox", "initrd.img"));

        await Assert.ThrowsAnyAsync<IOException>(() => _cache.EnsureCachedAsync("linux-busybox"));

        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_dir.Path, "data", "images")));
        Assert.Null(_cache.FindCached("linux-busybox"));
    }

    [Theory]
    [InlineData("windows-95", "unknown image")]
    [InlineData("../images/linux-busybox", "not an image name")]
    [InlineData("..", "not an image name")]
    public void Describe_UnknownOrEscaping_IsValidationError(string name, string reason)
    {
        var described = _cache.Describe(name);

        Assert.Equal("validation", described.Error?.Code);
        Assert.Contains(reason, described.Error!.Message);
    }

    [Fact]
    public void FindAnyKernel_TakesItFromAnImage() =>
        Assert.Equal(Path.Combine(_images, "linux-busybox", "vmlinuz"), _cache.FindAnyKernel());
}
