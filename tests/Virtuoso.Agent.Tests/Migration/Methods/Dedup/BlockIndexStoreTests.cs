using Virtuoso.Agent.Migration.Methods.Dedup;
using Virtuoso.Agent.Tests.Support;

namespace Virtuoso.Agent.Tests.Migration.Methods.Dedup;

public sealed class BlockIndexStoreTests : IDisposable
{
    private readonly TestDirectory _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task GetOrHash_UnchangedFile_IsHashedOnceEvenAcrossStores()
    {
        var file = Path.Combine(_dir.Path, "disk.qcow2");
        TestFiles.Random(file, 10L * BlockList.BlockSize, seed: 1);
        var data = _dir.Sub("data");

        var first = await new BlockIndexStore(data).GetOrHashAsync(file, CancellationToken.None);
        var again = new BlockIndexStore(data); // as after an agent restart
        var second = await again.GetOrHashAsync(file, CancellationToken.None);

        Assert.True(first.SameAs(second));
        Assert.Equal(0, again.BytesHashed);
    }

    [Fact]
    public async Task GetOrHash_FileRewritten_IsHashedAgain()
    {
        var file = Path.Combine(_dir.Path, "disk.qcow2");
        TestFiles.Random(file, 4L * BlockList.BlockSize, seed: 1);
        var store = new BlockIndexStore(_dir.Sub("data"));
        var before = await store.GetOrHashAsync(file, CancellationToken.None);

        TestFiles.RewriteBlocks(file, seed: 2, [2]);
        var after = await store.GetOrHashAsync(file, CancellationToken.None);

        Assert.Equal(before.Blocks[1], after.Blocks[1]);
        Assert.NotEqual(before.Blocks[2], after.Blocks[2]);
        Assert.Equal(8L * BlockList.BlockSize, store.BytesHashed);
    }

    [Fact]
    public async Task TryLoad_DamagedIndexEntry_IsIgnored()
    {
        var file = Path.Combine(_dir.Path, "disk.qcow2");
        TestFiles.Random(file, 2L * BlockList.BlockSize, seed: 1);
        var data = _dir.Sub("data");
        var store = new BlockIndexStore(data);
        await store.GetOrHashAsync(file, CancellationToken.None);
        var entry = Directory.GetFiles(Path.Combine(data, "dedup", "index")).Single();
        var bytes = File.ReadAllBytes(entry);
        bytes[50] ^= 1;
        File.WriteAllBytes(entry, bytes);

        Assert.Null(store.TryLoad(file));
    }
}
