using System.Net;
using System.Net.Http.Json;
using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Virtuoso.Agent.Migration.Methods;
using Virtuoso.Agent.Migration.Methods.Dedup;
using Virtuoso.Agent.Tests.Support;

namespace Virtuoso.Agent.Tests.Migration.Methods.Dedup;

/// <summary>DEDUP over real HTTP on loopback, real files, both halves with their own data directories.</summary>
public sealed class DedupMethodTests : IDisposable
{
    private const int Block = TestFiles.Block;
    private readonly TestDirectory _dir = new();
    private readonly DedupMethod _origin;
    private readonly DedupMethod _destination;
    private readonly string _source;

    public DedupMethodTests()
    {
        _origin = new DedupMethod(new BlockIndexStore(_dir.Sub("origin-data")), NullLogger<DedupMethod>.Instance);
        _destination = new DedupMethod(new BlockIndexStore(_dir.Sub("destination-data")), NullLogger<DedupMethod>.Instance);
        _source = _dir.Sub("machine");
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>Bytes of the block lists the origin serves for this export.</summary>
    private long ListBytes(TransferHarness origin) =>
        origin.Manifest.Files.Sum(f => (long)_origin.Index.TryLoad(Path.Combine(origin.Directory, f.Name))!.EncodedLength());

    [Fact]
    public async Task FirstCopy_IntoEmptyDestination_IsByteIdenticalAndVerified()
    {
        TestFiles.Random(Path.Combine(_source, "disk.qcow2"), 8 * Block + 1234, seed: 1);
        TestFiles.Random(Path.Combine(_source, "state.bin"), 3 * Block, seed: 2);
        await using var origin = await TransferHarness.StartAsync(_origin, _source);
        var staging = _dir.Sub("staging");
        var progress = new List<TransferProgress>();

        var verified = await _destination.FetchAsync(origin.Fetch(staging, progress: progress), CancellationToken.None);

        Assert.True(verified);
        origin.AssertIdentical(staging);
        var total = origin.Manifest.Files.Sum(f => f.Length);
        Assert.Equal(total, progress[^1].BytesDone);
        Assert.InRange(progress[^1].BytesOnWire, total, total + ListBytes(origin));
    }

    [Fact]
    public async Task Recopy_NothingChanged_MovesTheCachedFileAndSendsNothing()
    {
        TestFiles.Sparse(Path.Combine(_source, "disk.qcow2"), 64 * Block, seed: 3, (0, 20 * Block), (40 * Block, 5 * Block));
        await using var origin = await TransferHarness.StartAsync(_origin, _source);
        var cache = _dir.Sub("cache");
        await _destination.FetchAsync(origin.Fetch(cache), CancellationToken.None);
        var cachedInode = NativeFile.Identify(Path.Combine(cache, "disk.qcow2"))!.Value.Inode;
        var hashedOrigin = _origin.Index.BytesHashed;
        var hashedDestination = _destination.Index.BytesHashed;
        var requests = origin.MethodRequests;
        var staging = _dir.Sub("staging");
        var progress = new List<TransferProgress>();

        var verified = await _destination.FetchAsync(origin.Fetch(staging, [cache], progress: progress), CancellationToken.None);

        Assert.True(verified);
        origin.AssertIdentical(staging);
        Assert.False(File.Exists(Path.Combine(cache, "disk.qcow2")));
        Assert.Equal(cachedInode, NativeFile.Identify(Path.Combine(staging, "disk.qcow2"))!.Value.Inode); // moved, not copied
        // The manifest's digest is the cached copy's: not even the block list travels, and no request is made.
        Assert.Equal(0, progress[^1].BytesOnWire);
        Assert.Equal(requests, origin.MethodRequests);
        Assert.Equal(hashedOrigin, _origin.Index.BytesHashed); // neither side read the disk again
        Assert.Equal(hashedDestination, _destination.Index.BytesHashed);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Recopy_OnePercentOfBlocksRewritten_SendsAboutTheChangedBlocks(bool scattered)
    {
        const int blocks = 800;
        var disk = Path.Combine(_source, "disk.qcow2");
        TestFiles.Random(disk, blocks * (long)Block, seed: 4);
        await using (var first = await TransferHarness.StartAsync(_origin, _source))
            await _destination.FetchAsync(first.Fetch(_dir.Sub("cache")), CancellationToken.None);
        int[] changed = scattered ? [3, 97, 181, 260, 333, 419, 555, 612] : [400, 401, 402, 403, 404, 405, 406, 407];
        TestFiles.RewriteBlocks(disk, seed: 5, changed);
        await using var origin = await TransferHarness.StartAsync(_origin, _source);
        var staging = _dir.Sub("staging");
        var progress = new List<TransferProgress>();

        var verified = await _destination.FetchAsync(origin.Fetch(staging, [Path.Combine(_dir.Path, "cache")], progress: progress), CancellationToken.None);

        Assert.True(verified);
        origin.AssertIdentical(staging);
        var changedBytes = changed.Length * (long)Block;
        var digests = changed.Length * (2L + 4 + PageDiff.MaxPages * PageDiff.DigestSize);
        Assert.InRange(progress[^1].BytesOnWire, changedBytes, changedBytes + digests + ListBytes(origin));
    }

    [Fact]
    public async Task SparseFile_HolesAndZeroBlocks_AreNeverSentNorWritten()
    {
        var disk = Path.Combine(_source, "disk.qcow2");
        // 256 MiB: 1 MiB of data, a hole, 1 MiB of written zeros, 2 MiB of data at the end.
        TestFiles.Sparse(disk, 4096L * Block, seed: 6, (0, 16 * Block), (4064L * Block, 32 * Block));
        TestFiles.WriteZeros(disk, 2000L * Block, 16 * Block);
        await using var origin = await TransferHarness.StartAsync(_origin, _source);
        var staging = _dir.Sub("staging");
        var progress = new List<TransferProgress>();

        await _destination.FetchAsync(origin.Fetch(staging, progress: progress), CancellationToken.None);

        origin.AssertIdentical(staging);
        var data = 48L * Block;
        Assert.Equal(data + ListBytes(origin), progress[^1].BytesOnWire);
        Assert.InRange(TestFiles.AllocatedBytes(Path.Combine(staging, "disk.qcow2")), data, data + 1024 * 1024);
        Assert.Equal(48L * Block + 16L * Block, _origin.Index.BytesHashed); // the hole was not read; written zeros were
    }

    [Fact]
    public async Task Qcow2_MadeByQemuImg_ArrivesIdenticalWithOnlyItsDataSent()
    {
        var disk = Path.Combine(_source, "disk.qcow2");
        TestFiles.Run("qemu-img", "create", "-q", "-f", "qcow2", disk, "1G");
        TestFiles.Run("qemu-io", "-c", "write -P 0x5a 0 8M", "-c", "write -P 0x33 512M 1M", disk);
        await using var origin = await TransferHarness.StartAsync(_origin, _source);
        var staging = _dir.Sub("staging");
        var progress = new List<TransferProgress>();

        await _destination.FetchAsync(origin.Fetch(staging, progress: progress), CancellationToken.None);

        origin.AssertIdentical(staging);
        var fileLength = new FileInfo(disk).Length;
        // The 9 MiB of 0x5a and 0x33 clusters are two distinct blocks: each travels once, beside qcow2's metadata.
        Assert.InRange(progress[^1].BytesOnWire, 2L * Block, fileLength);
        Assert.True(progress[^1].BytesOnWire < 1L << 20, $"{progress[^1].BytesOnWire} bytes on the wire");
        TestFiles.Run("qemu-img", "check", "-q", Path.Combine(staging, "disk.qcow2"));
    }

    [Fact]
    public async Task Fetch_WhenCancelled_StopsPromptly()
    {
        TestFiles.Random(Path.Combine(_source, "disk.qcow2"), 512L * Block, seed: 7);
        await using var origin = await TransferHarness.StartAsync(_origin, _source);
        origin.SlowMethodResponses = TimeSpan.FromMilliseconds(100);
        using var cancel = new CancellationTokenSource();
        var progress = new List<TransferProgress>();
        var fetch = _destination.FetchAsync(origin.Fetch(_dir.Sub("staging"), progress: progress), cancel.Token);
        await Task.Delay(800);
        Assert.False(fetch.IsCompleted);
        var clock = Stopwatch.StartNew();

        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fetch);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Fetch_CorruptedBlockFromTheOrigin_FailsAndPutsTheCacheBack()
    {
        var disk = Path.Combine(_source, "disk.qcow2");
        TestFiles.Random(disk, 64L * Block, seed: 8);
        var cache = _dir.Sub("cache");
        await using (var first = await TransferHarness.StartAsync(_origin, _source))
            await _destination.FetchAsync(first.Fetch(cache), CancellationToken.None);
        TestFiles.RewriteBlocks(disk, seed: 9, [10, 11]);
        await using var origin = await TransferHarness.StartAsync(_origin, _source);
        origin.CorruptMethodResponses = true;
        var staging = _dir.Sub("staging");

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => _destination.FetchAsync(origin.Fetch(staging, [cache]), CancellationToken.None));

        Assert.Contains("does not match its hash", error.Message);
        Assert.True(File.Exists(Path.Combine(cache, "disk.qcow2")), "the cached copy went back to the cache");
    }

    public static TheoryData<string, string, byte[], int> MalformedOriginRequests()
    {
        static byte[] Record(uint index, int digestBytes) =>
            [.. BitConverter.GetBytes(index), .. new byte[digestBytes]];
        var fullRecord = PageDiff.MaxPages * PageDiff.DigestSize;
        return new()
        {
            { "blocks", "disk.qcow2", [], 400 },
            { "blocks", "disk.qcow2", [1, 0, 0, 0, 2], 400 },                           // not whole indices
            { "blocks", "disk.qcow2", BitConverter.GetBytes(4u), 400 },                 // past the end
            { "blocks", "disk.qcow2", new byte[(DedupMethod.MaxBlocksPerRequest + 1) * 4], 400 },
            { "blocks", "machine.json", BitConverter.GetBytes(0u), 404 },              // not exported
            { "pages", "disk.qcow2", [], 400 },
            { "pages", "disk.qcow2", [0, 0, 0], 400 },                                   // record cut short
            { "pages", "disk.qcow2", Record(4, fullRecord), 400 },                       // past the end
            { "pages", "disk.qcow2", Record(0, fullRecord - 1), 400 },                   // digests cut short
            { "pages", "disk.qcow2", [.. Record(0, fullRecord), .. Record(1, 3)], 400 }, // the second cut short
            { "pages", "disk.qcow2", new byte[(DedupMethod.MaxBlocksPerRequest + 1) * (4 + fullRecord)], 400 },
            { "pages", "state.bin", Record(0, fullRecord), 400 },                       // not a disk: no pages
            { "pages", "../disk.qcow2", Record(0, fullRecord), 404 },
        };
    }

    [Fact]
    public async Task Fetch_ALocalBlockChangedBehindTheIndex_IsFetchedInstead()
    {
        // Another cached machine's file, indexed, then rewritten in place with its size and mtime put back: the index
        // still vouches for it, but the copy checks each block's hash and fetches the one that no longer matches.
        var other = Path.Combine(_dir.Sub("other-machine"), "disk.qcow2");
        TestFiles.Random(other, 8L * Block, seed: 41);
        var then = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(other, then);
        var disk = Path.Combine(_source, "disk.qcow2");
        TestFiles.Random(disk, 12L * Block, seed: 43);
        using (var file = File.OpenHandle(disk, FileMode.Open, FileAccess.Write))
            RandomAccess.Write(file, await File.ReadAllBytesAsync(other), 0);
        await _destination.Index.GetOrHashAsync(other, CancellationToken.None);
        TestFiles.RewriteBlocks(other, seed: 42, [3, 5]);
        File.SetLastWriteTimeUtc(other, then);
        await using var origin = await TransferHarness.StartAsync(_origin, _source);
        var staging = _dir.Sub("staging");
        var progress = new List<TransferProgress>();

        var verified = await _destination.FetchAsync(origin.Fetch(staging, [_dir.Sub("own-cache"), Path.GetDirectoryName(other)!], progress: progress), CancellationToken.None);

        Assert.True(verified);
        origin.AssertIdentical(staging);
        Assert.InRange(progress[^1].BytesOnWire, 6L * Block, 6L * Block + ListBytes(origin)); // 4 missing + 2 stale
        Assert.Equal(12L * Block, progress[^1].BytesDone);
    }

    [Fact]
    public async Task PagesRoute_OneBlockAskedManyTimesAndAShortLastBlock_AnswersEachRecordInOrder()
    {
        // Valid but odd: more repeats of one block than the origin compares at once, then the short last block.
        var disk = Path.Combine(_source, "disk.qcow2");
        TestFiles.Random(disk, 2L * Block + 5000, seed: 23);
        var bytes = await File.ReadAllBytesAsync(disk);
        await using var origin = await TransferHarness.StartAsync(_origin, _source);
        var body = new List<byte>();
        foreach (var index in Enumerable.Repeat(1u, 100).Append(2u))
            body.AddRange([.. BitConverter.GetBytes(index), .. new byte[PageDiff.PagesIn(index == 2 ? 5000 : Block) * PageDiff.DigestSize]]);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(origin.Origin, DedupMethod.PagesPath(origin.MachineId, "disk.qcow2")))
        {
            Content = new ByteArrayContent([.. body]),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", TransferHarness.Token);

        using var response = await origin.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // Zero digests match no page of random data: every page of every record comes back, after its mask.
        byte[] expected = [
            .. Enumerable.Repeat<byte[]>([0xFF, 0xFF, .. bytes[Block..(2 * Block)]], 100).SelectMany(r => r),
            .. BitConverter.GetBytes((ushort)0b11), .. bytes[(2 * Block)..]];
        Assert.Equal(expected, await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [MemberData(nameof(MalformedOriginRequests))]
    public async Task OriginRoutes_MalformedOrMisdirectedBodies_AreRefusedWithAStableCode(string route, string file, byte[] body, int status)
    {
        TestFiles.Random(Path.Combine(_source, "disk.qcow2"), 4L * Block, seed: 20);
        TestFiles.Random(Path.Combine(_source, "state.bin"), 3L * Block, seed: 21);
        await using var origin = await TransferHarness.StartAsync(_origin, _source);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(origin.Origin,
            route == "pages" ? DedupMethod.PagesPath(origin.MachineId, file) : DedupMethod.BlocksPath(origin.MachineId, file)))
        {
            Content = new ByteArrayContent(body),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", TransferHarness.Token);

        using var response = await origin.Http.SendAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        Assert.Equal(status == 400 ? "validation" : "not-found", problem.GetProperty("code").GetString());
        // and the origin still serves a good request afterwards
        using var good = new HttpRequestMessage(HttpMethod.Post, new Uri(origin.Origin, DedupMethod.BlocksPath(origin.MachineId, "disk.qcow2")))
        {
            Content = new ByteArrayContent(BitConverter.GetBytes(3u)),
        };
        good.Headers.Authorization = request.Headers.Authorization;
        using var served = await origin.Http.SendAsync(good);
        Assert.Equal((await File.ReadAllBytesAsync(Path.Combine(_source, "disk.qcow2")))[(3 * Block)..], await served.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Fetch_WithAWrongToken_FailsWithoutWritingAnything()
    {
        TestFiles.Random(Path.Combine(_source, "disk.qcow2"), 4L * Block, seed: 10);
        await using var origin = await TransferHarness.StartAsync(_origin, _source);
        var staging = _dir.Sub("staging");

        var error = await Assert.ThrowsAsync<HttpRequestException>(() =>
            _destination.FetchAsync(origin.Fetch(staging, token: "not-the-token"), CancellationToken.None));

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, error.StatusCode);
        Assert.Empty(Directory.GetFileSystemEntries(staging));
    }

    [Fact]
    public async Task StateFile_WithBytesInsertedEarly_SendsOnlyTheChunksAroundTheChange()
    {
        // A saved memory state shifts when a page early in it changes; content-defined chunks follow the bytes.
        var state = Path.Combine(_source, "state.bin");
        var bytes = new byte[8 << 20];
        new Random(13).NextBytes(bytes);
        File.WriteAllBytes(state, bytes);
        var cache = _dir.Sub("cache");
        await using (var first = await TransferHarness.StartAsync(_origin, _source))
            await _destination.FetchAsync(first.Fetch(cache), CancellationToken.None);
        File.WriteAllBytes(state, [.. bytes.AsSpan(0, 1 << 20), .. new byte[] { 1, 2, 3, 4, 5, 6, 7 }, .. bytes.AsSpan(1 << 20)]);
        await using var origin = await TransferHarness.StartAsync(_origin, _source);
        var staging = _dir.Sub("staging");
        var progress = new List<TransferProgress>();

        var verified = await _destination.FetchAsync(origin.Fetch(staging, [cache], progress: progress), CancellationToken.None);

        Assert.True(verified);
        origin.AssertIdentical(staging);
        Assert.InRange(progress[^1].BytesOnWire, 1, 2 * ContentChunker.MaxSize + ListBytes(origin));
        Assert.True(File.Exists(Path.Combine(cache, "state.bin")), "a state file is read from the cache, not moved and patched");
    }

    [Fact]
    public async Task Recopy_ScatteredPagesRewritten_SendsAboutThePagesNotTheirBlocks()
    {
        // A guest writes 4 KiB pages: one page rewritten in each of 40 blocks must not cost 40 whole 64 KiB blocks.
        const int blocks = 800;
        var disk = Path.Combine(_source, "disk.qcow2");
        TestFiles.Random(disk, blocks * (long)Block, seed: 14);
        var cache = _dir.Sub("cache");
        await using (var first = await TransferHarness.StartAsync(_origin, _source))
            await _destination.FetchAsync(first.Fetch(cache), CancellationToken.None);
        var pages = Enumerable.Range(0, 40).Select(i => (long)(i * 19 + 5) * Block + (i % 16) * PageDiff.PageSize).ToList();
        using (var file = File.OpenHandle(disk, FileMode.Open, FileAccess.Write))
            foreach (var at in pages)
                RandomAccess.Write(file, Enumerable.Repeat((byte)(at % 251 + 1), PageDiff.PageSize).ToArray(), at);
        await using var origin = await TransferHarness.StartAsync(_origin, _source);
        var staging = _dir.Sub("staging");
        var progress = new List<TransferProgress>();

        var verified = await _destination.FetchAsync(origin.Fetch(staging, [cache], progress: progress), CancellationToken.None);

        Assert.True(verified);
        origin.AssertIdentical(staging);
        var written = pages.Count * (long)PageDiff.PageSize;
        var digests = pages.Count * (2L + 4 + PageDiff.MaxPages * PageDiff.DigestSize);
        Assert.InRange(progress[^1].BytesOnWire, written, written + digests + ListBytes(origin));
    }

    [Fact]
    public async Task Recopy_PagesInMoreBlocksThanOneRequest_WhileBlocksHeldElsewhereAreCopied_ArrivesIdentical()
    {
        // 1100 patched blocks take three pages requests and many groups on the origin; meanwhile 200 blocks found in
        // another cached machine are copied locally, on other threads, into the same file.
        const int blocks = 1300, patched = 1100;
        var disk = Path.Combine(_source, "disk.qcow2");
        TestFiles.Random(disk, blocks * (long)Block, seed: 21);
        var cache = _dir.Sub("cache");
        await using (var first = await TransferHarness.StartAsync(_origin, _source))
            await _destination.FetchAsync(first.Fetch(cache), CancellationToken.None);
        var other = _dir.Sub("other-machine");
        TestFiles.Random(Path.Combine(other, "disk.qcow2"), (blocks - patched) * (long)Block, seed: 22);
        var pages = Enumerable.Range(0, patched).Select(i => (long)i * Block + (i % 16) * PageDiff.PageSize).ToList();
        using (var file = File.OpenHandle(disk, FileMode.Open, FileAccess.Write))
        {
            foreach (var at in pages)
                RandomAccess.Write(file, Enumerable.Repeat((byte)(at % 251 + 1), PageDiff.PageSize).ToArray(), at);
            RandomAccess.Write(file, File.ReadAllBytes(Path.Combine(other, "disk.qcow2")), patched * (long)Block);
        }
        await using var origin = await TransferHarness.StartAsync(_origin, _source);
        var staging = _dir.Sub("staging");
        var progress = new List<TransferProgress>();

        var verified = await _destination.FetchAsync(origin.Fetch(staging, [cache, other], progress: progress), CancellationToken.None);

        Assert.True(verified);
        origin.AssertIdentical(staging);
        var written = pages.Count * (long)PageDiff.PageSize;
        var digests = pages.Count * (2L + 4 + PageDiff.MaxPages * PageDiff.DigestSize);
        Assert.InRange(progress[^1].BytesOnWire, written, written + digests + ListBytes(origin)); // the 200 copied blocks did not travel
        Assert.Equal(blocks * (long)Block, progress[^1].BytesDone);
        Assert.Equal(progress.Select(p => p.BytesDone).Order(), progress.Select(p => p.BytesDone)); // reports never go backwards
        Assert.True(File.Exists(Path.Combine(other, "disk.qcow2")), "other caches are read, never moved");
    }

    [Fact]
    public async Task Fetch_ReadsADiskImageForBlocks_ButNeverHashesAKernel()
    {
        // A base image's disk may hold the machine's blocks; its kernel (compressed) never does and is not read.
        var image = _dir.Sub("images-linux");
        TestFiles.Random(Path.Combine(image, "disk.qcow2"), 16 * (long)Block, seed: 31);
        TestFiles.Random(Path.Combine(image, "vmlinuz"), 32 * (long)Block, seed: 32);
        var disk = Path.Combine(_source, "disk.qcow2");
        TestFiles.Random(disk, 24 * (long)Block, seed: 33);
        using (var file = File.OpenHandle(disk, FileMode.Open, FileAccess.Write))
        {
            RandomAccess.Write(file, File.ReadAllBytes(Path.Combine(image, "disk.qcow2")).AsSpan(0, 8 * Block), 0);
            RandomAccess.Write(file, File.ReadAllBytes(Path.Combine(image, "vmlinuz")).AsSpan(0, 4 * Block), 8 * (long)Block);
        }
        await using var origin = await TransferHarness.StartAsync(_origin, _source);
        var staging = _dir.Sub("staging");
        var progress = new List<TransferProgress>();

        var verified = await _destination.FetchAsync(origin.Fetch(staging, [_dir.Sub("own-cache"), image], progress: progress), CancellationToken.None);

        Assert.True(verified);
        origin.AssertIdentical(staging);
        Assert.InRange(progress[^1].BytesOnWire, 16L * Block, 16L * Block + ListBytes(origin)); // 8 blocks from the image's disk stayed
        // The image's disk was hashed to find them; the kernel was not, and the arrived disk is remembered, not hashed.
        Assert.Equal(16L * Block, _destination.Index.BytesHashed);
    }

    [Fact]
    public async Task Recopy_StateFileUnchanged_IsMovedBackNotCopied()
    {
        var state = Path.Combine(_source, "state.bin");
        TestFiles.Random(state, 8L << 20, seed: 15);
        var cache = _dir.Sub("cache");
        await using var origin = await TransferHarness.StartAsync(_origin, _source);
        await _destination.FetchAsync(origin.Fetch(cache), CancellationToken.None);
        var cachedInode = NativeFile.Identify(Path.Combine(cache, "state.bin"))!.Value.Inode;
        var staging = _dir.Sub("staging");
        var progress = new List<TransferProgress>();

        var verified = await _destination.FetchAsync(origin.Fetch(staging, [cache], progress: progress), CancellationToken.None);

        Assert.True(verified);
        origin.AssertIdentical(staging);
        Assert.Equal(cachedInode, NativeFile.Identify(Path.Combine(staging, "state.bin"))!.Value.Inode);
        Assert.Equal(0, progress[^1].BytesOnWire); // its block list is the manifest's digest: it did not travel either
    }

    [Fact]
    public async Task Fetch_BlocksHeldInAnotherCachedMachine_AreCopiedLocallyNotSent()
    {
        var disk = Path.Combine(_source, "disk.qcow2");
        TestFiles.Random(disk, 32L * Block, seed: 11);
        var other = _dir.Sub("other-machine");
        File.Copy(disk, Path.Combine(other, "base.img"));
        TestFiles.RewriteBlocks(disk, seed: 12, [5]);
        await using var origin = await TransferHarness.StartAsync(_origin, _source);
        var staging = _dir.Sub("staging");
        var progress = new List<TransferProgress>();

        var verified = await _destination.FetchAsync(origin.Fetch(staging, [_dir.Sub("own-cache"), other], progress: progress), CancellationToken.None);

        Assert.True(verified);
        origin.AssertIdentical(staging);
        Assert.InRange(progress[^1].BytesOnWire, Block, Block + ListBytes(origin));
        Assert.True(File.Exists(Path.Combine(other, "base.img")), "other caches are read, never moved");
    }
}
