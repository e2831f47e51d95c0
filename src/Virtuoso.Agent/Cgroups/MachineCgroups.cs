using System.Globalization;
using Virtuoso.Core.Machines;

namespace Virtuoso.Agent.Cgroups;

/// <summary>Which cgroup interface the host offers for CPU and memory.</summary>
internal enum CgroupVersion { None, V1, V2 }

/// <summary>A machine's limits as the kernel is told them: its CPU share and its memory ceiling.</summary>
internal sealed record CgroupLimits(CpuShare Cpu, long MemoryBytes)
{
    /// <summary>What QEMU needs beside the guest's RAM: its code, heap, device buffers and 16 MB of VGA memory
    /// (docs/operations.md has the measurement).</summary>
    public const long QemuOverheadMb = 128;

    /// <summary>
    /// The guest's memory, plus <see cref="QemuOverheadMb"/>, plus under TCG its translation cache
    /// (<see cref="Vmm.VmLaunch.TcgCacheMb"/>). A guest that fills its RAM meets its own kernel's OOM killer; QEMU
    /// stays under the ceiling, so neither the host's nor a neighbour's memory is touched.
    /// </summary>
    public static CgroupLimits For(CpuShare cpu, long memoryMb, string accelerator) =>
        new(cpu, (memoryMb + QemuOverheadMb + (accelerator == "tcg" ? Vmm.VmLaunch.TcgCacheMb : 0)) << 20);
}

/// <summary>What a machine's cgroup has counted: CPU time of all its threads, and memory charged to it now.</summary>
internal sealed record CgroupUsage(TimeSpan CpuTime, long MemoryBytes);

/// <summary>
/// Control groups for QEMU processes (design §12, issue 17: "each QEMU process (all its threads) in its own cgroup with a
/// CPU quota … created before QEMU starts and removed after it exits"). One cgroup per machine, named by its id, under
/// <see cref="Parent"/> in each hierarchy: cgroup v2's unified tree when it offers the cpu and memory controllers, else
/// v1's <c>cpu</c>, <c>cpuacct</c> and <c>memory</c> hierarchies (Debian 12 here has v1; most current hosts have v2).
/// QEMU joins before it execs (<see cref="JoinFiles"/>), so every thread it ever makes is counted. Without either
/// interface (not root, no controllers), <see cref="Version"/> is None and machines run without limits; the agent says so.
/// </summary>
internal sealed class MachineCgroups
{
    private readonly string? unified;
    private readonly string? cpu, cpuacct, memory;

    public CgroupVersion Version { get; }
    public string Parent { get; }

    private MachineCgroups(CgroupVersion version, string parent, string? unified, string? cpu, string? cpuacct, string? memory)
    {
        Version = version;
        Parent = parent;
        this.unified = unified;
        this.cpu = cpu;
        this.cpuacct = cpuacct;
        this.memory = memory;
    }

    public static MachineCgroups Disabled { get; } = new(CgroupVersion.None, "", null, null, null, null);

    /// <summary>
    /// Reads the mounts (<c>/proc/self/mounts</c>) and picks the interface. v2 is taken when its root lists both cpu and
    /// memory in <c>cgroup.controllers</c>; v1 when both a <c>cpu</c> and a <c>memory</c> hierarchy are mounted.
    /// </summary>
    public static MachineCgroups Detect(string mounts, string parent, Func<string, string?> readFile)
    {
        string? unified = null, cpu = null, cpuacct = null, memory = null;
        foreach (var line in mounts.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ');
            if (fields.Length < 4)
                continue;
            var (path, type, opts) = (Unescape(fields[1]), fields[2], fields[3].Split(','));
            if (type == "cgroup2")
                unified ??= path;
            else if (type == "cgroup")
            {
                if (opts.Contains("cpu")) cpu ??= path;
                if (opts.Contains("cpuacct")) cpuacct ??= path;
                if (opts.Contains("memory")) memory ??= path;
            }
        }
        if (unified is not null && readFile(Path.Combine(unified, "cgroup.controllers")) is { } controllers
            && controllers.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is var names
            && names.Contains("cpu") && names.Contains("memory"))
            return new MachineCgroups(CgroupVersion.V2, parent, unified, null, null, null);
        if (cpu is not null && memory is not null)
            return new MachineCgroups(CgroupVersion.V1, parent, null, cpu, cpuacct ?? cpu, memory);
        return Disabled;
    }

    /// <summary>The host's interface, from its mounts; <see cref="Disabled"/> when the agent cannot write there.</summary>
    public static MachineCgroups OfThisHost(string parent)
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
            return Disabled;
        return Detect(File.ReadAllText("/proc/self/mounts"), parent, ReadOrNull);
    }

    /// <summary>The directories of one machine's cgroup, one per hierarchy (v2: one).</summary>
    public IReadOnlyList<string> Directories(Guid id)
    {
        var name = id.ToString("D");
        return Version switch
        {
            CgroupVersion.V2 => [Path.Combine(unified!, Parent, name)],
            CgroupVersion.V1 => new[] { cpu!, cpuacct!, memory! }.Distinct().Select(root => Path.Combine(root, Parent, name)).ToList(),
            _ => [],
        };
    }

    /// <summary>The <c>cgroup.procs</c> files a process writes its pid to, to join machine <paramref name="id"/>'s cgroup.</summary>
    public IReadOnlyList<string> JoinFiles(Guid id) => Directories(id).Select(d => Path.Combine(d, "cgroup.procs")).ToList();

    /// <summary>Makes (or finds) machine <paramref name="id"/>'s cgroup and writes its limits. Throws IOException naming the file that failed.</summary>
    public void Prepare(Guid id, CgroupLimits limits)
    {
        if (Version == CgroupVersion.None)
            return;
        var share = limits.Cpu;
        var name = id.ToString("D");
        if (Version == CgroupVersion.V2)
        {
            // Controllers must be enabled for the children of every level down to the machine's cgroup.
            EnableControllers(unified!);
            var parent = Path.Combine(unified!, Parent);
            Directory.CreateDirectory(parent);
            EnableControllers(parent);
            var dir = Path.Combine(parent, name);
            Directory.CreateDirectory(dir);
            Write(dir, "cpu.max", $"{share.QuotaMicroseconds} {CpuShare.PeriodMicroseconds}");
            Write(dir, "cpu.weight", Num(share.Weight));
            Write(dir, "memory.max", Num(limits.MemoryBytes));
            // No swap: a guest cannot make its host swap (ignored where the kernel has no swap accounting).
            TryWrite(dir, "memory.swap.max", "0");
            return;
        }
        var cpuDir = Path.Combine(cpu!, Parent, name);
        Directory.CreateDirectory(cpuDir);
        Write(cpuDir, "cpu.cfs_period_us", Num(CpuShare.PeriodMicroseconds));
        Write(cpuDir, "cpu.cfs_quota_us", Num(share.QuotaMicroseconds));
        Write(cpuDir, "cpu.shares", Num(share.Shares));
        Directory.CreateDirectory(Path.Combine(cpuacct!, Parent, name));
        var memDir = Path.Combine(memory!, Parent, name);
        Directory.CreateDirectory(memDir);
        Write(memDir, "memory.limit_in_bytes", Num(limits.MemoryBytes));
        // memsw (memory + swap) only exists with swap accounting on; where it does, swap adds nothing.
        TryWrite(memDir, "memory.memsw.limit_in_bytes", Num(limits.MemoryBytes));
        TryWrite(memDir, "memory.swappiness", "0");
    }

    /// <summary>Moves a process that runs outside its machine's cgroup (one started before this agent kept cgroups) into it.</summary>
    public void Join(Guid id, int pid)
    {
        foreach (var file in JoinFiles(id))
            File.WriteAllText(file, Num(pid));
    }

    /// <summary>Whether process <paramref name="pid"/> is in machine <paramref name="id"/>'s cgroup in every hierarchy.</summary>
    public bool Holds(Guid id, int pid)
    {
        if (Version == CgroupVersion.None)
            return true;
        var procs = JoinFiles(id);
        return procs.All(file => ReadOrNull(file) is { } text
            && text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Contains(Num(pid)));
    }

    /// <summary>What machine <paramref name="id"/>'s cgroup has counted, or null when it has none.</summary>
    public CgroupUsage? Usage(Guid id)
    {
        var name = id.ToString("D");
        switch (Version)
        {
            case CgroupVersion.V2:
            {
                var dir = Path.Combine(unified!, Parent, name);
                if (ReadOrNull(Path.Combine(dir, "cpu.stat")) is not { } stat)
                    return null;
                var usec = stat.Split('\n').Select(l => l.Split(' ')).FirstOrDefault(f => f is ["usage_usec", _]) is [_, var v] ? long.Parse(v, CultureInfo.InvariantCulture) : 0;
                return new CgroupUsage(TimeSpan.FromMicroseconds(usec), ReadLong(Path.Combine(dir, "memory.current")));
            }
            case CgroupVersion.V1:
            {
                if (ReadOrNull(Path.Combine(cpuacct!, Parent, name, "cpuacct.usage")) is not { } ns)
                    return null;
                var nanoseconds = long.Parse(ns.Trim(), CultureInfo.InvariantCulture);
                return new CgroupUsage(TimeSpan.FromTicks(nanoseconds / 100), ReadLong(Path.Combine(memory!, Parent, name, "memory.usage_in_bytes")));
            }
            default:
                return null;
        }
    }

    /// <summary>The CPU limits written in machine <paramref name="id"/>'s cgroup: quota and period in microseconds, or null.</summary>
    public (long Quota, long Period)? CpuLimit(Guid id)
    {
        var name = id.ToString("D");
        if (Version == CgroupVersion.V2)
            return ReadOrNull(Path.Combine(unified!, Parent, name, "cpu.max"))?.Trim().Split(' ') is [var q, var p] && q != "max"
                ? (long.Parse(q, CultureInfo.InvariantCulture), long.Parse(p, CultureInfo.InvariantCulture)) : null;
        if (Version == CgroupVersion.V1 && ReadOrNull(Path.Combine(cpu!, Parent, name, "cpu.cfs_quota_us")) is { } quota
            && ReadOrNull(Path.Combine(cpu!, Parent, name, "cpu.cfs_period_us")) is { } period)
        {
            var qv = long.Parse(quota.Trim(), CultureInfo.InvariantCulture);
            return qv < 0 ? null : (qv, long.Parse(period.Trim(), CultureInfo.InvariantCulture));
        }
        return null;
    }

    /// <summary>
    /// Removes machine <paramref name="id"/>'s cgroup once no process is left in it. Returns false when a process still
    /// is (the caller removes it later); a cgroup that does not exist is removed already.
    /// </summary>
    public bool Remove(Guid id)
    {
        var removed = true;
        foreach (var dir in Directories(id))
        {
            try
            {
                Directory.Delete(dir);
            }
            catch (DirectoryNotFoundException)
            {
                // Never made, or removed before.
            }
            catch (IOException)
            {
                // EBUSY: a process is still in it.
                removed = false;
            }
        }
        return removed;
    }

    private static void EnableControllers(string dir)
    {
        var enabled = ReadOrNull(Path.Combine(dir, "cgroup.subtree_control")) ?? "";
        foreach (var controller in new[] { "cpu", "memory" })
            if (!enabled.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Contains(controller))
                Write(dir, "cgroup.subtree_control", "+" + controller);
    }

    private static void Write(string dir, string file, string value)
    {
        var path = Path.Combine(dir, file);
        try
        {
            File.WriteAllText(path, value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot write '{value}' to {path}: {e.Message}", e);
        }
    }

    private static void TryWrite(string dir, string file, string value)
    {
        var path = Path.Combine(dir, file);
        if (!File.Exists(path))
            return;
        try
        {
            File.WriteAllText(path, value);
        }
        catch (IOException)
        {
            // Optional knob the kernel refuses (no swap accounting): the required limits are written already.
        }
    }

    private static long ReadLong(string path) =>
        ReadOrNull(path) is { } text && long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0;

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string Num(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>/proc/self/mounts escapes space, tab, newline and backslash as octal.</summary>
    private static string Unescape(string field) =>
        field.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
             .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);
}
