using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Virtuoso.Agent.Migration.Origin;

namespace Virtuoso.Agent.Migration.Methods.Rsync;

/// <summary>
/// What the origin answers to <c>POST /v1/transfer/{id}/rsync/session</c>: where its rsync daemon for the export listens.
/// The password is the migration token itself, which the destination already holds; it never travels here.
/// </summary>
/// <param name="Port">TCP port of the daemon, on the address the request came to.</param>
/// <param name="Module">Name of the read-only module holding the machine's files.</param>
/// <param name="User">The rsync user (<c>auth users</c>) to log in as.</param>
public sealed record RsyncSession(int Port, string Module, string User);

/// <summary>
/// The origin's rsync daemons (design §6.3 RSYNC), one per exported machine: <c>rsync --daemon --no-detach</c> as a
/// child of the agent, listening on loopback only (issue 20: the destination reaches it through <see cref="RsyncTunnel"/>), with one read-only module of the machine's files and
/// the migration token as the password of a generated user. A daemon is stopped by <see cref="Stop"/>, within
/// seconds of its export ending (unexport, retirement: the sweep asks the <see cref="ExportRegistry"/>), after
/// <see cref="IdleTimeout"/> without a connection as a safety net, at agent shutdown, and at the next start of the
/// agent if the agent died and left one behind. Files live in <c>&lt;data&gt;/rsync/&lt;machine&gt;/</c>.
/// </summary>
internal sealed partial class RsyncDaemons : IDisposable
{
    public const string Module = "machine";
    public const string User = "virtuoso";

    private readonly string _root;
    private readonly string _rsync;
    private readonly TimeProvider _time;
    private readonly ILogger<RsyncDaemons> _log;
    private readonly Lock _lock = new();
    private readonly Dictionary<Guid, Daemon> _daemons = [];
    private readonly ITimer _sweeper;
    private readonly Func<Guid, bool> _isExported;

    public RsyncDaemons(AgentOptions options, ExportRegistry exports, TimeProvider time, ILogger<RsyncDaemons> log)
        : this(Path.Combine(options.DataDirectory, "rsync"), "rsync", TimeSpan.FromMinutes(5), exports.IsExported, time, log) { }

    /// <param name="isExported">Whether a machine is still exported; a daemon whose export ended is stopped at the next sweep.</param>
    internal RsyncDaemons(string root, string rsync, TimeSpan idleTimeout, Func<Guid, bool> isExported, TimeProvider time, ILogger<RsyncDaemons> log)
    {
        _root = root;
        _rsync = rsync;
        _time = time;
        _log = log;
        _isExported = isExported;
        IdleTimeout = idleTimeout;
        KillLeftovers();
        var every = TimeSpan.FromSeconds(Math.Clamp(idleTimeout.TotalSeconds / 4, 1, 5));
        _sweeper = time.CreateTimer(_ => StopIdle(), null, every, every);
    }

    /// <summary>A daemon with no connection for this long is stopped even if nobody ended the export.</summary>
    public TimeSpan IdleTimeout { get; }

    /// <summary>Pid of the daemon of <paramref name="machine"/>, or null when none runs (for tests and status).</summary>
    public int? PidOf(Guid machine)
    {
        lock (_lock)
            return _daemons.TryGetValue(machine, out var d) && !d.Process.HasExited ? d.Process.Id : null;
    }

    /// <summary>The loopback port of the running daemon serving <paramref name="directory"/> for <paramref name="machine"/>, or null.</summary>
    public int? PortOf(Guid machine, string directory)
    {
        lock (_lock)
        {
            if (!_daemons.TryGetValue(machine, out var d) || d.Process.HasExited || d.Directory != directory)
                return null;
            d.LastActive = _time.GetUtcNow();
            return d.Port;
        }
    }

    /// <summary>
    /// Starts the daemon for an export, or returns the running one if it serves the same directory with the same
    /// password. <paramref name="address"/> is the agent's own address the destination reached it on.
    /// </summary>
    public async Task<RsyncSession> StartAsync(Guid machine, string directory, IReadOnlyList<string> files, IPAddress address, string password, CancellationToken ct)
    {
        lock (_lock)
        {
            if (_daemons.TryGetValue(machine, out var running))
            {
                if (!running.Process.HasExited && running.Directory == directory && running.Password == password && running.Address.Equals(address))
                {
                    running.LastActive = _time.GetUtcNow();
                    return new RsyncSession(running.Port, Module, User);
                }
                StopLocked(machine, "replaced by a new session");
            }
        }
        var home = Path.Combine(_root, machine.ToString("D"));
        Directory.CreateDirectory(home);
        var secrets = Path.Combine(home, "secrets");
        // rsync refuses a secrets file that others can read (strict modes); create it 600 before writing the token.
        File.WriteAllText(secrets, "");
        File.SetUnixFileMode(secrets, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(secrets, $"{User}:{password}\n");
        var config = Path.Combine(home, "rsyncd.conf");
        File.WriteAllText(config, Config(home, directory, files, secrets));

        // A free port is picked by binding port 0; another process may take it before rsync binds, so try a few.
        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var port = FreePort(address);
            var process = Launch(config, address, port);
            try
            {
                await WaitListeningAsync(process, address, port, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Kill(process);
                last = e;
                continue;
            }
            catch
            {
                Kill(process);
                throw;
            }
            lock (_lock)
            {
                if (_daemons.ContainsKey(machine))
                    StopLocked(machine, "replaced by a concurrent session");
                _daemons[machine] = new Daemon(process, directory, password, address, port, home) { LastActive = _time.GetUtcNow() };
            }
            RsyncLog.DaemonStarted(_log, machine, process.Id, address.ToString(), port);
            return new RsyncSession(port, Module, User);
        }
        throw new IOException($"rsync daemon for {machine:D} did not start on {address}: {last?.Message}");
    }

    /// <summary>Stops the daemon of <paramref name="machine"/> and its connections, if any (the export ended).</summary>
    public void Stop(Guid machine)
    {
        lock (_lock)
            StopLocked(machine, "export ended");
    }

    public void Dispose()
    {
        _sweeper.Dispose();
        lock (_lock)
            foreach (var machine in _daemons.Keys.ToList())
                StopLocked(machine, "agent stopping");
    }

    internal void StopIdle()
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            foreach (var (machine, daemon) in _daemons.ToList())
            {
                if (daemon.Process.HasExited)
                    StopLocked(machine, "exited");
                else if (!_isExported(machine))
                    StopLocked(machine, "export ended");
                else if (HasConnections(daemon.Process.Id))
                    daemon.LastActive = now;
                else if (now - daemon.LastActive >= IdleTimeout)
                    StopLocked(machine, $"idle for {IdleTimeout.TotalSeconds:0} s");
            }
        }
    }

    private void StopLocked(Guid machine, string reason)
    {
        if (!_daemons.Remove(machine, out var daemon))
            return;
        var pid = daemon.Process.HasExited ? -1 : daemon.Process.Id;
        Kill(daemon.Process);
        daemon.Process.Dispose();
        if (Directory.Exists(daemon.Home))
            Directory.Delete(daemon.Home, recursive: true);
        RsyncLog.DaemonStopped(_log, machine, pid, reason);
    }

    internal static string Config(string home, string directory, IReadOnlyList<string> files, string secrets)
    {
        // Only the exported files are visible; the rest of the machine directory (machine.json, sockets) is not.
        var text = new StringBuilder();
        text.AppendLine("# Generated by virtuoso-agent for one migration; deleted when the export ends.");
        text.AppendLine(CultureInfo.InvariantCulture, $"pid file = {home}/pid");
        text.AppendLine(CultureInfo.InvariantCulture, $"log file = {home}/rsyncd.log");
        text.AppendLine("use chroot = no");
        text.AppendLine(CultureInfo.InvariantCulture, $"uid = {GetUid()}");
        text.AppendLine(CultureInfo.InvariantCulture, $"gid = {GetGid()}");
        text.AppendLine("reverse lookup = no");
        text.AppendLine("max connections = 4");
        text.AppendLine("timeout = 120");
        text.AppendLine(CultureInfo.InvariantCulture, $"lock file = {home}/lock");
        text.AppendLine(CultureInfo.InvariantCulture, $"[{Module}]");
        text.AppendLine(CultureInfo.InvariantCulture, $"path = {directory}");
        text.AppendLine("read only = yes");
        text.AppendLine("list = no");
        text.AppendLine(CultureInfo.InvariantCulture, $"auth users = {User}");
        text.AppendLine(CultureInfo.InvariantCulture, $"secrets file = {secrets}");
        text.AppendLine("strict modes = yes");
        text.AppendLine(CultureInfo.InvariantCulture, $"include = {string.Join(' ', files.Select(f => "/" + f))}");
        text.AppendLine("exclude = *");
        return text.ToString();
    }

    private Process Launch(string config, IPAddress address, int port)
    {
        var start = new ProcessStartInfo(_rsync)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--daemon", "--no-detach", "--port", port.ToString(CultureInfo.InvariantCulture), "--address", address.ToString(), "--config", config })
            start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new IOException($"cannot start {_rsync}");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitListeningAsync(Process process, IPAddress address, int port, CancellationToken ct)
    {
        // Watch the kernel's socket table rather than connect: a probe connection would fork a daemon child that
        // lingers and looks like a transfer under way.
        var deadline = Stopwatch.StartNew();
        while (!IsListening(port))
        {
            if (process.HasExited)
                throw new IOException($"rsync --daemon exited with {process.ExitCode} at start");
            if (deadline.Elapsed > TimeSpan.FromSeconds(10))
                throw new TimeoutException($"rsync --daemon did not listen on {address}:{port} within 10 s");
            await Task.Delay(20, ct);
        }
    }

    /// <summary>Whether some socket listens on TCP <paramref name="port"/> (/proc/net/tcp and tcp6, state 0A).</summary>
    internal static bool IsListening(int port)
    {
        var hex = $":{port:X4} ";
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table))
                continue;
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                // "  sl  local_address rem_address   st ..."; the local address is field 1, the state field 3.
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 3 && fields[3] == "0A" && (fields[1] + " ").EndsWith(hex, StringComparison.Ordinal))
                    return true;
            }
        }
        return false;
    }

    private static int FreePort(IPAddress address)
    {
        using var listener = new TcpListener(address, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true); // its forked connection handlers too
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <summary>The daemon forks one child per connection; any child means a transfer is under way.</summary>
    private static bool HasConnections(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/task/{pid}/children").Trim().Length > 0;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Kills daemons a previous run of the agent left behind (it died without stopping them), by their pid files.</summary>
    private void KillLeftovers()
    {
        if (!Directory.Exists(_root))
            return;
        foreach (var home in Directory.GetDirectories(_root))
        {
            var pidFile = Path.Combine(home, "pid");
            if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                string commandLine;
                try
                {
                    commandLine = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
                }
                catch (IOException)
                {
                    commandLine = ""; // not running any more
                }
                if (commandLine.Contains(Path.Combine(home, "rsyncd.conf"), StringComparison.Ordinal))
                {
                    try
                    {
                        using var process = Process.GetProcessById(pid);
                        Kill(process);
                        RsyncLog.LeftoverKilled(_log, pid);
                    }
                    catch (ArgumentException)
                    {
                        // It exited between the check and the kill.
                    }
                }
            }
            Directory.Delete(home, recursive: true);
        }
    }

    [LibraryImport("libc", EntryPoint = "getuid")]
    private static partial uint GetUid();

    [LibraryImport("libc", EntryPoint = "getgid")]
    private static partial uint GetGid();

    private sealed record Daemon(Process Process, string Directory, string Password, IPAddress Address, int Port, string Home)
    {
        public DateTimeOffset LastActive { get; set; }
    }
}
