using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Isos;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Isos;

/// <summary>A market whose buyers may hold 128 KB of ISOs: two test images of 48 KB fit, a third does not.</summary>
public sealed class IsoMarket() : MarketFixture(new SqliteTestDatabase(), IsoSettings.Small)
{
}

/// <summary><see cref="IsoMarket"/> on PostgreSQL.</summary>
public sealed class PostgresIsoMarket() : MarketFixture(new PostgresTestDatabase(), IsoSettings.Small)
{
}

internal static class IsoSettings
{
    public const long Quota = 128 * 1024;
    public static readonly IReadOnlyDictionary<string, string?> Small = new Dictionary<string, string?> { ["Virtuoso:IsoQuotaBytes"] = Quota.ToString(System.Globalization.CultureInfo.InvariantCulture) };
}

/// <summary>IsoServiceTests on SQLite, the default dialect.</summary>
public sealed class IsoServiceTests(IsoMarket market) : IsoServiceTests<IsoMarket>(market);

/// <summary>IsoServiceTests on PostgreSQL, production's dialect.</summary>
public sealed class IsoServicePostgresTests(PostgresIsoMarket market) : IsoServiceTests<PostgresIsoMarket>(market);

/// <summary>
/// IsoService, IsoEndpoints and the CD drive of a machine through the API (issue 15 items 3 and 4): an upload is kept
/// content-addressed and read-only, equal content shares one file until the last ISO of it goes; every refusal says why
/// with a stable code and leaves neither a row nor a file; an ISO attaches only to its owner's machine that does not run.
/// </summary>
public abstract class IsoServiceTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    private static int _seed;
    private string Blobs => Path.Combine(market.DataDir, "blobs");
    private string BlobOf(byte[] bytes) => Path.Combine(Blobs, "sha256", TestIsos.Sha256(bytes));

    private static byte[] NewIso(int blocks = 24) => TestIsos.Bootable(blocks, seed: (byte)Interlocked.Increment(ref _seed));

    private static Task<HttpResponseMessage> PutAsync(Session s, string name, HttpContent content) => s.Http.PutAsync($"/api/v1/isos/{name}", content);

    private static async Task<IsoResponse> UploadAsync(Session s, string name, byte[] bytes)
    {
        var response = await PutAsync(s, name, TestIsos.Content(bytes));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/api/v1/isos/{name}", response.Headers.Location?.ToString());
        return (await Session.Ok<IsoResponse>(response))!;
    }

    private static async Task<IsoListResponse> ListAsync(Session s) => await Session.Ok<IsoListResponse>(await s.GetAsync("/api/v1/isos"));

    private static Task<HttpResponseMessage> CdromAsync(Session s, Guid machine, string cdrom) =>
        s.PatchAsync($"/api/v1/machines/{machine:D}", new EditMachineRequest(null, null, null, null, null, null, null, null, cdrom));

    [Fact]
    public async Task Upload_ABootableImage_IsKeptReadOnlyUnderItsSha256_AndListed()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        var bytes = NewIso();

        var iso = await UploadAsync(buyer, "installer-1.0_amd64.iso", bytes);

        Assert.Equal(("installer-1.0_amd64.iso", TestIsos.Sha256(bytes), (long)bytes.Length, 0), (iso.Name, iso.Sha256, iso.Size, iso.AttachedTo.Count));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(BlobOf(bytes)));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(BlobOf(bytes)));
        var list = await ListAsync(buyer);
        Assert.Equal(("installer-1.0_amd64.iso", (long)bytes.Length, IsoSettings.Quota), (Assert.Single(list.Isos).Name, list.UsedBytes, list.QuotaBytes));
        Assert.Contains(await buyer.EventsAsync(), e => e.Kind == "iso-uploaded" && e.Message.Contains(iso.Sha256, StringComparison.Ordinal));
        AssertNoTemporaryFiles();
    }

    [Fact]
    public async Task EqualContent_SharesOneFile_UntilTheLastIsoOfItIsDeleted()
    {
        var alice = await market.SignupAsync(Roles.Buyer);
        var bob = await market.SignupAsync(Roles.Buyer);
        var bytes = NewIso();

        await UploadAsync(alice, "debian", bytes);
        await UploadAsync(alice, "debian-copy", bytes);
        await UploadAsync(bob, "mine", bytes);

        Assert.Equal([TestIsos.Sha256(bytes)], Directory.GetFiles(Path.Combine(Blobs, "sha256")).Select(Path.GetFileName).Where(f => f == TestIsos.Sha256(bytes)));
        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync("/api/v1/isos/debian")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync("/api/v1/isos/debian-copy")).StatusCode);
        Assert.True(File.Exists(BlobOf(bytes)), "bob's ISO still needs the file");
        Assert.Equal(HttpStatusCode.NoContent, (await bob.DeleteAsync("/api/v1/isos/mine")).StatusCode);
        Assert.False(File.Exists(BlobOf(bytes)), "no ISO refers to the file any more");
        Assert.Empty((await ListAsync(alice)).Isos);
        Assert.Contains(await alice.EventsAsync(), e => e.Kind == "iso-deleted");
    }

    public static TheoryData<string, string, int, string, string> Refusals() => new()
    {
        { "not-an-iso", "plain", 400, ErrorCodes.NotAnIso, "no primary volume descriptor (\"CD001\") at byte 32769" },
        { "tiny", "tiny", 400, ErrorCodes.NotAnIso, "no primary volume descriptor" },
        { "no-el-torito", "plain", 400, ErrorCodes.NotAnIso, "no El Torito boot record" },
        { "truncated", "plain", 400, ErrorCodes.NotAnIso, "truncated: its volume is 49152 bytes but the file has 45056" },
        { "gave-up", "plain", 400, ErrorCodes.IncompleteUpload, "ended after 45056 of its 49152 bytes" },
        { "no-length", "plain", 411, ErrorCodes.LengthRequired, "Content-Length" },
        { "over-quota", "plain", 413, ErrorCodes.OverQuota, "over your ISO quota of 128 KB: you use 96 KB and this is 48 KB" },
        { "bad-name", "-dash", 400, ErrorCodes.Validation, "ISO name must be" },
        { "none", "none", 400, ErrorCodes.Validation, "not 'none'" },
        { "long-name", new string('n', 65), 400, ErrorCodes.Validation, "ISO name must be" },
        { "duplicate", "first", 409, ErrorCodes.IsoNameTaken, "you already have an ISO named 'first'" },
        // A name taken says so even when the quota is full too: the name is the first thing to fix.
        { "over-quota", "second", 409, ErrorCodes.IsoNameTaken, "you already have an ISO named 'second'" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Upload_Refused_SaysWhyWithAStableCode_AndLeavesNoRowAndNoFile(string kind, string name, int status, string code, string detail)
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        await UploadAsync(buyer, "first", NewIso());
        await UploadAsync(buyer, "second", NewIso());
        Assert.Equal(HttpStatusCode.NoContent, (await buyer.DeleteAsync("/api/v1/isos/second")).StatusCode);
        if (kind == "over-quota") await UploadAsync(buyer, "second", NewIso());
        var before = await ListAsync(buyer);
        var good = NewIso();
        var (bytes, content) = kind switch
        {
            "not-an-iso" => Content(RandomNumberGenerator(good.Length)),
            "tiny" => Content("hello"u8.ToArray()),
            "no-el-torito" => Content(TestIsos.Bootable(24, seed: good[20 * 2048], elTorito: false)),
            "truncated" => Content(good[..(22 * 2048)]),
            "gave-up" => (good, new TestIsos.LyingContent(good[..(22 * 2048)], good.Length)),
            "no-length" => (good, new TestIsos.LyingContent(good, null)),
            _ => Content(good),
        };

        var request = new HttpRequestMessage(HttpMethod.Put, $"/api/v1/isos/{Uri.EscapeDataString(name)}") { Content = content };
        // Without a length, the in-process client would buffer the body and give it one.
        if (kind == "no-length") request.Headers.TransferEncodingChunked = true;
        var problem = await Problem.AssertAsync(await buyer.Http.SendAsync(request), status, code);

        Assert.Contains(detail, Problem.Detail(problem));
        Snapshot.Same(before, await ListAsync(buyer));
        Assert.False(File.Exists(BlobOf(bytes)), "the refused upload's content is not kept");
        AssertNoTemporaryFiles();

        static (byte[], HttpContent) Content(byte[] b) => (b, TestIsos.Content(b));
        static byte[] RandomNumberGenerator(int n) => System.Security.Cryptography.RandomNumberGenerator.GetBytes(n);
    }

    [Fact]
    public async Task Provider_HasNoIsos()
    {
        await Problem.AssertAsync(await market.Provider.GetAsync("/api/v1/isos"), 403, ErrorCodes.WrongRole);
        await Problem.AssertAsync(await PutAsync(market.Provider, "x", TestIsos.Content(NewIso())), 403, ErrorCodes.WrongRole);
    }

    [Fact]
    public async Task Cdrom_OnAStoredMachine_AttachesTheIso_ShowsIt_RefusesItsDelete_AndEjects()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        var bytes = NewIso();
        await UploadAsync(buyer, "installer", bytes);
        var (machine, _) = await buyer.StoredMachineAsync();

        var attached = await Session.Ok<MachineResponse>(await CdromAsync(buyer, machine.Id, "installer"));

        Assert.Equal(("installer", machine.Version), (attached.Cdrom, attached.Version));
        Assert.Equal("installer", (await buyer.MachineAsync(machine.Id)).Cdrom);
        Assert.Equal("installer", Assert.Single(await buyer.MachinesAsync(), m => m.Id == machine.Id).Cdrom);
        Assert.Equal([machine.Name], Assert.Single((await ListAsync(buyer)).Isos).AttachedTo);
        var service = market.Factory.Services.GetRequiredService<IsoService>();
        Assert.Equal(new IsoFile("installer", TestIsos.Sha256(bytes), bytes.Length, BlobOf(bytes)), await service.AttachedAsync(machine.Id));
        Assert.Equal(BlobOf(bytes), service.BlobPath(TestIsos.Sha256(bytes)));
        Assert.Null(service.BlobPath(new string('0', 64)));
        Assert.Null(service.BlobPath("../../etc/passwd"));

        var inUse = await Problem.AssertAsync(await buyer.DeleteAsync("/api/v1/isos/installer"), 409, ErrorCodes.InUse);
        Assert.Contains($"attached to machine {machine.Name}", Problem.Detail(inUse));
        Assert.True(File.Exists(BlobOf(bytes)));

        var ejected = await Session.Ok<MachineResponse>(await CdromAsync(buyer, machine.Id, "none"));
        Assert.Null(ejected.Cdrom);
        Assert.Null(await service.AttachedAsync(machine.Id));
        Assert.Equal(HttpStatusCode.NoContent, (await buyer.DeleteAsync("/api/v1/isos/installer")).StatusCode);
        var kinds = (await buyer.EventsAsync(machine.Id)).Select(e => e.Kind).ToList();
        Assert.Contains("cdrom-attached", kinds);
        Assert.Contains("cdrom-ejected", kinds);
    }

    [Fact]
    public async Task Cdrom_OnARunningOrSuspendedMachine_IsRefused_StopItFirst_ThenAllowedOnceStopped()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        await UploadAsync(buyer, "installer", NewIso());
        var (machine, _) = await buyer.StoredMachineAsync();
        await buyer.ActAsync(machine.Id, "start");

        var running = await Problem.AssertAsync(await CdromAsync(buyer, machine.Id, "installer"), 409, ErrorCodes.InvalidState);
        Assert.Contains("running: stop it first", Problem.Detail(running));
        await buyer.ActAsync(machine.Id, "suspend");
        Assert.Contains("suspended: stop it first", Problem.Detail(await Problem.AssertAsync(await CdromAsync(buyer, machine.Id, "none"), 409, ErrorCodes.InvalidState)));
        Assert.Null((await buyer.MachineAsync(machine.Id)).Cdrom);

        await buyer.ActAsync(machine.Id, "resume");
        await buyer.ActAsync(machine.Id, "stop");
        Assert.Equal("installer", (await Session.Ok<MachineResponse>(await CdromAsync(buyer, machine.Id, "installer"))).Cdrom);
    }

    [Fact]
    public async Task Cdrom_OnARegisteredMachine_WithAnEdit_OrAnotherBuyersIso()
    {
        var alice = await market.SignupAsync(Roles.Buyer);
        var bob = await market.SignupAsync(Roles.Buyer);
        await UploadAsync(bob, "bobs", NewIso());
        await UploadAsync(alice, "alices", NewIso());
        var machine = await alice.RegisterAsync("Configuration1", 1000m, 100m);

        var notFound = await Problem.AssertAsync(await CdromAsync(alice, machine.Id, "bobs"), 404, ErrorCodes.NotFound);
        Assert.Contains("you have no ISO named 'bobs'", Problem.Detail(notFound));
        Assert.Null((await alice.MachineAsync(machine.Id)).Cdrom);

        var edited = await Session.Ok<MachineResponse>(await alice.PatchAsync($"/api/v1/machines/{machine.Id:D}",
            new EditMachineRequest("With CD", null, null, null, null, null, null, null, "alices")));
        Assert.Equal(("With CD", "alices"), (edited.Name, edited.Cdrom));
        // Bob cannot eject what is not his machine: it answers like a machine that does not exist.
        await Problem.AssertAsync(await CdromAsync(bob, machine.Id, "none"), 404, ErrorCodes.NotFound);
        // Deleting the machine frees the ISO.
        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync($"/api/v1/machines/{machine.Id:D}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync("/api/v1/isos/alices")).StatusCode);
    }

    [Fact]
    public async Task DeleteAndUploadOfEqualContent_Racing_NeverLoseTheFileOfARow()
    {
        var alice = await market.SignupAsync(Roles.Buyer);
        var bob = await market.SignupAsync(Roles.Buyer);
        for (var round = 0; round < 8; round++)
        {
            var bytes = NewIso();
            await UploadAsync(alice, "x", bytes);

            // Alice's delete may remove the file as the last ISO of it, while Bob's upload of the same bytes keeps it.
            var delete = alice.DeleteAsync("/api/v1/isos/x");
            var upload = PutAsync(bob, $"y{round}", TestIsos.Content(bytes));
            Assert.Equal(HttpStatusCode.NoContent, (await delete).StatusCode);
            Assert.Equal(HttpStatusCode.Created, (await upload).StatusCode);

            Assert.True(File.Exists(BlobOf(bytes)), $"round {round}: bob's ISO has no file");
            Assert.Equal(bytes, await File.ReadAllBytesAsync(BlobOf(bytes)));
            Assert.Equal(HttpStatusCode.NoContent, (await bob.DeleteAsync($"/api/v1/isos/y{round}")).StatusCode);
            Assert.False(File.Exists(BlobOf(bytes)));
        }
    }

    [Fact]
    public async Task Delete_Unknown_IsNotFound()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        Assert.Contains("you have no ISO named 'nope'", Problem.Detail(await Problem.AssertAsync(await buyer.DeleteAsync("/api/v1/isos/nope"), 404, ErrorCodes.NotFound)));
    }

    private void AssertNoTemporaryFiles()
    {
        var temp = Path.Combine(Blobs, "tmp");
        Assert.Empty(Directory.Exists(temp) ? Directory.GetFiles(temp) : []);
    }
}
