using Microsoft.Extensions.Time.Testing;
using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Virtuoso.Agent.Migration.Methods.Rsync;
using Virtuoso.Agent.Tests.Support;

namespace Virtuoso.Agent.Tests.Migration.Methods.Rsync;

public sealed class RsyncDaemonsTests : IDisposable
{
    private readonly TestDirectory _dir = new();
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
    private readonly RsyncDaemons _daemons;
    private readonly string _machine;

    public RsyncDaemonsTests()
    {
        _daemons = new RsyncDaemons(Path.Combine(_dir.Path, "rsync"), "rsync", TimeSpan.FromMinutes(5), _ => true, _clock, NullLogger<RsyncDaemons>.Instance);
        _machine = _dir.Sub("machine");
        File.WriteAllText(Path.Combine(_machine, "disk.qcow2"), "disk bytes");
        File.WriteAllText(Path.Combine(_machine, "machine.json"), "{}");
    }

    public void Dispose()
    {
        _daemons.Dispose();
        _dir.Dispose();
    }

    private Task<RsyncSession> StartAsync(Guid id, string password = "token-1") =>
        _daemons.StartAsync(id, _machine, ["disk.qcow2"], IPAddress.Loopback, password, CancellationToken.None);

    [Fact]
    public async Task Daemon_RefusesAWrongPasswordAndServesOnlyExportedFiles()
    {
        var id = Guid.NewGuid();
        var session = await StartAsync(id);
        var url = $"rsync://{session.User}@127.0.0.1:{session.Port}/{session.Module}/";

        var (wrong, _) = RunRsync("not-the-token", url);
        var (right, listing) = RunRsync("token-1", url);

        Assert.NotEqual(0, wrong);
        Assert.Equal(0, right);
        Assert.Contains("disk.qcow2", listing);
        Assert.DoesNotContain("machine.json", listing);
    }

    [Fact]
    public async Task StartAsync_SameExportAgain_ReusesTheDaemon()
    {
        var id = Guid.NewGuid();
        var first = await StartAsync(id);
        var pid = _daemons.PidOf(id);

        var second = await StartAsync(id);

        Assert.Equal(first, second);
        Assert.Equal(pid, _daemons.PidOf(id));
    }

    [Fact]
    public async Task Stop_EndsTheDaemonAndDeletesItsSecrets()
    {
        var id = Guid.NewGuid();
        await StartAsync(id);
        var pid = _daemons.PidOf(id)!.Value;
        var home = Path.Combine(_dir.Path, "rsync", id.ToString("D"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(home, "secrets")));

        _daemons.Stop(id);

        Assert.Null(_daemons.PidOf(id));
        Assert.False(IsAlive(pid));
        Assert.False(Directory.Exists(home));
    }

    [Fact]
    public async Task StopIdle_AfterTheIdleTimeoutWithoutConnections_StopsTheDaemon()
    {
        var id = Guid.NewGuid();
        await StartAsync(id);
        var pid = _daemons.PidOf(id)!.Value;

        _clock.Advance(TimeSpan.FromMinutes(4));
        _daemons.StopIdle();
        Assert.Equal(pid, _daemons.PidOf(id));
        _clock.Advance(TimeSpan.FromMinutes(2));
        _daemons.StopIdle();

        Assert.Null(_daemons.PidOf(id));
        Assert.False(IsAlive(pid));
    }

    [Fact]
    public async Task StopIdle_WhenTheExportEnded_StopsTheDaemonAtOnce()
    {
        var exported = new HashSet<Guid>();
        using var daemons = new RsyncDaemons(Path.Combine(_dir.Path, "rsync-exports"), "rsync", TimeSpan.FromMinutes(5), exported.Contains,
            _clock, NullLogger<RsyncDaemons>.Instance);
        var id = Guid.NewGuid();
        exported.Add(id);
        await daemons.StartAsync(id, _machine, ["disk.qcow2"], IPAddress.Loopback, "t", CancellationToken.None);
        var pid = daemons.PidOf(id)!.Value;
        daemons.StopIdle();
        Assert.Equal(pid, daemons.PidOf(id));

        exported.Remove(id);
        daemons.StopIdle();

        Assert.Null(daemons.PidOf(id));
        Assert.False(IsAlive(pid));
    }

    [Fact]
    public async Task NewRegistry_KillsDaemonsLeftByADeadAgent()
    {
        var root = Path.Combine(_dir.Path, "rsync-leftover");
        var id = Guid.NewGuid();
        var dead = new RsyncDaemons(root, "rsync", TimeSpan.FromMinutes(5), _ => true, _clock, NullLogger<RsyncDaemons>.Instance);
        await dead.StartAsync(id, _machine, ["disk.qcow2"], IPAddress.Loopback, "t", CancellationToken.None);
        var pid = dead.PidOf(id)!.Value;
        for (var i = 0; i < 100 && !File.Exists(Path.Combine(root, id.ToString("D"), "pid")); i++)
            await Task.Delay(20);

        using var restarted = new RsyncDaemons(root, "rsync", TimeSpan.FromMinutes(5), _ => true, _clock, NullLogger<RsyncDaemons>.Instance);

        Assert.False(IsAlive(pid));
        Assert.Empty(Directory.GetDirectories(root));
        dead.Dispose();
    }

    [Fact]
    public void Config_ExposesOnlyTheExportedFilesReadOnlyWithoutChroot()
    {
        var config = RsyncDaemons.Config("/d/rsync/x", "/d/machines/x", ["disk.qcow2", "state.bin"], "/d/rsync/x/secrets");

        Assert.Contains("read only = yes", config);
        Assert.Contains("use chroot = no", config);
        Assert.Contains("auth users = virtuoso", config);
        Assert.Contains("secrets file = /d/rsync/x/secrets", config);
        Assert.Contains("include = /disk.qcow2 /state.bin", config);
        Assert.Contains("exclude = *", config);
    }

    private static bool IsAlive(int pid)
    {
        for (var i = 0; i < 50; i++)
        {
            var stat = $"/proc/{pid}/stat";
            if (!File.Exists(stat) || File.ReadAllText(stat).Split(' ')[2] == "Z")
                return false;
            Thread.Sleep(20);
        }
        return true;
    }

    private static (int ExitCode, string Output) RunRsync(string password, string url)
    {
        var start = new ProcessStartInfo("rsync") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--contimeout=5");
        start.ArgumentList.Add(url);
        start.Environment["RSYNC_PASSWORD"] = password;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit(30_000);
        return (process.ExitCode, output);
    }

}
