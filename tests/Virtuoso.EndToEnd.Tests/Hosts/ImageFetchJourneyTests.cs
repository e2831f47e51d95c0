using System.Net;
using System.Security.Cryptography;
using Virtuoso.EndToEnd.Tests.Support;
using Xunit.Abstractions;

namespace Virtuoso.EndToEnd.Tests.Hosts;

/// <summary>
/// Issue 15, images that travel, on real parts: a host given no images directory at all stores a preconfigured machine
/// by fetching its base image from the front-end's catalogue; the link between them corrupts the first copy, which the
/// agent detects by its SHA-256, throws away and fetches again, and keeps one copy by content. (That a fetched image boots
/// is every other journey's proof: their front-ends catalogue the images too, so their agents fetch what they boot.)
/// </summary>
[Collection(RealQemu.Name)]
public sealed class ImageFetchJourneyTests(ITestOutputHelper output)
{
    [Fact]
    public async Task HostWithoutImages_StoresDebian_ByFetchingItsImageFromTheFrontEnd_AndDetectsACorruptCopy()
    {
        Assert.True(Repo.DebianImageBuilt, $"the debian-12 image is not built in {Repo.Images}: run guest/build-debian.sh (./test does)");
        await using var m = await Marketplace.StartAsync(60, []);
        // Agents reach the front-end's blobs through a link that flips a byte in every 16 MB it carries, until told to stop.
        await using var proxy = CorruptingProxy.Start(IPAddress.Loopback, new IPEndPoint(IPAddress.Loopback, new Uri(m.Url).Port), 16 << 20);
        await m.RestartFrontEndAsync(new Dictionary<string, string?> { ["Virtuoso__AgentFacingUrl"] = $"http://127.0.0.1:{proxy.Port}" });
        var fresh = await m.StartAgentAsync("fresh", "--no-images");


        await m.ProviderWithHostsAsync("img-provider", ("fresh", 47100));
        await m.BuyerAsync("img-buyer");

        // The catalogue: the image, its size and its disk's SHA-256, as the buyer sees it.
        var disk = Path.Combine(Repo.Images, "debian-12", "disk.qcow2");
        var diskSha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(disk)));
        var images = (await m.CliAsync("b", "images")).Ok().Stdout;
        Assert.Contains(diskSha, images);
        Assert.Contains(diskSha[..12], (await m.CliAsync("b", "configs")).Ok().Stdout);

        var id = (await m.CliAsync("b", "--json", "register", "--config", "debian-12", "--name", "travelled",
            "--storage-bid", "30", "--running-bid", "10")).Ok().Json.GetProperty("id").GetGuid();
        var store = m.CliAsync("b", "store", id.ToString(), "--host", "fresh");
        while (!store.IsCompleted)
        {
            if (proxy.Flipped > 0) proxy.Corrupt = false; // one corrupt copy is enough: the next attempt must succeed
            await Task.Delay(20);
        }
        (await store).Ok();
        output.WriteLine($"bytes flipped on the way: {proxy.Flipped}");
        Assert.True(proxy.Flipped > 0, "the link never corrupted the image: the test proved nothing");
        var log = await File.ReadAllTextAsync(Path.Combine(m.Dir, "fresh.log"));
        Assert.Contains("thrown away and fetched again", log);

        // Kept by content, one copy: the image's disk is the blob.
        var blob = Path.Combine(fresh.DataDir, "blobs", "sha256", diskSha);
        Assert.True(File.Exists(blob), $"no blob {blob}");
        Assert.Equal(diskSha, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(fresh.DataDir, "images", "debian-12", "disk.qcow2")))));
        Assert.Equal("stored", (await m.CliAsync("b", "--json", "machine", id.ToString())).Ok().Json.GetProperty("state").GetString());
        Assert.Contains("Debian GNU/Linux 12", images);
    }
}
