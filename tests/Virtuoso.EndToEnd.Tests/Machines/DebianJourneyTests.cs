using System.Diagnostics;
using System.Globalization;
using Virtuoso.EndToEnd.Tests.Support;
using Xunit.Abstractions;

namespace Virtuoso.EndToEnd.Tests.Machines;

/// <summary>
/// Issue 15 item 1 on real parts: a <c>debian-12</c> machine (guest/build-debian.sh's image, booted by GRUB from its own
/// disk, no <c>-kernel</c>) registered, stored and started through the real front-end and agent under TCG. Over plain SSH
/// with the buyer's key (cloud-init read it from the agent's NoCloud seed): Debian 12, the machine's name as hostname, a
/// root file system grown to the purchased disk. Then suspend, migrate to a second host and resume: the same boot goes
/// on there and SSH answers again.
/// </summary>
[Collection(RealQemu.Name)]
public sealed class DebianJourneyTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>systemd and cloud-init under TCG: about a minute on an idle 2-core host, two or more on a busy one.</summary>
    private static readonly TimeSpan Boot = TimeSpan.FromSeconds(300);

    private readonly string _keys = Directory.CreateTempSubdirectory("vt-e2e-debian-").FullName;

    public void Dispose() => Directory.Delete(_keys, recursive: true);

    [Fact]
    public async Task Debian12_BootsFromItsDisk_TakesNameKeysAndDiskFromTheMarket_AndSurvivesSuspendMigrateResume()
    {
        Assert.True(Repo.DebianImageBuilt, $"the debian-12 image is not built in {Repo.Images}: run guest/build-debian.sh (./test does)");
        var watch = Stopwatch.StartNew();
        await using var m = await Marketplace.StartAsync("alpha", "beta");
        (await m.CliAsync("p", "signup", "debian-provider", "--password", "provider-pass", "--email", "p@example.com", "--provider")).Ok();
        (await m.CliAsync("p", "login", "debian-provider", "--password", "provider-pass")).Ok();
        await AddHostAsync(m, m.Agents["alpha"], "45100-45109");
        await AddHostAsync(m, m.Agents["beta"], "45110-45119");
        (await m.CliAsync("b", "signup", "debian-buyer", "--password", "buyer-pass-1", "--email", "b@example.com", "--buyer")).Ok();
        (await m.CliAsync("b", "login", "debian-buyer", "--password", "buyer-pass-1")).Ok();
        var key = Path.Combine(_keys, "laptop");
        var keygen = await GuestSsh.ToolAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "laptop@test", "-f", key]);
        Assert.True(keygen.Code == 0, $"ssh-keygen failed: {keygen.Error}");
        (await m.CliAsync("b", "keys", "add", "laptop", "--file", key + ".pub")).Ok();

        var id = (await m.CliAsync("b", "--json", "register", "--config", "debian-12", "--name", "deb-journey",
            "--storage-bid", "30", "--running-bid", "3")).Ok().Json.GetProperty("id").GetGuid().ToString();
        (await m.CliAsync("b", "store", id, "--host", "alpha")).Ok();
        var started = Stopwatch.StartNew();
        (await m.CliAsync("b", "start", id)).Ok();
        var machine = (await m.CliAsync("b", "--json", "machine", id)).Ok().Json;
        var diskMb = machine.GetProperty("disk").GetInt64();
        Assert.Equal(4096, diskMb); // the configuration's disk, twice the image's 2048 MB: growpart has room to grow
        var (address, port) = SshOf(machine);

        var osRelease = await GuestSsh.WaitAsync(key, address, port, "cat /etc/os-release", Boot);
        output.WriteLine($"start to SSH: {started.Elapsed.TotalSeconds:0.0} s");
        Assert.Contains("VERSION_ID=\"12\"", osRelease);
        Assert.Contains("VERSION_CODENAME=bookworm", osRelease);
        Assert.Equal("deb-journey", (await RunOkAsync(key, address, port, "hostname")).Trim());
        // cloud-init's growpart and resizefs ran before sshd started: / is the purchased disk, less the 1 MiB before the
        // partition and ext4's own metadata.
        var rootMb = long.Parse((await RunOkAsync(key, address, port, "df --output=size -B1M / | tail -n 1")).Trim(), CultureInfo.InvariantCulture);
        Assert.True(rootMb >= diskMb * 9 / 10, $"/ is {rootMb} MB of a {diskMb} MB disk");
        var bootId = (await RunOkAsync(key, address, port, "cat /proc/sys/kernel/random/boot_id")).Trim();

        (await m.CliAsync("b", "suspend", id)).Ok();
        var migrated = (await m.CliAsync("b", "--json", "migrate", id, "--host", "beta", "--method", "DEDUP")).Ok().Json;
        Assert.Equal(("done", "beta"), (migrated.GetProperty("phase").GetString(), migrated.GetProperty("to").GetString()));
        var resumed = await m.CliAsync("b", "resume", id);
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        var (newAddress, newPort) = SshOf((await m.CliAsync("b", "--json", "machine", id)).Ok().Json);
        Assert.Equal(m.Agents["beta"].ForwardAddress, newAddress);
        // The same boot goes on on beta (not a reboot), still answering SSH with the buyer's key.
        Assert.Equal(bootId, await GuestSsh.WaitAsync(key, newAddress, newPort, "cat /proc/sys/kernel/random/boot_id", TimeSpan.FromSeconds(60)));
        Assert.Equal("deb-journey", (await RunOkAsync(key, newAddress, newPort, "hostname")).Trim());
        output.WriteLine($"whole journey: {watch.Elapsed.TotalSeconds:0.0} s");
    }

    private static (string Address, int Port) SshOf(System.Text.Json.JsonElement machine) =>
        (machine.GetProperty("ssh").GetProperty("address").GetString()!, machine.GetProperty("ssh").GetProperty("port").GetInt32());

    private static async Task<string> RunOkAsync(string key, string address, int port, string command)
    {
        var (code, text, error) = await GuestSsh.RunAsync(key, address, port, command);
        Assert.True(code == 0, $"ssh {command} failed ({code}): {error}");
        return text;
    }

    // Memory at 0.000001 $/s per 4 MB: the 512 MB machine runs for about 0.6 $/hour, under the buyer's bid of 3.
    private static async Task AddHostAsync(Marketplace m, Marketplace.Agent agent, string ports) =>
        (await m.CliAsync("p", "host", "add", agent.Name, "--address", "127.0.0.1", "--port", agent.Port.ToString(CultureInfo.InvariantCulture),
            "--processor", "x86_64", "--speed", "10000", "--speed-unit", "1000", "--speed-price", "0.00001", "--memory", "4096",
            "--memory-unit", "4", "--memory-price", "0.000001", "--running-period", "3600", "--storage", "20000", "--storage-unit", "100",
            "--storage-price", "0.01", "--storage-period", "30", "--connect-speed", "1Gbps", "--secret", agent.Secret,
            "--public-address", agent.ForwardAddress, "--ports", ports)).Ok();
}
