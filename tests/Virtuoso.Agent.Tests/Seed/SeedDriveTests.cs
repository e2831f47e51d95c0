using System.Diagnostics;
using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Seed;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Tests.Seed;

/// <summary>The seed as Debian's own tools see it: the real genisoimage, read back with isoinfo and blkid.</summary>
public sealed class SeedDriveTests : IDisposable
{
    private readonly TestDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly Guid Id = Guid.Parse("6f1b0a2e-6a55-4c4e-9d7a-1d2b3c4d5e6f");

    private static SeedDrive Drive() => new(TestOptions.For("/tmp"));

    [Fact]
    public async Task Write_MakesAnIso9660LabelledCidata_WithTheTwoNoCloudFiles_OfAFixedSize()
    {
        var dir = new MachineDirectory(_dir.Path);
        var metadata = new GuestMetadata("web-1", ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK me\"@x"]);

        await Drive().WriteAsync(dir, Id, metadata);

        Assert.Equal(SeedDrive.Size, new FileInfo(dir.Seed).Length);
        Assert.Equal(["seed.iso"], Directory.EnumerateFileSystemEntries(_dir.Path).Select(p => Path.GetFileName(p)!).ToArray());
        var blkid = await RunAsync("blkid", "-o", "export", dir.Seed);
        Assert.Contains("LABEL=cidata", blkid);
        Assert.Contains("TYPE=iso9660", blkid);
        Assert.Contains("Volume id: cidata", await RunAsync("isoinfo", "-d", "-i", dir.Seed));
        Assert.Equal(SeedContents.MetaData(Id, metadata), await RunAsync("isoinfo", "-R", "-i", dir.Seed, "-x", "/meta-data"));
        Assert.Equal(SeedContents.UserData(metadata), await RunAsync("isoinfo", "-R", "-i", dir.Seed, "-x", "/user-data"));
    }

    [Fact]
    public async Task Write_Again_ReplacesTheSeedAndLeavesNothingElse()
    {
        var dir = new MachineDirectory(_dir.Path);
        await Drive().WriteAsync(dir, Id, new GuestMetadata("first", []));

        await Drive().WriteAsync(dir, Id, new GuestMetadata("second", []));

        Assert.Contains("\"second\"", await RunAsync("isoinfo", "-R", "-i", dir.Seed, "-x", "/meta-data"));
        Assert.Equal(["seed.iso"], Directory.EnumerateFileSystemEntries(_dir.Path).Select(p => Path.GetFileName(p)!).ToArray());
    }

    private static async Task<string> RunAsync(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{tool} failed: {await process.StandardError.ReadToEndAsync()}");
        return output;
    }
}
