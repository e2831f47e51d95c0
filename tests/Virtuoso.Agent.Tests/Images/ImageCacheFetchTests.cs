using System.Text;
using Virtuoso.Agent.Images;
using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Tests.Images;

/// <summary>Issue 15: a host without an images directory takes a base image from the front-end's catalogue.</summary>
public sealed class ImageCacheFetchTests : IAsyncLifetime
{
    private readonly TestDirectory _dir = new();
    private BlobServer _server = null!;
    private AgentOptions _options = null!;
    private ImageCache _cache = null!;

    public async Task InitializeAsync()
    {
        _server = await BlobServer.StartAsync();
        _options = TestOptions.For(_dir.Sub("data"));
        _cache = ImageCacheTests.Cache(_options);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    private ImageSource Source(string disk = "base disk bytes", string name = "debian-12") =>
        new(name, null, null, "disk.qcow2", null, 256, 2048, new Dictionary<string, BlobSource> { ["disk.qcow2"] = _server.Add(Encoding.UTF8.GetBytes(disk)) });

    [Fact]
    public async Task EnsureCached_FromTheCatalogue_FetchesOnce_LinksTheBlob_AndWritesImageJson()
    {
        var source = Source();

        var cached = await _cache.EnsureCachedAsync(source, CancellationToken.None);
        var again = await _cache.EnsureCachedAsync(source, CancellationToken.None);

        Assert.Equal(cached, again);
        Assert.Equal(1, _server.Requests);
        Assert.Equal("base disk bytes", File.ReadAllText(cached.Disk));
        Assert.Null(cached.Kernel);
        Assert.Equal(256, cached.Manifest.MinMemoryMb);
        // One copy on disk: the image's file is a second name of the content-addressed blob.
        var blob = Path.Combine(_options.DataDirectory, "blobs", "sha256", source.Files["disk.qcow2"].Sha256);
        Assert.Equal("2", LinkCount(blob));
        Assert.Null(_cache.FetchProgress("debian-12"));
        Assert.Equal(source.Files["disk.qcow2"].Sha256, _cache.Hashes("debian-12")!["disk.qcow2"]);
    }

    private static string LinkCount(string path)
    {
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%h", path]) { RedirectStandardOutput = true })!;
        var output = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return output;
    }

    [Fact]
    public async Task EnsureCached_AnotherBuildCachedAndUnused_IsReplacedByTheCatalogues()
    {
        await _cache.EnsureCachedAsync(Source("old build"), CancellationToken.None);

        var cached = await _cache.EnsureCachedAsync(Source("new build"), CancellationToken.None);

        Assert.Equal("new build", File.ReadAllText(cached.Disk));
    }

    [Fact]
    public void CheckSource_RefusesWhatCouldEscapeOrCannotBeVerified()
    {
        var good = Source();
        Assert.Null(ImageManifest.CheckSource(good));
        Assert.Contains("plain file name", ImageManifest.CheckSource(good with { Disk = "../disk.qcow2" }));
        Assert.Contains("exactly its files", ImageManifest.CheckSource(good with { Kernel = "vmlinuz" }));
        Assert.Contains("SHA-256", ImageManifest.CheckSource(good with
        {
            Files = new Dictionary<string, BlobSource> { ["disk.qcow2"] = good.Files["disk.qcow2"] with { Sha256 = "ABC" } },
        }));
        Assert.Contains("http(s) URL", ImageManifest.CheckSource(good with
        {
            Files = new Dictionary<string, BlobSource> { ["disk.qcow2"] = good.Files["disk.qcow2"] with { Url = "file:///etc/shadow" } },
        }));
    }

    [Fact]
    public void Validation_ImageSourceMustDescribeTheMachinesImage()
    {
        var request = new CreateMachineRequest(Guid.NewGuid(), "52:54:00:12:34:56", 1000, 256, 2048, "linux-busybox", 1, null, Source());

        var valid = MachineValidation.Create(request.Id, request);

        Assert.Contains("not the machine's image", valid.Error?.Message);
    }
}
