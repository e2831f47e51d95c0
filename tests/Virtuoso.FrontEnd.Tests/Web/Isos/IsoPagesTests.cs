using System.Net;
using System.Net.Http.Headers;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Isos;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Web.Isos;

/// <summary>IsoPagesTests on SQLite.</summary>
public sealed class IsoPagesTests(IsoMarket market) : IsoPagesTests<IsoMarket>(market);

/// <summary>IsoPagesTests on PostgreSQL.</summary>
public sealed class IsoPagesPostgresTests(PostgresIsoMarket market) : IsoPagesTests<PostgresIsoMarket>(market);

/// <summary>
/// The ISO images page and the machine page's CD drive (issue 15): linked in a buyer's navigation; the upload form streams
/// its file part into the same service as the API, with its anti-forgery token checked first; refusals show the API's code.
/// </summary>
public abstract class IsoPagesTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    private static int _seed = 100;

    private static async Task<WebUser.Page> UploadAsync(WebUser user, string fileName, byte[] bytes, string? name = null, bool token = true)
    {
        var form = new MultipartFormDataContent();
        if (token) form.Add(new StringContent((await user.GetAsync("/isos")).AntiforgeryToken!), "__RequestVerificationToken");
        form.Add(new StringContent(name ?? ""), "name");
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "file", fileName);
        return await WebUser.Page.ReadAsync(await user.Http.PostAsync("/isos/upload", form));
    }

    [Fact]
    public async Task Page_InTheBuyersNavigation_UploadsListsAttachesEjectsAndDeletes()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        Assert.Contains("href=\"/isos\"", (await buyer.GetAsync("/machines")).Html);
        var empty = await buyer.GetAsync("/isos");
        Assert.Contains("No ISO images yet", empty.Html);
        Assert.Contains("You use 0 bytes of your 128 KiB quota", empty.Html);
        var bytes = TestIsos.Bootable(seed: (byte)Interlocked.Increment(ref _seed));

        var uploaded = await UploadAsync(buyer, "Debian 12 netinst.iso", bytes);

        Assert.Equal((HttpStatusCode.Redirect, "/isos"), (uploaded.Status, uploaded.Location));
        var listed = await buyer.GetAsync("/isos");
        Assert.Contains("data-iso=\"Debian-12-netinst\"", listed.Html);
        Assert.Contains(TestIsos.Sha256(bytes), listed.Html);
        Assert.Contains("You use 48 KiB of your 128 KiB quota", listed.Html);

        var api = await buyer.ApiAsync(market);
        var machine = await api.RegisterAsync("Configuration1", 1000m, 100m);
        var page = await buyer.GetAsync($"/machines/{machine.Id:D}");
        Assert.Contains("<option value=\"Debian-12-netinst\">", page.Html);
        var attached = await buyer.PostFormAsync($"/machines/{machine.Id:D}?handler=cdrom", new() { ["cdrom"] = "Debian-12-netinst" }, formPage: $"/machines/{machine.Id:D}");
        Assert.Equal(HttpStatusCode.Redirect, attached.Status);
        Assert.Equal("Debian-12-netinst", (await api.MachineAsync(machine.Id)).Cdrom);
        Assert.Contains("ISO Debian-12-netinst (the machine boots from it first)", (await buyer.GetAsync($"/machines/{machine.Id:D}")).Html);

        var inUse = await buyer.PostFormAsync("/isos?handler=delete", new() { ["name"] = "Debian-12-netinst" }, formPage: "/isos");
        Assert.Equal((HttpStatusCode.Conflict, ErrorCodes.InUse), (inUse.Status, inUse.ProblemCode));

        Assert.Equal(HttpStatusCode.Redirect, (await buyer.PostFormAsync($"/machines/{machine.Id:D}?handler=cdrom", new() { ["cdrom"] = "none" }, formPage: $"/machines/{machine.Id:D}")).Status);
        Assert.Null((await api.MachineAsync(machine.Id)).Cdrom);
        Assert.Equal(HttpStatusCode.Redirect, (await buyer.PostFormAsync("/isos?handler=delete", new() { ["name"] = "Debian-12-netinst" }, formPage: "/isos")).Status);
        Assert.Contains("No ISO images yet", (await buyer.GetAsync("/isos")).Html);
    }

    [Fact]
    public async Task Upload_WithoutTheToken_IsRefused_AndNotAnIsoShowsTheApisCode_NothingStored()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        var bytes = TestIsos.Bootable(seed: (byte)Interlocked.Increment(ref _seed));

        var noToken = await UploadAsync(buyer, "x.iso", bytes, token: false);
        Assert.Equal(HttpStatusCode.BadRequest, noToken.Status);
        Assert.Contains("anti-forgery", noToken.Problem);
        var refused = await UploadAsync(buyer, "notes.txt", "hello"u8.ToArray(), name: "notes");

        Assert.Equal((HttpStatusCode.BadRequest, ErrorCodes.NotAnIso), (refused.Status, refused.ProblemCode));
        Assert.Contains("Upload an ISO image", refused.Html);
        Assert.Empty((await Session.Ok<IsoListResponse>(await (await buyer.ApiAsync(market)).GetAsync("/api/v1/isos"))).Isos);
    }

    [Fact]
    public async Task Machine_Running_OffersNoCdChange_AndSaysWhy()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        var api = await buyer.ApiAsync(market);
        var (machine, _) = await api.StoredMachineAsync();
        await api.ActAsync(machine.Id, "start");

        var page = await buyer.GetAsync($"/machines/{machine.Id:D}");

        Assert.DoesNotContain("id=\"cdrom-form\"", page.Html);
        Assert.Contains("stop it first", page.Html);
        var refused = await buyer.PostFormAsync($"/machines/{machine.Id:D}?handler=cdrom", new() { ["cdrom"] = "none" }, formPage: "/isos");
        Assert.Equal((HttpStatusCode.Conflict, ErrorCodes.InvalidState), (refused.Status, refused.ProblemCode));
        await api.ActAsync(machine.Id, "stop");
    }
}
