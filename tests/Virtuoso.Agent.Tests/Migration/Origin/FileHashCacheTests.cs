using System.Security.Cryptography;
using Virtuoso.Agent.Migration.Methods.Dedup;
using Virtuoso.Agent.Migration.Origin;
using Virtuoso.Agent.Tests.Migration.Methods;
using Virtuoso.Agent.Tests.Support;

namespace Virtuoso.Agent.Tests.Migration.Origin;

public sealed class FileHashCacheTests : IDisposable
{
    private readonly TestDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private FileHashCache NewCache() => new(TestOptions.For(_dir.Sub("data")));

    [Fact]
    public async Task Hash_UnchangedFile_IsReadOnceEvenAfterARestart()
    {
        var file = Path.Combine(_dir.Sub("m"), "disk.qcow2");
        TestFiles.Random(file, 300_000, seed: 1);
        var (length, sha) = await NewCache().HashAsync(file, CancellationToken.None);
        var restarted = NewCache();

        var again = await restarted.HashAsync(file, CancellationToken.None);

        Assert.Equal((300_000L, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)))), (length, sha));
        Assert.Equal((length, sha), again);
        Assert.Equal(0, restarted.HashedFiles);
    }

    [Fact]
    public async Task Hash_FileRewritten_IsReadAgain()
    {
        var file = Path.Combine(_dir.Sub("m"), "disk.qcow2");
        TestFiles.Random(file, 300_000, seed: 2);
        var cache = NewCache();
        var (_, first) = await cache.HashAsync(file, CancellationToken.None);
        TestFiles.RewriteBlocks(file, seed: 3, [0]);

        var (_, second) = await cache.HashAsync(file, CancellationToken.None);

        Assert.NotEqual(first, second);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))), second);
        Assert.Equal(2, cache.HashedFiles);
    }

    [Fact]
    public async Task Remembered_HashOfAFileJustVerified_IsServedWithoutReading()
    {
        var file = Path.Combine(_dir.Sub("m"), "state.bin");
        TestFiles.Random(file, 1000, seed: 4);
        var sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));
        var cache = NewCache();
        cache.Remember(NativeFile.Identify(file)!.Value, sha);
        var moved = Path.Combine(_dir.Sub("cache"), "state.bin");
        File.Move(file, moved); // a rename keeps the identity

        var (_, known) = await cache.HashAsync(moved, CancellationToken.None);

        Assert.Equal(sha, known);
        Assert.Equal(0, cache.HashedFiles);
    }
}
