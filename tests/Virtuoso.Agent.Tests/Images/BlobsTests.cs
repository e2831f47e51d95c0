using Microsoft.Extensions.Logging.Abstractions;
using Virtuoso.Agent.Images;
using Virtuoso.Agent.Tests.Support;

namespace Virtuoso.Agent.Tests.Images;

public sealed class BlobsTests : IAsyncLifetime
{
    private readonly TestDirectory _dir = new();
    private BlobServer _server = null!;
    private Blobs _blobs = null!;
    private readonly byte[] _bytes = Enumerable.Range(0, 3 << 20).Select(i => (byte)(i * 7)).ToArray();

    public async Task InitializeAsync()
    {
        _server = await BlobServer.StartAsync();
        _blobs = new Blobs(TestOptions.For(_dir.Sub("data")), new PlainHttpClients(), NullLogger<Blobs>.Instance);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Ensure_FetchesVerifiesAndKeepsTheBlobByContent_ReadOnly()
    {
        var source = _server.Add(_bytes);
        var seen = new List<long>();

        var path = await _blobs.EnsureAsync(source, seen.Add, CancellationToken.None);

        Assert.Equal(Path.Combine(_dir.Path, "data", "blobs", "sha256", source.Sha256), path);
        Assert.Equal(_bytes, await File.ReadAllBytesAsync(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(path));
        Assert.Equal(_bytes.Length, seen[^1]);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_dir.Path, "data", "blobs", "partial")));

        await _blobs.EnsureAsync(source, _ => { }, CancellationToken.None);
        Assert.Equal(1, _server.Requests); // a blob this host holds is never fetched again
    }

    [Fact]
    public async Task Ensure_ConnectionBrokenHalfWay_ResumesWithARangeAfterWhatArrived()
    {
        var source = _server.Add(_bytes);
        _server.BreakFirst = 1;

        var path = await _blobs.EnsureAsync(source, _ => { }, CancellationToken.None);

        Assert.Equal(_bytes, await File.ReadAllBytesAsync(path));
        Assert.Equal(2, _server.Requests);
        Assert.Null(_server.RangeStarts[0]);
        Assert.True(_server.RangeStarts[1] > 0, "the second request resumes where the first broke off");
    }

    [Fact]
    public async Task Ensure_CorruptedBytes_AreDetectedThrownAwayAndFetchedAgain()
    {
        var source = _server.Add(_bytes);
        _server.CorruptFirst = 1;

        var path = await _blobs.EnsureAsync(source, _ => { }, CancellationToken.None);

        Assert.Equal(_bytes, await File.ReadAllBytesAsync(path));
        Assert.Equal(2, _server.Requests);
        Assert.Equal([null, null], _server.RangeStarts); // the corrupt copy is not resumed from
    }

    [Fact]
    public async Task Ensure_CorruptEveryTime_FailsNamingTheDigest_AndKeepsNothing()
    {
        var source = _server.Add(_bytes);
        _server.CorruptFirst = Blobs.Attempts;

        var e = await Assert.ThrowsAsync<IOException>(() => _blobs.EnsureAsync(source, _ => { }, CancellationToken.None));

        Assert.Contains(source.Sha256, e.Message);
        Assert.Contains("failed 3 times", e.Message);
        Assert.False(File.Exists(_blobs.PathOf(source.Sha256)));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_dir.Path, "data", "blobs", "partial")));
    }

    [Fact]
    public async Task Ensure_WrongSecretOrUnknownBlob_FailsWithTheServersAnswer()
    {
        var source = _server.Add(_bytes) with { Url = _server.Url + "/blobs/" + new string('0', 64) };

        var e = await Assert.ThrowsAsync<IOException>(() => _blobs.EnsureAsync(source, _ => { }, CancellationToken.None));

        Assert.Contains("401", e.Message); // issue 20: the agent's proof is for the blob it expects, not the one the URL names
    }

    [Fact]
    public async Task Ensure_UnknownBlob_FailsWithTheServersAnswer()
    {
        var missing = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData([1, 2, 3]));
        var source = _server.Add(_bytes) with { Url = _server.Url + "/blobs/" + missing, Sha256 = missing };

        var e = await Assert.ThrowsAsync<IOException>(() => _blobs.EnsureAsync(source, _ => { }, CancellationToken.None));

        Assert.Contains("404", e.Message);
    }
}
