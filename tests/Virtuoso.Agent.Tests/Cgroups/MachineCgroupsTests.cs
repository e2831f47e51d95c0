using System.Diagnostics;
using Virtuoso.Agent.Cgroups;
using Virtuoso.Core.Machines;

namespace Virtuoso.Agent.Tests.Cgroups;

public sealed class MachineCgroupsTests
{
    private const string DebianV1 = """
        sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
        tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
        cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
        cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0
        cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
        cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
        """;

    private const string CombinedV1 = """
        cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0
        cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0
        """;

    private const string PureV2 = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot 0 0\n";

    private static readonly Guid Id = Guid.Parse("6f1b0a2e-6a55-4c4e-9d7a-1d2b3c4d5e6f");

    [Fact]
    public void Detect_V1_TakesEachControllersHierarchy()
    {
        // The hybrid layout of this Debian 12: v1 controllers, an empty unified tree.
        var cgroups = MachineCgroups.Detect(DebianV1, "virtuoso", path => path == "/sys/fs/cgroup/unified/cgroup.controllers" ? "hugetlb\n" : null);
        Assert.Equal(CgroupVersion.V1, cgroups.Version);
        Assert.Equal(
            [$"/sys/fs/cgroup/cpu/virtuoso/{Id:D}/cgroup.procs", $"/sys/fs/cgroup/cpuacct/virtuoso/{Id:D}/cgroup.procs", $"/sys/fs/cgroup/memory/virtuoso/{Id:D}/cgroup.procs"],
            cgroups.JoinFiles(Id));
    }

    [Fact]
    public void Detect_V1WithCpuAndCpuacctTogether_JoinsThatHierarchyOnce()
    {
        var cgroups = MachineCgroups.Detect(CombinedV1, "virtuoso", _ => null);
        Assert.Equal(CgroupVersion.V1, cgroups.Version);
        Assert.Equal([$"/sys/fs/cgroup/cpu,cpuacct/virtuoso/{Id:D}", $"/sys/fs/cgroup/memory/virtuoso/{Id:D}"], cgroups.Directories(Id));
    }

    [Fact]
    public void Detect_V2WithCpuAndMemory_IsOneTree()
    {
        var cgroups = MachineCgroups.Detect(PureV2, "virtuoso", path => path == "/sys/fs/cgroup/cgroup.controllers" ? "cpuset cpu io memory hugetlb pids rdma misc\n" : null);
        Assert.Equal(CgroupVersion.V2, cgroups.Version);
        Assert.Equal([$"/sys/fs/cgroup/virtuoso/{Id:D}/cgroup.procs"], cgroups.JoinFiles(Id));
    }

    [Fact]
    public void Detect_V2WithoutTheCpuController_IsNone()
    {
        var cgroups = MachineCgroups.Detect(PureV2, "virtuoso", _ => "memory pids\n");
        Assert.Equal(CgroupVersion.None, cgroups.Version);
        Assert.Empty(cgroups.JoinFiles(Id));
    }

    [Fact]
    public void Detect_NoCgroupMounts_IsNone()
    {
        Assert.Equal(CgroupVersion.None, MachineCgroups.Detect("proc /proc proc rw 0 0\n", "virtuoso", _ => null).Version);
    }

    [Fact]
    public void Limits_AreTheGuestsMemoryPlusQemusOverheadAndUnderTcgItsCache()
    {
        var share = new CpuShare(400, 1);
        Assert.Equal((256L + 128 + 128) << 20, CgroupLimits.For(share, 256, "tcg").MemoryBytes);
        Assert.Equal((256L + 128) << 20, CgroupLimits.For(share, 256, "kvm").MemoryBytes);
    }

    /// <summary>On this host's real cgroups (v1 here, v2 elsewhere): the quota holds a busy loop to its share.</summary>
    [CgroupFact]
    public async Task Prepare_ThenABusyLoopInside_UsesNoMoreThanItsShare()
    {
        var cgroups = MachineCgroups.OfThisHost("virtuoso-test");
        var id = Guid.NewGuid();
        var share = CpuShare.For(2000, 10000, 2); // 0.4 cores
        cgroups.Prepare(id, CgroupLimits.For(share, 64, "tcg"));
        try
        {
            Assert.Equal((40_000L, 100_000L), cgroups.CpuLimit(id));
            // The way QemuProcess launches: the shell joins, then execs the program.
            var join = string.Concat(cgroups.JoinFiles(id).Select(f => $"echo $$ >'{f}' || exit 125; "));
            using var busy = Process.Start("/bin/sh", ["-c", join + "exec timeout 3 sh -c 'while :; do :; done'"]);
            await Task.Delay(500);
            Assert.True(cgroups.Holds(id, busy.Id), "the process is not in its cgroup");
            await busy.WaitForExitAsync();
            var used = cgroups.Usage(id)!.CpuTime;
            // 3 s at 0.4 cores is 1.2 s; the kernel enforces per 100 ms period, so allow a few periods over.
            Assert.InRange(used.TotalSeconds, 0.6, 1.2 * 1.15);
            Assert.False(cgroups.Holds(id, busy.Id));
        }
        finally
        {
            for (var i = 0; i < 20 && !cgroups.Remove(id); i++)
                await Task.Delay(50);
        }
        Assert.All(cgroups.Directories(id), d => Assert.False(Directory.Exists(d), d));
        Assert.Null(cgroups.Usage(id));
    }

    [Fact]
    public void Remove_OfACgroupNeverMade_IsDone()
    {
        var cgroups = MachineCgroups.OfThisHost("virtuoso-test");
        Assert.True(cgroups.Remove(Guid.NewGuid()));
    }
}

/// <summary>A test that needs this host's cgroups: root and cpu and memory controllers (./test runs as root on Debian 12).</summary>
public sealed class CgroupFactAttribute : FactAttribute
{
    public CgroupFactAttribute()
    {
        if (MachineCgroups.OfThisHost("virtuoso-test").Version == CgroupVersion.None)
            Skip = "no writable cgroup v1 or v2 with the cpu and memory controllers here";
    }
}
