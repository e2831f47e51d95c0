using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Images;

namespace Virtuoso.FrontEnd.Tests.Images;

/// <summary>
/// The catalogue's import of an operator's images directory (issue 15): a folder whose image.json is unusable is left out
/// (logged), never half-imported, and never points the blob route outside its folder; the usable ones are imported.
/// </summary>
public sealed class ImageImportTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vt-images-").FullName;
    private Database _db = null!;
    private ImageCatalogue _catalogue = null!;

    public async Task InitializeAsync()
    {
        _db = new Database(Dialect.Sqlite, $"Data Source={Path.Combine(_dir, "fe.db")}");
        await new Migrator(_db, TimeProvider.System).MigrateAsync();
        var images = Path.Combine(_dir, "images");
        Write(images, "good", """{"name":"good","os":"Good OS","disk":"disk.qcow2","minMemoryMb":128,"minDiskMb":100}""", "disk.qcow2");
        Write(images, "escaping", """{"name":"escaping","disk":"../good/disk.qcow2","minMemoryMb":1,"minDiskMb":1}""");
        Write(images, "misnamed", """{"name":"someone-else","disk":"disk.qcow2","minMemoryMb":1,"minDiskMb":1}""", "disk.qcow2");
        Write(images, "missing-file", """{"name":"missing-file","kernel":"vmlinuz","disk":"disk.qcow2","minMemoryMb":1,"minDiskMb":1}""", "disk.qcow2");
        Write(images, "not-json", "{ this is not json", "disk.qcow2");
        Directory.CreateDirectory(Path.Combine(images, "no-manifest"));
        _catalogue = new ImageCatalogue(_db, Options.Create(new MarketOptions { ImagesDirectory = images }), TimeProvider.System,
            NullLogger<ImageCatalogue>.Instance);
    }

    private static void Write(string images, string folder, string manifest, params string[] files)
    {
        var dir = Path.Combine(images, folder);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "image.json"), manifest);
        foreach (var f in files) File.WriteAllText(Path.Combine(dir, f), $"{folder}/{f}");
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Import_LeavesOutEveryUnusableFolder_AndImportsTheRest_Twice_WithoutDuplicates()
    {
        await _catalogue.ImportAsync();
        await _catalogue.ImportAsync(); // a restart, or a second replica: the same rows

        var listed = await _catalogue.ListAsync();
        var good = Assert.Single(listed);
        Assert.Equal(("good", "Good OS", 128L, 100L, (long)"good/disk.qcow2".Length), (good.Name, good.Os, good.MinMemory, good.MinDisk, good.Size));
        Assert.Null(await _catalogue.SourceAsync("escaping", "alpha"));
        Assert.Null(await _catalogue.SourceAsync("misnamed", "alpha"));
        var source = await _catalogue.SourceAsync("good", "alpha");
        Assert.Equal(Path.Combine(_dir, "images", "good", "disk.qcow2"), await _catalogue.FileAsync(source!.Files["disk.qcow2"].Sha256));
    }
}
