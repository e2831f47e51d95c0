using System.Diagnostics;
using System.Globalization;
using Virtuoso.EndToEnd.Tests.Support;
using Xunit.Abstractions;

namespace Virtuoso.EndToEnd.Tests.Machines;

/// <summary>
/// Issue 17 on real parts: a machine that bought 2000 of its host's 10000 bogomips runs its QEMU in a cgroup whose quota is
/// 2000 ÷ 10000 × the host's cores; a busy loop in the guest, started over SSH, is held to that share as the kernel counts
/// it (the cgroup's own CPU time over 10 s); the buyer sees the share and the use; the cgroup is gone after the stop.
/// </summary>
[Collection(RealQemu.Name)]
public sealed class CpuShareJourneyTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _keys = Directory.CreateTempSubdirectory("vt-e2e-cpu-").FullName;

    public void Dispose() => Directory.Delete(_keys, recursive: true);

    /// <summary>Above the share the kernel may let through a little: it enforces per 100 ms period, and a reading straddles periods.</summary>
    private const decimal Allowance = 0.05m;

    [Fact]
    public async Task BusyGuest_UsesNoMoreThanTheShareItBought_AndTheBuyerSeesBoth()
    {
        Assert.True(Repo.GuestImageBuilt, $"the guest image is not built in {Repo.Images}: run guest/build-image.sh (./test does)");
        Assert.True(Cgroup.Available, "no cgroup v1 or v2 with the cpu controller here");
        await using var m = await Marketplace.StartAsync("alpha");
        var alpha = m.Agents["alpha"];
        (await m.CliAsync("p", "signup", "cpu-provider", "--password", "provider-pass", "--email", "p@example.com", "--provider")).Ok();
        (await m.CliAsync("p", "login", "cpu-provider", "--password", "provider-pass")).Ok();
        (await m.CliAsync("p", "host", "add", "alpha", "--address", "127.0.0.1", "--port", alpha.Port.ToString(CultureInfo.InvariantCulture), "--processor", "x86_64",
            "--speed", "10000", "--speed-unit", "1000", "--speed-price", "0.00001", "--memory", "4096", "--memory-unit", "4",
            "--memory-price", "0.00001", "--running-period", "3600", "--storage", "20000", "--storage-unit", "100",
            "--storage-price", "0.01", "--storage-period", "30", "--connect-speed", "1Gbps", "--secret", alpha.Secret,
            "--public-address", alpha.ForwardAddress, "--ports", "47000-47009")).Ok();
        (await m.CliAsync("b", "signup", "cpu-buyer", "--password", "buyer-pass-1", "--email", "b@example.com", "--buyer")).Ok();
        (await m.CliAsync("b", "login", "cpu-buyer", "--password", "buyer-pass-1")).Ok();
        var key = Path.Combine(_keys, "laptop");
        Assert.Equal(0, (await GuestSsh.ToolAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key])).Code);
        (await m.CliAsync("b", "keys", "add", "laptop", "--file", key + ".pub")).Ok();

        var id = (await m.CliAsync("b", "--json", "register", "--config", "linux-busybox", "--name", "spinner", "--speed", "2000",
            "--storage-bid", "30", "--running-bid", "3")).Ok().Json.GetProperty("id").GetGuid();
        (await m.CliAsync("b", "store", id.ToString(), "--host", "alpha")).Ok();
        (await m.CliAsync("b", "start", id.ToString())).Ok();

        // 2000 of 10000 bogomips on this host's cores (the agent's default --cores): 0.4 cores on a 2-core host.
        var share = Math.Round(2000m / 10000m * Environment.ProcessorCount, 3);
        var onAgent = await m.AgentMachineAsync("alpha", id);
        Assert.Equal((share * 1000, (int)Math.Ceiling(share)), ((decimal?)onAgent.CpuMillicores, onAgent.Vcpus));
        var pid = onAgent.Pid!.Value;
        Assert.Contains(id.ToString("D"), File.ReadAllText($"/proc/{pid}/cgroup"));
        Assert.Equal((long)(share * 100_000), Cgroup.QuotaMicroseconds(id));

        var json = (await m.CliAsync("b", "--json", "machine", id.ToString())).Ok().Json;
        var (address, port) = (json.GetProperty("ssh").GetProperty("address").GetString()!, json.GetProperty("ssh").GetProperty("port").GetInt32());
        Assert.Equal("spinner", await GuestSsh.WaitAsync(key, address, port, "cat /etc/hostname"));

        // A loop that burns all it may for 25 s, in the foreground of its own ssh session; measured over 10 s in the middle.
        var spin = GuestSsh.RunAsync(key, address, port,
            "end=$(($(date +%s) + 25)); while [ $(date +%s) -lt $end ]; do :; done; echo spun", TimeSpan.FromSeconds(90));
        await Task.Delay(TimeSpan.FromSeconds(5));
        var (before, started) = (Cgroup.CpuTime(id), Stopwatch.GetTimestamp());
        await Task.Delay(TimeSpan.FromSeconds(10));
        var used = (decimal)((Cgroup.CpuTime(id) - before).TotalSeconds / Stopwatch.GetElapsedTime(started).TotalSeconds);
        output.WriteLine($"share {share} cores; the busy guest's cgroup used {used:0.000} cores over 10 s");
        Assert.InRange(used, share / 2, share * 1.15m + Allowance);

        // The buyer sees the share and what the host measured, the use within the share (the monitor copies it every few seconds).
        var watch = Stopwatch.StartNew();
        System.Text.Json.JsonElement shown;
        while (true)
        {
            shown = (await m.CliAsync("b", "--json", "machine", id.ToString())).Ok().Json;
            if (shown.TryGetProperty("cpuUsed", out var u) && u.ValueKind == System.Text.Json.JsonValueKind.Number && u.GetDecimal() > share / 4) break;
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"cpuUsed never showed the busy guest: {shown}");
            await Task.Delay(500);
        }
        Assert.Equal(share, shown.GetProperty("cpuShare").GetDecimal());
        Assert.InRange(shown.GetProperty("cpuUsed").GetDecimal(), 0, share * 1.15m + Allowance);
        Assert.Contains($"of {share:0.###} cores", (await m.CliAsync("b", "machine", id.ToString())).Ok().Stdout);
        var spun = await spin;
        Assert.True(spun.Code == 0 && spun.Output.Contains("spun", StringComparison.Ordinal), $"the loop did not finish: {spun.Error}");

        // Memory (issue 17 item 2): a guest program that takes all the memory it can meets the guest's own limits (its
        // kernel's OOM killer, or a failed allocation); QEMU stays under its cgroup's ceiling and the guest runs on.
        var hog = await GuestSsh.RunAsync(key, address, port, "awk 'BEGIN { s = \"x\"; while (1) s = s s }'; echo exit=$?; dmesg | grep -ci 'out of memory' || true", TimeSpan.FromSeconds(90));
        output.WriteLine($"memory hog in the guest: {hog.Output.Trim().Replace('\n', ' ')} {hog.Error.Trim()}");
        Assert.Contains("exit=", hog.Output);
        Assert.DoesNotContain("exit=0", hog.Output);
        Assert.Equal("spinner", await GuestSsh.WaitAsync(key, address, port, "cat /etc/hostname"));
        Assert.Equal(pid, (await m.AgentMachineAsync("alpha", id)).Pid);
        var (peak, limit, failures) = Cgroup.Memory(id);
        output.WriteLine($"QEMU's cgroup: peak {peak >> 20} MB of its {limit >> 20} MB ceiling (256 MB guest), {failures} failed charges");
        Assert.InRange(peak, 1, limit);
        Assert.Equal(0, failures);

        (await m.CliAsync("b", "stop", id.ToString())).Ok();
        Assert.False(Cgroup.Exists(id), "the machine's cgroup outlived its QEMU");
    }

    /// <summary>The machine's cgroup as this host has it (v1 here; v2 on most current hosts), read directly.</summary>
    private static class Cgroup
    {
        private static readonly bool V2 = File.Exists("/sys/fs/cgroup/cgroup.controllers")
            && File.ReadAllText("/sys/fs/cgroup/cgroup.controllers").Split(' ', StringSplitOptions.TrimEntries).Contains("cpu");

        public static bool Available => V2 || Directory.Exists("/sys/fs/cgroup/cpu");

        private static string Dir(string controller, Guid id) =>
            V2 ? $"/sys/fs/cgroup/virtuoso/{id:D}" : $"/sys/fs/cgroup/{controller}/virtuoso/{id:D}";

        public static bool Exists(Guid id) => Directory.Exists(Dir("cpu", id)) || Directory.Exists(Dir("cpuacct", id));

        public static long QuotaMicroseconds(Guid id) => V2
            ? long.Parse(File.ReadAllText(Dir("cpu", id) + "/cpu.max").Split(' ')[0], CultureInfo.InvariantCulture)
            : long.Parse(File.ReadAllText(Dir("cpu", id) + "/cpu.cfs_quota_us").Trim(), CultureInfo.InvariantCulture);

        /// <summary>The most memory charged to the cgroup, its ceiling, and how often a charge hit the ceiling (v1: failcnt; v2: max events).</summary>
        public static (long Peak, long Limit, long Failures) Memory(Guid id)
        {
            if (V2)
            {
                var dir = Dir("memory", id);
                var peak = File.Exists(dir + "/memory.peak") ? long.Parse(File.ReadAllText(dir + "/memory.peak").Trim(), CultureInfo.InvariantCulture)
                    : long.Parse(File.ReadAllText(dir + "/memory.current").Trim(), CultureInfo.InvariantCulture);
                var max = File.ReadAllLines(dir + "/memory.events").First(l => l.StartsWith("max ", StringComparison.Ordinal))[4..];
                return (peak, long.Parse(File.ReadAllText(dir + "/memory.max").Trim(), CultureInfo.InvariantCulture), long.Parse(max, CultureInfo.InvariantCulture));
            }
            long Read(string file) => long.Parse(File.ReadAllText(Dir("memory", id) + "/" + file).Trim(), CultureInfo.InvariantCulture);
            return (Read("memory.max_usage_in_bytes"), Read("memory.limit_in_bytes"), Read("memory.failcnt"));
        }

        public static TimeSpan CpuTime(Guid id) => V2
            ? TimeSpan.FromMicroseconds(long.Parse(File.ReadAllLines(Dir("cpu", id) + "/cpu.stat").First(l => l.StartsWith("usage_usec ", StringComparison.Ordinal))[11..], CultureInfo.InvariantCulture))
            : TimeSpan.FromTicks(long.Parse(File.ReadAllText(Dir("cpuacct", id) + "/cpuacct.usage").Trim(), CultureInfo.InvariantCulture) / 100);
    }
}
