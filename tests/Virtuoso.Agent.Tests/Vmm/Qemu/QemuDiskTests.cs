using Virtuoso.Agent.Cgroups;
using Microsoft.Extensions.Logging.Abstractions;
using Virtuoso.Agent.Images;
using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Migration.Methods.Dedup;
using Virtuoso.Agent.Tests.Migration.Methods;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Agent.Vmm.Qemu;

namespace Virtuoso.Agent.Tests.Vmm.Qemu;

/// <summary>Copy-on-write disks with real qemu-img: the base image is named by a path that is the same on every host.</summary>
public sealed class QemuDiskTests : IDisposable
{
    private readonly TestDirectory _dir = new();
    private readonly QemuVmm _vmm;
    private readonly CachedImage _image;

    public QemuDiskTests()
    {
        _vmm = new QemuVmm(TestOptions.For(_dir.Path), TimeProvider.System, MachineCgroups.Disabled, NullLogger<QemuVmm>.Instance);
        var imageDir = _dir.Sub(Path.Combine("images", "base"));
        TestFiles.Run("qemu-img", "create", "-q", "-f", "qcow2", Path.Combine(imageDir, "disk.qcow2"), "16M");
        _image = new CachedImage(imageDir, new ImageManifest("base", null, null, "disk.qcow2", null, 128, 16));
    }

    public void Dispose() => _dir.Dispose();

    private MachineDirectory Machine(string kind) => new(_dir.Sub(Path.Combine(kind, Guid.NewGuid().ToString("D"))));

    [Fact]
    public async Task CreateDisk_NamesTheBaseImageRelativeToTheMachinesFolder()
    {
        var machine = Machine("machines");

        await _vmm.CreateDiskAsync(machine, 32, _image);

        Assert.Equal("../../images/base/disk.qcow2", QemuVmm.ReadBackingFile(machine.Disk));
        Assert.Contains("\"virtual-size\": 33554432", TestFiles.Run("qemu-img", "info", "--output=json", machine.Disk));
    }

    [Fact]
    public async Task RebaseDisk_AlreadyNamingTheBase_LeavesTheFileUntouched()
    {
        // A disk arriving from another host with the same layout keeps its bytes and mtime, so remembered hashes hold.
        var machine = Machine("incoming");
        await _vmm.CreateDiskAsync(machine, 32, _image);
        var before = NativeFile.Identify(machine.Disk);
        await Task.Delay(20);

        await _vmm.RebaseDiskAsync(machine, _image);

        Assert.Equal(before, NativeFile.Identify(machine.Disk));
    }

    [Fact]
    public async Task RebaseDisk_NamingAnotherPath_IsPointedAtThisHostsBase()
    {
        var machine = Machine("incoming");
        TestFiles.Run("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", "/elsewhere/images/base/disk.qcow2", "-F", "qcow2", machine.Disk, "32M");

        await _vmm.RebaseDiskAsync(machine, _image);

        Assert.Equal("../../images/base/disk.qcow2", QemuVmm.ReadBackingFile(machine.Disk));
        TestFiles.Run("qemu-img", "check", machine.Disk); // opens the chain: the relative path resolves
    }
}
