using Virtuoso.Cli.Isos;
using Virtuoso.Cli.Tests.Support;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Tests.Isos;

/// <summary>virtuoso isos, iso upload, iso delete (issue 15) against the fake API.</summary>
public sealed class IsoCommandsTests : IAsyncLifetime
{
    private const string Sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    private static readonly DateTimeOffset At = new(2026, 12, 6, 1, 0, 0, TimeSpan.Zero);

    private Harness h = null!;

    public async Task InitializeAsync() => h = (await Harness.StartAsync()).LogIn();

    public async Task DisposeAsync() => await h.DisposeAsync();

    private string WriteFile(string name, byte[] bytes)
    {
        var path = Path.Combine(h.Root, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public async Task Upload_StreamsTheFilesBytes_UnderItsNameWithoutExtension_AndPrintsSizeAndSha256()
    {
        var bytes = new byte[300_000];
        new Random(15).NextBytes(bytes);
        var path = WriteFile("debian-12.4.0-amd64-netinst.iso", bytes);
        h.Api.Json("PUT /api/v1/isos/debian-12.4.0-amd64-netinst", new IsoResponse("debian-12.4.0-amd64-netinst", Sha, bytes.Length, At, []), 201);

        var run = (await h.RunAsync("iso", "upload", path)).Succeeded();

        var request = Assert.Single(h.Api.Requests);
        Assert.Equal(("PUT", bytes.Length, "application/octet-stream", "Bearer token-alice"), (request.Method, (int)request.ContentLength!, request.ContentType, request.Authorization));
        Assert.Equal(bytes, request.Bytes);
        Assert.Equal("100-continue", request.Expect);
        Assert.Contains($"Uploaded ISO debian-12.4.0-amd64-netinst: 293 KB (300000 bytes), SHA-256 {Sha}.", run.Out);
        Assert.Contains("virtuoso edit ID --cdrom debian-12.4.0-amd64-netinst", run.Out);
    }

    [Fact]
    public async Task Upload_WithName_AndJson_IsTheServersAnswer()
    {
        var path = WriteFile("x.iso", [1, 2, 3]);
        h.Api.Json("PUT /api/v1/isos/installer", new IsoResponse("installer", Sha, 3, At, []), 201);

        var json = (await h.RunAsync("iso", "upload", path, "--name", "installer", "--json")).Succeeded().Json;

        Assert.Equal(Sha, json.GetProperty("sha256").GetString());
        Assert.Equal(3, json.GetProperty("size").GetInt64());
    }

    [Fact]
    public async Task Upload_ProgressBar_GoesToAStderrTerminalOnly()
    {
        var path = WriteFile("big.iso", new byte[1 << 20]);
        h.Api.Json("PUT /api/v1/isos/big", new IsoResponse("big", Sha, 1 << 20, At, []), 201);
        var settings = CliSettings.From(h.Environment);

        var terminal = await h.RunAsync(settings with { ErrorTerminal = true }, "iso", "upload", path);
        var redirected = await h.RunAsync(settings, "iso", "upload", path);

        Assert.Equal(0, terminal.Exit);
        Assert.Contains("uploading big [####################] 100%  1 MB of 1 MB", terminal.Err);
        Assert.EndsWith("\r", terminal.Err); // the bar is cleared at the end
        Assert.DoesNotContain("Uploaded", terminal.Err);
        Assert.Equal("", redirected.Succeeded().Err);
    }

    [Fact]
    public async Task Upload_Refused_IsTheServersOneLine()
    {
        var path = WriteFile("big.iso", [1, 2, 3]);
        h.Api.Problem("PUT /api/v1/isos/big", 413, ErrorCodes.OverQuota, "Over the ISO quota", "over your ISO quota of 10 GB: you use 9.8 GB and this is 512 MB; delete an ISO first");

        var line = (await h.RunAsync("iso", "upload", path)).Failed(1, ErrorCodes.OverQuota);

        Assert.Equal("error: over your ISO quota of 10 GB: you use 9.8 GB and this is 512 MB; delete an ISO first (over-quota)", line);
    }

    [Fact]
    public async Task Upload_MissingFile_IsOneClearLine_AndSendsNothing()
    {
        var path = Path.Combine(h.Root, "no-such.iso");

        Assert.Equal($"error: cannot read {path}: no such file (local-files)", (await h.RunAsync("iso", "upload", path)).Failed(2, "local-files"));
        Assert.Empty(h.Api.Requests);
    }

    [Theory]
    [InlineData("/tmp/debian-12.iso", "debian-12")]
    [InlineData("Debian 12 (netinst).iso", "Debian-12--netinst-")]
    [InlineData("_hidden.img", "hidden")]
    [InlineData("none.iso", "iso-none")]
    [InlineData("....iso", "iso")]
    public void NameOf_IsTheFileNameWithoutExtension_Sanitised(string path, string name) => Assert.Equal(name, IsoCommands.NameOf(path));

    [Fact]
    public async Task Isos_ListsNameSizeShortShaAndMachines_AndTheQuota()
    {
        h.Api.Json("GET /api/v1/isos", new IsoListResponse(
            [new IsoResponse("installer", Sha, 48 * 1024, At, ["web-1", "db-1"]), new IsoResponse("rescue", Sha, 3L << 30, At, [])],
            (3L << 30) + 48 * 1024, 10L << 30));

        var lines = (await h.RunAsync("isos")).Succeeded().Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(["NAME", "SIZE", "SHA256", "ATTACHED", "TO"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["installer", "48", "KB", Sha[..12], "web-1,", "db-1"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["rescue", "3", "GB", Sha[..12], "-"], lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("3 GB used of your 10 GB ISO quota.", lines[3]);
    }

    [Fact]
    public async Task Isos_None_SaysHowToUploadOne()
    {
        h.Api.Json("GET /api/v1/isos", new IsoListResponse([], 0, 10L << 30));

        var output = (await h.RunAsync("isos")).Succeeded().Out;

        Assert.Contains("No ISO images yet. Upload a bootable one with: virtuoso iso upload FILE.iso [--name NAME]", output);
        Assert.Contains("0 bytes used of your 10 GB ISO quota.", output);
    }

    [Fact]
    public async Task Delete_SaysSo_AndInUseIsTheServersLine()
    {
        h.Api.NoContent("DELETE /api/v1/isos/installer");
        Assert.Equal("Deleted ISO installer.\n", (await h.RunAsync("iso", "delete", "installer")).Succeeded().Out);

        h.Api.Problem("DELETE /api/v1/isos/installer", 409, ErrorCodes.InUse, "In use", "ISO installer is attached to machine web-1: eject it first (--cdrom none)");
        Assert.Contains("attached to machine web-1", (await h.RunAsync("iso", "delete", "installer")).Failed(1, ErrorCodes.InUse));
    }
}
