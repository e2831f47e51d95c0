using System.Globalization;
using System.Security.Cryptography;
using Virtuoso.EndToEnd.Tests.Support;
using Xunit.Abstractions;

namespace Virtuoso.EndToEnd.Tests.Machines;

/// <summary>
/// Issue 15 on real parts: a buyer uploads a bootable ISO (made here with GRUB's grub-mkrescue and xorriso, El Torito),
/// attaches it to a blank machine of a standard configuration, and the machine boots it: the ISO's own output appears in
/// <c>./virtuoso serial</c>. The agent fetched the ISO from the front-end by its SHA-256. Ejected, the machine no longer
/// boots it. Refusals: attaching to a running machine, deleting an ISO in use.
/// </summary>
[Collection(RealQemu.Name)]
public sealed class IsoJourneyTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vt-e2e-iso-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A GRUB rescue ISO whose menu-less config prints <paramref name="banner"/> on the serial port and waits.</summary>
    private async Task<string> BootableIsoAsync(string banner)
    {
        var root = Path.Combine(_dir, "iso-root");
        Directory.CreateDirectory(Path.Combine(root, "boot", "grub"));
        await File.WriteAllTextAsync(Path.Combine(root, "boot", "grub", "grub.cfg"),
            "serial --unit=0 --speed=115200\nterminal_input serial console\nterminal_output serial console\n" +
            $"echo \"{banner}\"\nsleep 600\n");
        var iso = Path.Combine(_dir, "boot-test.iso");
        var made = await GuestSsh.ToolAsync("grub-mkrescue", ["-o", iso, root], TimeSpan.FromSeconds(120));
        Assert.True(made.Code == 0, $"grub-mkrescue failed ({made.Code}): {made.Error}");
        return iso;
    }

    [Fact]
    public async Task BlankMachine_WithAnUploadedIsoAttached_BootsIt_AndNoLongerOnceEjected()
    {
        await using var m = await Marketplace.StartAsync("alpha");
        var alpha = m.Agents["alpha"];
        (await m.CliAsync("p", "signup", "iso-provider", "--password", "provider-pass", "--email", "p@example.com", "--provider")).Ok();
        (await m.CliAsync("p", "login", "iso-provider", "--password", "provider-pass")).Ok();
        (await m.CliAsync("p", "host", "add", "alpha", "--address", "127.0.0.1", "--port", alpha.Port.ToString(CultureInfo.InvariantCulture), "--processor", "x86_64",
            "--speed", "10000", "--speed-unit", "1000", "--speed-price", "0.00001", "--memory", "4096", "--memory-unit", "4",
            "--memory-price", "0.00001", "--running-period", "3600", "--storage", "20000", "--storage-unit", "100",
            "--storage-price", "0.01", "--storage-period", "30", "--connect-speed", "1Gbps", "--secret", alpha.Secret,
            "--public-address", alpha.ForwardAddress, "--ports", "47200-47209")).Ok();
        (await m.CliAsync("b", "signup", "iso-buyer", "--password", "buyer-pass-1", "--email", "b@example.com", "--buyer")).Ok();
        (await m.CliAsync("b", "login", "iso-buyer", "--password", "buyer-pass-1")).Ok();

        var banner = "Booted from the buyer's ISO " + Guid.NewGuid().ToString("N")[..8];
        var iso = await BootableIsoAsync(banner);
        var sha = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(iso)));
        var uploaded = (await m.CliAsync("b", "iso", "upload", iso, "--name", "boot-test")).Ok();
        Assert.Contains(sha, uploaded.Stdout);
        Assert.Contains("boot-test", (await m.CliAsync("b", "isos")).Ok().Stdout);

        var id = (await m.CliAsync("b", "--json", "register", "--config", "Configuration1", "--name", "installer-target",
            "--storage-bid", "30", "--running-bid", "3")).Ok().Json.GetProperty("id").GetGuid();
        (await m.CliAsync("b", "edit", id.ToString(), "--cdrom", "boot-test")).Ok();
        (await m.CliAsync("b", "store", id.ToString(), "--host", "alpha")).Ok();
        (await m.CliAsync("b", "start", id.ToString())).Ok();

        var serial = await SerialConsole.WaitForAsync(async () => (await m.CliAsync("b", "serial", id.ToString())).Ok().Stdout, banner, TimeSpan.FromSeconds(90));
        output.WriteLine(serial[^Math.Min(serial.Length, 400)..]);
        // The agent holds the ISO by its SHA-256, fetched from the front-end.
        Assert.True(File.Exists(Path.Combine(alpha.DataDir, "blobs", "sha256", sha)));

        // While it runs: the CD cannot change, and the ISO cannot go.
        var attach = await m.CliAsync("b", "edit", id.ToString(), "--cdrom", "none");
        Assert.NotEqual(0, attach.ExitCode);
        Assert.Contains("stop it first", attach.Stderr);
        var delete = await m.CliAsync("b", "iso", "delete", "boot-test");
        Assert.NotEqual(0, delete.ExitCode);
        Assert.Contains("installer-target", delete.Stderr);

        (await m.CliAsync("b", "stop", id.ToString())).Ok();
        (await m.CliAsync("b", "edit", id.ToString(), "--cdrom", "none")).Ok();
        (await m.CliAsync("b", "start", id.ToString())).Ok();
        await Task.Delay(TimeSpan.FromSeconds(15)); // a blank disk: the BIOS finds nothing to boot, and the ISO is gone
        var after = (await m.CliAsync("b", "serial", id.ToString())).Ok().Stdout;
        Assert.Equal(1, after.Split(banner).Length - 1);
        (await m.CliAsync("b", "stop", id.ToString())).Ok();
        (await m.CliAsync("b", "iso", "delete", "boot-test")).Ok();
    }
}
