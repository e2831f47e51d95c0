using System.Security.Cryptography;
using Virtuoso.EndToEnd.Tests.Support;
using Xunit.Abstractions;

namespace Virtuoso.EndToEnd.Tests.Machines;

/// <summary>
/// Issue 15 on real parts: a buyer uploads an installer ISO (guest/build-installer-iso.sh: BIOS El Torito, made with GRUB's
/// grub-mkrescue and xorriso), attaches it to a blank machine of a standard configuration and starts it: the machine boots
/// the CD first, the installer writes a small bootable system onto the blank disk (seen on the serial console) and powers
/// off. Suspended while the installer runs and migrated, the machine takes its CD along: the destination fetches the ISO
/// by its SHA-256 and the install ends there. Ejected, the machine boots the installed system from its own disk.
/// Refusals on real parts: changing the CD of a running machine, deleting an ISO in use.
/// </summary>
[Collection(RealQemu.Name)]
public sealed class IsoJourneyTests(ITestOutputHelper output)
{
    [Fact]
    public async Task BlankMachine_InstallsFromAnUploadedIso_ThenBootsFromItsDiskOnceEjected()
    {
        Assert.True(File.Exists(Repo.InstallerIso), $"no installer ISO at {Repo.InstallerIso}: run guest/build-installer-iso.sh (./test does)");
        await using var m = await Marketplace.StartAsync("alpha", "beta");
        var (alpha, beta) = (m.Agents["alpha"], m.Agents["beta"]);
        await m.ProviderWithHostsAsync("iso-provider", ("alpha", 47200), ("beta", 47210));
        await m.BuyerAsync("iso-buyer");

        var sha = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Repo.InstallerIso)));
        var uploaded = (await m.CliAsync("b", "iso", "upload", Repo.InstallerIso, "--name", "installer")).Ok();
        Assert.Contains(sha, uploaded.Stdout);
        Assert.Contains("installer", (await m.CliAsync("b", "isos")).Ok().Stdout);

        // Configuration1 is blank (its OS is a label, §5.1.4); the installer's Debian kernel wants more than its 64 MB.
        var id = (await m.CliAsync("b", "--json", "register", "--config", "Configuration1", "--name", "installer-target", "--memory", "256",
            "--storage-bid", "30", "--running-bid", "3")).Ok().Json.GetProperty("id").GetGuid();
        (await m.CliAsync("b", "edit", id.ToString(), "--cdrom", "installer")).Ok();
        (await m.CliAsync("b", "store", id.ToString(), "--host", "alpha")).Ok();
        (await m.CliAsync("b", "start", id.ToString())).Ok();
        Assert.True(File.Exists(Path.Combine(alpha.DataDir, "blobs", "sha256", sha)), "the agent does not hold the ISO by its SHA-256");

        // While it runs: the CD cannot change, and the ISO cannot go.
        var eject = await m.CliAsync("b", "edit", id.ToString(), "--cdrom", "none");
        Assert.NotEqual(0, eject.ExitCode);
        Assert.Contains("stop it first", eject.Stderr);
        var delete = await m.CliAsync("b", "iso", "delete", "installer");
        Assert.NotEqual(0, delete.ExitCode);
        Assert.Contains("installer-target", delete.Stderr);

        // Suspended once the installer's kernel runs (GRUB has read it from the CD: a migration while the BIOS reads the CD
        // broke GRUB's next reads here), migrated: the CD goes along, and the install ends on beta.
        await SerialConsole.WaitForAsync(() => SerialAsync(m, id), "Virtuoso installer: loading the virtio drivers", TimeSpan.FromSeconds(180));
        (await m.CliAsync("b", "suspend", id.ToString())).Ok();
        var migrated = (await m.CliAsync("b", "--json", "migrate", id.ToString(), "--host", "beta", "--method", "DEDUP")).Ok().Json;
        Assert.Equal("done", migrated.GetProperty("phase").GetString());
        Assert.True(File.Exists(Path.Combine(beta.DataDir, "blobs", "sha256", sha)), "the destination does not hold the ISO by its SHA-256");
        (await m.CliAsync("b", "resume", id.ToString())).Ok();
        var installed = await SerialConsole.WaitForAsync(() => SerialAsync(m, id), "Virtuoso installer: done", TimeSpan.FromSeconds(300));
        output.WriteLine(installed[^Math.Min(installed.Length, 600)..]);
        Assert.Contains("beta", (await m.CliAsync("b", "machine", id.ToString())).Ok().Stdout);
        // The installer powers the machine off; the host monitor records it stopped.
        await WaitForStateAsync(m, id, "stopped", TimeSpan.FromSeconds(60));

        (await m.CliAsync("b", "edit", id.ToString(), "--cdrom", "none")).Ok();
        (await m.CliAsync("b", "start", id.ToString())).Ok();
        var booted = await SerialConsole.WaitForAsync(() => SerialAsync(m, id), "Virtuoso installed system ready", TimeSpan.FromSeconds(180), installed.Length);
        Assert.Equal(1, booted.Split("Virtuoso installer: done").Length - 1); // the installer did not run again
        (await m.CliAsync("b", "stop", id.ToString())).Ok();
        (await m.CliAsync("b", "iso", "delete", "installer")).Ok();
    }

    private static async Task<string> SerialAsync(Marketplace m, Guid id) => (await m.CliAsync("b", "serial", id.ToString())).Ok().Stdout;

    private static async Task WaitForStateAsync(Marketplace m, Guid id, string state, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string now;
        while ((now = (await m.CliAsync("b", "--json", "machine", id.ToString())).Ok().Json.GetProperty("state").GetString()!) != state)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the machine stayed {now}, never {state}");
            await Task.Delay(500);
        }
    }
}
