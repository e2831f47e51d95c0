using Virtuoso.Agent.Images;
using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Vmm;
using Virtuoso.Agent.Vmm.Qemu;

namespace Virtuoso.Agent.Tests.Vmm.Qemu;

public class QemuCommandLineTests
{
    private static readonly Guid Id = Guid.Parse("6f1b0a2e-6a55-4c4e-9d7a-1d2b3c4d5e6f");
    private static readonly MachineDirectory Dir = new("/data/machines/6f1b0a2e-6a55-4c4e-9d7a-1d2b3c4d5e6f");

    private static VmLaunch Blank(string accelerator = "tcg") => new(Id, "52:54:00:12:34:56", 256, Dir, null, accelerator);

    private static string Line(IReadOnlyList<string> args) => string.Join(' ', args);

    [Fact]
    public void Build_Blank_HasTheMachinesIdentityAndDevices()
    {
        var line = Line(QemuCommandLine.Build(Blank(), vncDisplay: 12));

        Assert.Contains($"-name {Id:D} -uuid {Id:D} -machine pc -accel tcg,tb-size=128 -m 256 -smp 1", line);
        Assert.Contains($"-drive file={Dir.Root}/disk.qcow2,if=virtio,format=qcow2", line);
        Assert.Contains("-device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56", line);
        Assert.Contains("-vga std", line);
        Assert.Contains("-vnc 127.0.0.1:12,to=111,password=on", line);
        Assert.Contains($"-chardev socket,id=s0,path={Dir.Root}/serial.sock,server=on,wait=off,logfile={Dir.Root}/serial.log,logappend=on -serial chardev:s0", line);
        Assert.Contains($"-qmp unix:{Dir.Root}/qmp.sock,server=on,wait=off", line);
        Assert.Contains($"-pidfile {Dir.Root}/qemu.pid", line);
        Assert.DoesNotContain("-kernel", line);
        Assert.DoesNotContain("-incoming", line);
        Assert.DoesNotContain("-daemonize", line);
    }

    [Theory]
    [InlineData(400, 1)]
    [InlineData(2400, 3)]
    public void Build_GivesTheGuestTheVcpusOfItsShare(long millicores, int vcpus)
    {
        var line = Line(QemuCommandLine.Build(Blank() with { Cpu = new Virtuoso.Core.Machines.CpuShare(millicores, vcpus) }, vncDisplay: 12));
        Assert.Contains($"-smp {vcpus} ", line);
    }

    [Fact]
    public void Build_Kvm_HasNoTranslationCache()
    {
        Assert.Contains("-accel kvm -m 256", Line(QemuCommandLine.Build(Blank("kvm"), vncDisplay: 12)));
    }

    [Fact]
    public void Build_Preconfigured_BootsTheCachedKernel()
    {
        var image = new CachedImage("/data/images/linux-busybox",
            new ImageManifest("linux-busybox", "vmlinuz", "initrd.img", "disk.qcow2", "console=ttyS0 root=/dev/vda rw", 128, 1000));

        var args = QemuCommandLine.Build(Blank("kvm") with { Image = image }, 10);

        var line = Line(args);
        Assert.Contains("-accel kvm", line);
        Assert.Contains("-kernel /data/images/linux-busybox/vmlinuz -initrd /data/images/linux-busybox/initrd.img", line);
        // The kernel command line stays one argument.
        Assert.Equal("console=ttyS0 root=/dev/vda rw", args[args.ToList().IndexOf("-append") + 1]);
    }

    [Fact]
    public void Build_Resume_IsTheStartPlusAPausedIncomingState()
    {
        var start = QemuCommandLine.Build(Blank(), 10);

        var resume = QemuCommandLine.Build(Blank(), 10, Dir.StateFile);

        Assert.Equal(start, resume.Take(start.Count));
        Assert.Equal(["-S", "-incoming", $"exec:cat '{Dir.Root}/state.bin'"], resume.Skip(start.Count));
    }

    [Fact]
    public void Build_PathsWithCommasAndQuotes_AreEscaped()
    {
        var odd = new MachineDirectory("/data,x/it's");

        var args = QemuCommandLine.Build(Blank() with { Dir = odd }, 10, odd.StateFile);

        Assert.Contains("file=/data,,x/it's/disk.qcow2,if=virtio,format=qcow2", args);
        Assert.Contains("unix:/data,,x/it's/qmp.sock,server=on,wait=off", args);
        Assert.Contains(@"exec:cat '/data,x/it'\''s/state.bin'", args);
    }

    [Fact]
    public void Build_Seed_IsAReadOnlyRawVirtioDrive_AfterEveryOtherDevice()
    {
        var without = QemuCommandLine.Build(Blank(), 10);

        var with = QemuCommandLine.Build(Blank() with { Seed = Dir.Seed }, 10);

        // Appended after the devices a machine had before seeds: those keep their PCI slots.
        var at = without.ToList().IndexOf("-pidfile") + 2;
        Assert.Equal(without.Take(at), with.Take(at));
        Assert.Equal(["-drive", $"file={Dir.Root}/seed.iso,if=virtio,format=raw,readonly=on"], with.Skip(at).Take(2));
    }

    [Fact]
    public void Build_Cdrom_IsAReadOnlyIdeCd_BootedBeforeTheDisk_AfterTheSeed()
    {
        var seeded = QemuCommandLine.Build(Blank() with { Seed = Dir.Seed }, 10);

        var with = QemuCommandLine.Build(Blank() with { Seed = Dir.Seed, Cdrom = "/data/blobs/sha256/ab,cd" }, 10);

        Assert.Equal(seeded, with.Take(seeded.Count));
        Assert.Equal(["-drive", "file=/data/blobs/sha256/ab,,cd,if=ide,index=2,media=cdrom,readonly=on", "-boot", "order=dc"], with.Skip(seeded.Count));
        Assert.DoesNotContain("-boot", seeded); // without a CD the BIOS finds the disk as before
    }

    [Fact]
    public void Build_ResumeWithSeed_IsTheStartPlusAPausedIncomingState()
    {
        var start = QemuCommandLine.Build(Blank() with { Seed = Dir.Seed }, 10);

        var resume = QemuCommandLine.Build(Blank() with { Seed = Dir.Seed }, 10, Dir.StateFile);

        Assert.Equal(start, resume.Take(start.Count));
    }

    [Fact]
    public void Build_Forwards_AreHostfwdsOfTheUserNetwork_OnTheForwardAddress()
    {
        var args = QemuCommandLine.Build(Blank() with { Forwards = [new(40022, 22), new(40080, 8080)], ForwardAddress = "127.0.0.1" }, 10);

        Assert.Equal("user,id=n0,hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:40080-:8080", args[args.ToList().IndexOf("-netdev") + 1]);
        Assert.Equal("user,id=n0", Line(QemuCommandLine.Build(Blank(), 10)).Split(' ').SkipWhile(a => a != "-netdev").ElementAt(1));
    }

    [Fact]
    public void Build_PrivateNic_IsATapNicWithTheMachinesMac_LastOfTheDevices_AndTheUserNicGetsTheDerivedMac()
    {
        var launch = Blank() with { Mac = "02:1a:2b:3c:4d:5e", Seed = Dir.Seed, Cdrom = "/data/blobs/sha256/abcd" };
        var without = QemuCommandLine.Build(launch, 10);

        var with = QemuCommandLine.Build(launch with { PrivateTap = "vt-6f1b0a2e6a55" }, 10);

        // Appended after the seed and the CD: every device before keeps its PCI slot; only the first NIC's MAC differs.
        Assert.Equal(without.Select(a => a.Replace("mac=02:1a", "mac=06:1a", StringComparison.Ordinal)), with.Take(without.Count));
        Assert.Equal([
            "-netdev", "tap,id=n1,ifname=vt-6f1b0a2e6a55,script=no,downscript=no",
            "-device", "virtio-net-pci,netdev=n1,mac=02:1a:2b:3c:4d:5e,host_mtu=1450",
        ], with.Skip(without.Count));
        Assert.Contains("virtio-net-pci,netdev=n0,mac=06:1a:2b:3c:4d:5e", with);
    }

    [Fact]
    public void Build_WithoutPrivateNic_IsExactlyAsBefore()
    {
        var args = QemuCommandLine.Build(Blank() with { Mac = "02:1a:2b:3c:4d:5e", Seed = Dir.Seed }, 10);

        Assert.Contains("virtio-net-pci,netdev=n0,mac=02:1a:2b:3c:4d:5e", args);
        Assert.DoesNotContain(args, a => a.Contains("tap", StringComparison.Ordinal) || a.Contains("n1", StringComparison.Ordinal));
        Assert.Equal(["-drive", $"file={Dir.Root}/seed.iso,if=virtio,format=raw,readonly=on"], args.Skip(args.Count - 2));
    }

    [Fact]
    public void Build_ResumeWithPrivateNic_IsTheStartPlusAPausedIncomingState()
    {
        var launch = Blank() with { Seed = Dir.Seed, PrivateTap = "vt-6f1b0a2e6a55" };
        var start = QemuCommandLine.Build(launch, 10);

        var resume = QemuCommandLine.Build(launch, 10, Dir.StateFile);

        Assert.Equal(start, resume.Take(start.Count));
        Assert.Equal(["-S", "-incoming", $"exec:cat '{Dir.Root}/state.bin'"], resume.Skip(start.Count));
    }
}
