using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Images;

/// <summary>ImageCatalogueTests on SQLite, the default dialect.</summary>
public sealed class ImageCatalogueTests(MarketFixture market) : ImageCatalogueTests<MarketFixture>(market);

/// <summary>ImageCatalogueTests on PostgreSQL, production's dialect.</summary>
public sealed class ImageCataloguePostgresTests(PostgresMarketFixture market) : ImageCatalogueTests<PostgresMarketFixture>(market);

/// <summary>
/// Issue 15, images are data that travel: the front-end catalogues its images directory at start-up, shows it with the
/// configurations, tells the agent of a store where each file is and what its SHA-256 is, and serves the files to the
/// hosts of the marketplace only, with ranges.
/// </summary>
public abstract class ImageCatalogueTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    private static string Sha(string file) => Convert.ToHexStringLower(SHA256.HashData(VirtuosoFactory.ImageFile(file)));

    [Fact]
    public async Task Catalogue_ListsTheImagesDirectory_WithTheDisksSha256_AndShowsItWithTheConfiguration()
    {
        var images = await Session.Ok<List<ImageResponse>>(await market.Anonymous().GetAsync("/api/v1/images"));

        var busybox = Assert.Single(images);
        Assert.Equal(new ImageResponse("linux-busybox", "Linux (busybox)", 128, 1000,
            new[] { "vmlinuz", "initrd.img", "disk.qcow2" }.Sum(f => VirtuosoFactory.ImageFile(f).Length), Sha("disk.qcow2")), busybox);
        var configs = await Session.Ok<List<ConfigurationResponse>>(await market.Anonymous().GetAsync("/api/v1/configurations"));
        Assert.Equal(busybox, configs.Single(c => c.Name == "linux-busybox").ImageInfo);
        Assert.Null(configs.Single(c => c.Name == "Configuration1").ImageInfo);
    }

    [Fact]
    public async Task Store_TellsTheAgentEveryFileBySha256_AndWhereToFetchIt()
    {
        var buyer = await market.SharedBuyerAsync();
        var (machine, host) = await buyer.StoredMachineAsync("linux-busybox");

        var source = market.Spare.Creates[machine.Id].ImageSource!;
        Assert.Equal(("linux-busybox", "vmlinuz", "initrd.img", "disk.qcow2", 128L, 1000L),
            (source.Name, source.Kernel, source.Initrd, source.Disk, source.MinMemoryMb, source.MinDiskMb));
        Assert.Equal(["disk.qcow2", "initrd.img", "vmlinuz"], source.Files.Keys.Order());
        foreach (var (file, blob) in source.Files)
        {
            Assert.Equal((Sha(file), (long)VirtuosoFactory.ImageFile(file).Length), (blob.Sha256, blob.Size));
            Assert.EndsWith($"/agent/v1/hosts/{host.Name}/blobs/{blob.Sha256}", blob.Url);
        }
        // A blank machine has no image to fetch.
        var (blank, _) = await buyer.StoredMachineAsync();
        Assert.Null(market.Spare.Creates[blank.Id].ImageSource);
    }

    [Fact]
    public async Task Store_WhileTheHostFetchesTheImage_ShowsHowFarItHasCome_ThenNothing()
    {
        var buyer = await market.SharedBuyerAsync();
        var host = await market.RoomyHostAsync();
        var machine = await buyer.RegisterAsync("linux-busybox", 1000m, 100m);
        market.Spare.FetchProgress = new Contracts.Agent.ImageFetchProgress("linux-busybox", 43, 100);
        market.Spare.Hold("create");
        try
        {
            var store = buyer.StoreAsync(machine.Id, host.Name);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            MachineResponse shown;
            while ((shown = await buyer.MachineAsync(machine.Id)).Activity is null)
            {
                Assert.True(DateTime.UtcNow < deadline, "the fetch's progress never showed on the machine");
                await Task.Delay(100);
            }
            Assert.Equal(("storing: fetching image 43%", true), (shown.Activity, shown.Busy));
            market.Spare.Release("create");
            var stored = await store;
            Assert.Equal(("stored", (string?)null), (stored.State, stored.Activity));
            Assert.Null((await buyer.MachineAsync(machine.Id)).Activity);
        }
        finally
        {
            market.Spare.FetchProgress = null;
            market.Spare.Release("create");
        }
    }

    [Fact]
    public async Task AttachedIso_GoesWithTheStart_AndIsServedOnlyToTheMachinesHost()
    {
        var buyer = await market.SignupAsync(Roles.Buyer, "iso-buyer");
        var (machine, host) = await buyer.StoredMachineAsync();
        var bytes = TestIsos.Bootable(seed: 7);
        var uploaded = await buyer.Http.PutAsync("/api/v1/isos/installer", TestIsos.Content(bytes));
        Assert.Equal(HttpStatusCode.Created, uploaded.StatusCode);
        await Session.Ok<MachineResponse>(await buyer.PatchAsync($"/api/v1/machines/{machine.Id:D}",
            new EditMachineRequest(null, null, null, null, null, null, null, null, "installer")));

        await buyer.ActAsync(machine.Id, "start");

        var cdrom = market.Spare.Commands[(machine.Id, "start")].Cdrom!;
        Assert.Equal((TestIsos.Sha256(bytes), (long)bytes.Length), (cdrom.Sha256, cdrom.Size));
        Assert.EndsWith($"/agent/v1/hosts/{host.Name}/blobs/{cdrom.Sha256}", cdrom.Url);
        var served = await Get(new Uri(cdrom.Url).AbsolutePath, market.Spare.Secret);
        Assert.Equal(bytes, await served.Content.ReadAsByteArrayAsync());
        // Another host of the marketplace holds no machine with it: a buyer's ISO is not served there.
        var other = await market.AddHostAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await Get($"/agent/v1/hosts/{other.Name}/blobs/{cdrom.Sha256}", market.Spare.Secret)).StatusCode);
        // The resume of a machine that started with it says where it is, for a host a migration left without it.
        await buyer.ActAsync(machine.Id, "suspend");
        await buyer.ActAsync(machine.Id, "resume");
        Assert.Equal(cdrom, market.Spare.Commands[(machine.Id, "resume")].Cdrom);
        await buyer.ActAsync(machine.Id, "stop");
    }

    [Fact]
    public async Task Blob_IsServedToAHostWithItsSecret_WithRanges()
    {
        var host = await market.AddHostAsync();
        var path = $"/agent/v1/hosts/{host.Name}/blobs/{Sha("disk.qcow2")}";

        var whole = await Get(path, market.Spare.Secret);
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal(VirtuosoFactory.ImageFile("disk.qcow2"), await whole.Content.ReadAsByteArrayAsync());

        var rest = await Get(path, market.Spare.Secret, from: 1000);
        Assert.Equal(HttpStatusCode.PartialContent, rest.StatusCode);
        Assert.Equal(VirtuosoFactory.ImageFile("disk.qcow2")[1000..], await rest.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Blob_WrongSecretUnknownHostOrUnknownBlob_IsRefused_WithoutSayingWhetherItExists()
    {
        var host = await market.AddHostAsync();
        var disk = Sha("disk.qcow2");

        Assert.Equal(HttpStatusCode.Unauthorized, (await Get($"/agent/v1/hosts/{host.Name}/blobs/{disk}", "not-the-secret")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Get($"/agent/v1/hosts/{host.Name}/blobs/{disk}", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Get($"/agent/v1/hosts/no-such-host/blobs/{disk}", market.Spare.Secret)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Get($"/agent/v1/hosts/{host.Name}/blobs/{new string('0', 64)}", "wrong")).StatusCode);
        var unknown = await Get($"/agent/v1/hosts/{host.Name}/blobs/{new string('0', 64)}", market.Spare.Secret);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("\"code\":\"not-found\"", await unknown.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await Get($"/agent/v1/hosts/{host.Name}/blobs/..%2F..%2Fetc%2Fpasswd", market.Spare.Secret)).StatusCode);
    }

    /// <summary>Issue 20: the secret never crosses the front-end's port; what does opens one blob for one host for minutes.</summary>
    [Fact]
    public async Task Blob_TheSecretItself_AnotherBlobsProof_AnotherHostsProof_OrAnOldProof_IsRefused()
    {
        var host = await market.AddHostAsync();
        var disk = Sha("disk.qcow2");
        var path = $"/agent/v1/hosts/{host.Name}/blobs/{disk}";
        var secret = market.Spare.Secret;
        async Task<HttpStatusCode> With(string scheme, string credential)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = new AuthenticationHeaderValue(scheme, credential);
            return (await market.Anonymous().SendAsync(request)).StatusCode;
        }
        var now = DateTimeOffset.UtcNow;

        Assert.Equal(HttpStatusCode.OK, await With(Contracts.Agent.HostProof.Scheme, Contracts.Agent.HostProof.Credential(secret, host.Name, disk, now)));
        Assert.Equal(HttpStatusCode.Unauthorized, await With("Bearer", secret));
        Assert.Equal(HttpStatusCode.Unauthorized, await With(Contracts.Agent.HostProof.Scheme, Contracts.Agent.HostProof.Credential(secret, host.Name, new string('a', 64), now)));
        Assert.Equal(HttpStatusCode.Unauthorized, await With(Contracts.Agent.HostProof.Scheme, Contracts.Agent.HostProof.Credential(secret, "another-host", disk, now)));
        Assert.Equal(HttpStatusCode.Unauthorized, await With(Contracts.Agent.HostProof.Scheme, Contracts.Agent.HostProof.Credential(secret, host.Name, disk, now.AddMinutes(-6))));
        Assert.Equal(HttpStatusCode.Unauthorized, await With(Contracts.Agent.HostProof.Scheme, "12.zz"));
    }

    private async Task<HttpResponseMessage> Get(string path, string? secret, long? from = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (secret is not null)
        {
            var parts = path.Split('/'); // "", agent, v1, hosts, HOST, blobs, SHA
            request.Headers.Authorization = new AuthenticationHeaderValue(Contracts.Agent.HostProof.Scheme,
                Contracts.Agent.HostProof.Credential(secret, Uri.UnescapeDataString(parts[4]), parts[6] /* %2F stays encoded in a route value */, DateTimeOffset.UtcNow));
        }
        if (from is { } f) request.Headers.Range = new RangeHeaderValue(f, null);
        return await market.Anonymous().SendAsync(request);
    }
}
