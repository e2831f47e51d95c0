using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Virtuoso.Agent.Cgroups;
using Virtuoso.Agent.Images;
using Virtuoso.Agent.Machines;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Vmm.Qemu;

/// <summary>
/// <see cref="IVmm"/> over real QEMU: <c>qemu-img</c> for disks, <c>qemu-system-x86_64</c> processes, QMP for
/// control. Suspend streams the paused guest's memory over a unix socket to the agent, which writes
/// <c>state.tmp</c>, fsyncs it and renames it to <c>state.bin</c>; resume feeds it back with <c>-incoming</c>.
/// Each QEMU runs in its machine's cgroup (<see cref="MachineCgroups"/>, issue 17), made before it starts and removed
/// once it has exited.
/// </summary>
internal sealed class QemuVmm(AgentOptions options, TimeProvider time, MachineCgroups cgroups, ILogger<QemuVmm> log) : IVmm
{
    // After 'quit', or after SIGKILL, QEMU is gone within milliseconds; this is a generous bound.
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(10);

    public async Task CreateDiskAsync(MachineDirectory dir, long diskMb, CachedImage? image)
    {
        List<string> args = ["create", "-q", "-f", "qcow2"];
        if (image is not null)
            args.AddRange(["-b", BackingPath(dir, image), "-F", "qcow2"]);
        args.AddRange([dir.Disk, $"{diskMb}M"]);
        await RunToolAsync(options.QemuImgPath, args, TimeSpan.FromSeconds(60));
    }

    /// <summary>
    /// Rewrites the disk's header only when its backing path is not already the one this host would write: a disk that
    /// arrives with the same relative path (every host lays out its data directory alike) is not touched, so its
    /// bytes, its mtime and every hash remembered of it (<c>Migration/Methods/Dedup/BlockIndexStore</c>) stay valid.
    /// </summary>
    public Task RebaseDiskAsync(MachineDirectory dir, CachedImage image)
    {
        var backing = BackingPath(dir, image);
        return ReadBackingFile(dir.Disk) == backing
            ? Task.CompletedTask
            : RunToolAsync(options.QemuImgPath, ["rebase", "-u", "-F", "qcow2", "-b", backing, dir.Disk], TimeSpan.FromSeconds(60));
    }

    /// <summary>
    /// The base image as a path relative to the machine's directory (qcow2 resolves it from the overlay's folder).
    /// Machine, staging and cache directories all sit at <c>&lt;data&gt;/&lt;kind&gt;/&lt;id&gt;/</c>, so the path
    /// stays right when a directory is renamed among them and is the same on every host.
    /// </summary>
    private static string BackingPath(MachineDirectory dir, CachedImage image) => Path.GetRelativePath(dir.Root, image.Disk);

    private static ReadOnlySpan<byte> Qcow2Magic => [(byte)'Q', (byte)'F', (byte)'I', 0xFB];

    /// <summary>The backing file name recorded in a qcow2 header (bytes 8..20: offset and length), or null.</summary>
    internal static string? ReadBackingFile(string disk)
    {
        using var file = File.OpenHandle(disk, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        Span<byte> header = stackalloc byte[20];
        if (RandomAccess.Read(file, header, 0) != header.Length || !header[..4].SequenceEqual(Qcow2Magic))
            return null;
        var offset = System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(header[8..]);
        var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header[16..]);
        if (offset <= 0 || length is <= 0 or > 1023)
            return null;
        var name = new byte[length];
        return RandomAccess.Read(file, name, offset) == length ? System.Text.Encoding.UTF8.GetString(name) : null;
    }

    public int? FindProcess(MachineDirectory dir, Guid id) => QemuProcess.Find(dir, id);

    public async Task<GuestStatus> QueryStatusAsync(MachineDirectory dir)
    {
        try
        {
            await using var qmp = await QmpClient.ConnectAsync(dir.QmpSocket, options.QmpTimeout);
            return ToGuestStatus(await StatusAsync(qmp));
        }
        catch (VmmException e)
        {
            AgentLog.QmpUnreachable(log, dir.Root, e.Message);
            return GuestStatus.Unknown;
        }
    }

    public async Task<VmmRun> StartAsync(VmLaunch launch)
    {
        var display = QemuProcess.FreeVncDisplay(options.VncBaseDisplay);
        var (pid, qmp) = await LaunchAsync(launch, QemuCommandLine.Build(launch, display));
        await using (qmp)
        {
            try
            {
                var status = await StatusAsync(qmp);
                if (status != "running")
                    throw new VmmException($"QEMU of machine {launch.Id:D} started but its guest is '{status}', not running");
                return new VmmRun(pid, await VncDisplayAsync(qmp));
            }
            catch (VmmException)
            {
                await KillAsync(pid, launch.Id);
                throw;
            }
        }
    }

    private static readonly TimeSpan PowerButtonInterval = TimeSpan.FromSeconds(2);

    public async Task StopAsync(MachineDirectory dir, Guid id, TimeSpan graceful)
    {
        await PowerOffAsync(dir, id, graceful);
        // However QEMU ended (the guest powered off, or QEMU quit or was killed), its cgroup is empty now.
        await RemoveCgroupAsync(id);
    }

    private async Task PowerOffAsync(MachineDirectory dir, Guid id, TimeSpan graceful)
    {
        if (QemuProcess.Find(dir, id) is not { } pid)
            return;
        if (graceful > TimeSpan.Zero)
        {
            // Press the power button every couple of seconds: a guest still booting drops a press that comes
            // before its button driver and acpid are up (docs/guest.md); extra presses are harmless.
            var deadline = time.GetUtcNow() + graceful;
            try
            {
                await using var qmp = await QmpClient.ConnectAsync(dir.QmpSocket, options.QmpTimeout);
                while (time.GetUtcNow() < deadline)
                {
                    await qmp.ExecuteAsync("system_powerdown");
                    var wait = TimeSpan.FromTicks(Math.Min(PowerButtonInterval.Ticks, Math.Max(0, (deadline - time.GetUtcNow()).Ticks)));
                    if (await QemuProcess.WaitForExitAsync(pid, id, wait))
                        return;
                }
            }
            catch (VmmException e)
            {
                AgentLog.QmpUnreachable(log, dir.Root, e.Message);
                if (await QemuProcess.WaitForExitAsync(pid, id, TimeSpan.FromTicks(Math.Max(0, (deadline - time.GetUtcNow()).Ticks))))
                    return;
            }
            // Expected for a blank machine: with no OS nothing answers the ACPI power button.
            AgentLog.PowerdownTimedOut(log, id, graceful.TotalSeconds);
        }
        await QuitAsync(dir, pid, id);
    }

    public async Task SuspendAsync(MachineDirectory dir, Guid id, Action commit)
    {
        if (QemuProcess.Find(dir, id) is not { } pid)
            throw new VmmException($"QEMU of machine {id:D} is not running");
        await using var qmp = await QmpClient.ConnectAsync(dir.QmpSocket, options.QmpTimeout);
        var saved = false;
        try
        {
            await SaveStateAsync(qmp, dir, id);
            saved = true;
            commit();
        }
        catch (Exception e) when (e is VmmException or IOException or UnauthorizedAccessException or SocketException)
        {
            // §6.3.4: a failed suspend leaves the machine running. The state file goes first, so a crash in
            // between can never leave a state the guest has run past (see Recovery).
            await RollBackSuspendAsync(qmp, dir, id, saved, e);
            throw;
        }
        await QuitAsync(dir, pid, id, qmp);
    }

    public async Task<VmmRun> ResumeAsync(VmLaunch launch, Action<VmmRun> commit)
    {
        var dir = launch.Dir;
        if (!File.Exists(dir.StateFile))
            throw new VmmException($"machine {launch.Id:D} has no saved state {dir.StateFile}");
        var display = QemuProcess.FreeVncDisplay(options.VncBaseDisplay);
        var (pid, qmp) = await LaunchAsync(launch, QemuCommandLine.Build(launch, display, dir.StateFile));
        await using (qmp)
        {
            VmmRun run;
            try
            {
                await WaitForLoadedStateAsync(qmp, dir, pid, launch.Id);
                run = new VmmRun(pid, await VncDisplayAsync(qmp));
                commit(run);
            }
            catch (Exception e) when (e is VmmException or IOException or UnauthorizedAccessException)
            {
                // Not committed: the machine stays suspended, and its state file is untouched.
                await KillAsync(pid, launch.Id);
                throw;
            }
            // Committed as running: the saved state is spent before the guest runs (see Recovery).
            File.Delete(dir.StateFile);
            AtomicFile.SyncDirectory(dir.Root);
            await qmp.ExecuteAsync("cont");
            return run;
        }
    }

    public async Task ContinueAsync(MachineDirectory dir)
    {
        await using var qmp = await QmpClient.ConnectAsync(dir.QmpSocket, options.QmpTimeout);
        await qmp.ExecuteAsync("cont");
    }

    public async Task SetVncPasswordAsync(MachineDirectory dir, string password, TimeSpan admitsFor)
    {
        await using var qmp = await QmpClient.ConnectAsync(dir.QmpSocket, options.QmpTimeout);
        // QEMU 7.2 QMP: set_password {protocol: vnc, password} (connected may only be "keep" for VNC), then
        // expire_password {protocol: vnc, time: "now" | "+SECONDS"}: after that, the password admits no new client.
        await qmp.ExecuteAsync("set_password", new Dictionary<string, object?> { ["protocol"] = "vnc", ["password"] = password });
        var seconds = (long)Math.Ceiling(admitsFor.TotalSeconds);
        await qmp.ExecuteAsync("expire_password", new Dictionary<string, object?>
        {
            ["protocol"] = "vnc",
            ["time"] = seconds <= 0 ? "now" : $"+{seconds.ToString(CultureInfo.InvariantCulture)}",
        });
    }

    public Task AddForwardAsync(MachineDirectory dir, string address, PortForward forward) =>
        HumanMonitorAsync(dir, $"hostfwd_add {QemuCommandLine.NetdevId} tcp:{address}:{forward.HostPort}-:{forward.GuestPort}");

    public Task RemoveForwardAsync(MachineDirectory dir, string address, int hostPort) =>
        HumanMonitorAsync(dir, $"hostfwd_remove {QemuCommandLine.NetdevId} tcp:{address}:{hostPort}");

    /// <summary>
    /// Runs a monitor command that QMP has no command of its own for (QEMU 7.2: the user-mode network's hostfwd). The
    /// human monitor answers success with no output and a failure with a sentence, which becomes the exception.
    /// </summary>
    private async Task HumanMonitorAsync(MachineDirectory dir, string command)
    {
        await using var qmp = await QmpClient.ConnectAsync(dir.QmpSocket, options.QmpTimeout);
        var output = await qmp.ExecuteAsync("human-monitor-command", new Dictionary<string, object?> { ["command-line"] = command });
        var text = output.ValueKind == JsonValueKind.String ? output.GetString()!.Trim() : output.GetRawText();
        if (text.Length > 0)
            throw new VmmException($"QEMU monitor command '{command}' on {dir.QmpSocket} failed: {text}");
    }

    /// <summary>Launches QEMU and waits until its QMP answers. Returns its pid and an open QMP connection.</summary>
    private async Task<(int Pid, QmpClient Qmp)> LaunchAsync(VmLaunch launch, IReadOnlyList<string> args)
    {
        var dir = launch.Dir;
        File.Delete(dir.PidFile);
        IReadOnlyList<string>? join = null;
        if (launch.Cpu is { } cpu && cgroups.Version != CgroupVersion.None)
        {
            var limits = CgroupLimits.For(cpu, launch.MemoryMb, launch.Accelerator);
            try
            {
                cgroups.Prepare(launch.Id, limits);
            }
            catch (IOException e)
            {
                throw new VmmException($"the cgroup of machine {launch.Id:D} could not be made: {e.Message}", e);
            }
            join = cgroups.JoinFiles(launch.Id);
            AgentLog.CgroupPrepared(log, launch.Id, cpu.Cores, cpu.Vcpus, limits.MemoryBytes >> 20, cgroups.Version.ToString());
        }
        using var process = QemuProcess.Launch(options.QemuPath, args, dir, join);
        var deadline = Stopwatch.GetTimestamp() + (long)(options.QmpTimeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            if (QemuProcess.Find(dir, launch.Id) is { } pid && File.Exists(dir.QmpSocket))
            {
                try
                {
                    var qmp = await QmpClient.ConnectAsync(dir.QmpSocket, options.QmpTimeout);
                    AgentLog.QemuLaunched(log, launch.Id, pid, launch.Accelerator);
                    return (pid, qmp);
                }
                catch (VmmException) when (Stopwatch.GetTimestamp() < deadline && QemuProcess.IsMachine(pid, launch.Id))
                {
                    // The socket exists before QEMU accepts on it; try again.
                }
                catch (VmmException e)
                {
                    // A QEMU that ended says why in its own words (a port it could not forward, a disk it could not
                    // open), which the socket's error does not.
                    if (process.WaitForExit(TimeSpan.FromMilliseconds(500)) && (process.ExitCode != 0 || !QemuProcess.IsMachine(pid, launch.Id)))
                        throw Exited(launch, process, dir, e);
                    await KillAsync(pid, launch.Id);
                    throw;
                }
            }
            else if (process.HasExited && process.ExitCode != 0)
            {
                throw Exited(launch, process, dir, null);
            }
            if (Stopwatch.GetTimestamp() > deadline)
            {
                if (QemuProcess.Find(dir, launch.Id) is { } stuck)
                    await KillAsync(stuck, launch.Id);
                else if (!process.HasExited)
                    process.Kill();
                throw new VmmException($"{options.QemuPath} for machine {launch.Id:D} did not come up within {options.QmpTimeout.TotalSeconds:0.#} s: {QemuProcess.LogTail(dir)}");
            }
            await Task.Delay(25);
        }
    }

    private VmmException Exited(VmLaunch launch, Process process, MachineDirectory dir, Exception? inner) =>
        new($"{options.QemuPath} for machine {launch.Id:D} exited with code {process.ExitCode}" +
            (process.ExitCode > 128 ? $" (killed by signal {process.ExitCode - 128}{(process.ExitCode == 137 ? ", perhaps by the out-of-memory killer" : "")})" : "") +
            $": {QemuProcess.LogTail(dir)}", inner);

    private async Task SaveStateAsync(QmpClient qmp, MachineDirectory dir, Guid id)
    {
        File.Delete(dir.StateTempFile);
        File.Delete(dir.SuspendSocket);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(dir.SuspendSocket));
        listener.Listen(1);
        using var cts = new CancellationTokenSource(options.SaveTimeout);
        var receiving = ReceiveStateAsync(listener, dir.StateTempFile, cts.Token);
        try
        {
            // The guest is paused before saving, so the file holds one consistent moment; the bandwidth cap
            // (a limit meant for live migration over a network) is lifted for a local file.
            await qmp.ExecuteAsync("migrate-set-parameters", new Dictionary<string, object?> { ["max-bandwidth"] = 64L << 30 });
            await qmp.ExecuteAsync("stop");
            await qmp.ExecuteAsync("migrate", new Dictionary<string, object?> { ["uri"] = $"unix:{dir.SuspendSocket}" });
            var started = Stopwatch.GetTimestamp();
            while (true)
            {
                var info = await qmp.ExecuteAsync("query-migrate");
                var status = info.TryGetProperty("status", out var s) ? s.GetString() : null;
                if (status == "completed")
                    break;
                if (status is "failed" or "cancelled")
                    throw new VmmException($"saving the state of machine {id:D} failed: " +
                        (info.TryGetProperty("error-desc", out var d) ? d.GetString() : status));
                if (Stopwatch.GetElapsedTime(started) > options.SaveTimeout)
                {
                    await qmp.ExecuteAsync("migrate_cancel");
                    throw new VmmException($"saving the state of machine {id:D} did not finish within {options.SaveTimeout.TotalSeconds:0.#} s");
                }
                await Task.Delay(50);
            }
            var bytes = await receiving;
            AtomicFile.Rename(dir.StateTempFile, dir.StateFile);
            AgentLog.StateSaved(log, id, bytes, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        finally
        {
            await cts.CancelAsync();
            try
            {
                await receiving;
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException)
            {
                // Already reported by the migration's own status, or the cause of the failure being thrown.
            }
            File.Delete(dir.SuspendSocket);
            File.Delete(dir.StateTempFile);
        }
    }

    private static async Task<long> ReceiveStateAsync(Socket listener, string path, CancellationToken ct)
    {
        using var connection = await listener.AcceptAsync(ct);
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, useAsync: true);
        var buffer = new byte[1 << 20];
        long total = 0;
        int n;
        while ((n = await connection.ReceiveAsync(buffer, SocketFlags.None, ct)) > 0)
        {
            await file.WriteAsync(buffer.AsMemory(0, n), ct);
            total += n;
        }
        file.Flush(flushToDisk: true);
        return total;
    }

    private async Task RollBackSuspendAsync(QmpClient qmp, MachineDirectory dir, Guid id, bool saved, Exception cause)
    {
        if (saved)
        {
            File.Delete(dir.StateFile);
            AtomicFile.SyncDirectory(dir.Root);
        }
        // The failed connection may be unusable (a timeout); QEMU serves one QMP client at a time, so close it first.
        await qmp.DisposeAsync();
        try
        {
            await using var fresh = await QmpClient.ConnectAsync(dir.QmpSocket, options.QmpTimeout);
            await fresh.ExecuteAsync("cont");
            AgentLog.SuspendRolledBack(log, id, cause.Message);
        }
        catch (VmmException e)
        {
            throw new VmmException($"{cause.Message}; and letting the guest run again failed: {e.Message}", cause);
        }
    }

    private async Task WaitForLoadedStateAsync(QmpClient qmp, MachineDirectory dir, int pid, Guid id)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            string status;
            try
            {
                status = await StatusAsync(qmp);
            }
            catch (QmpClosedException e)
            {
                throw new VmmException($"QEMU of machine {id:D} exited while loading its saved state: {QemuProcess.LogTail(dir)}", e);
            }
            if (status == "paused")
            {
                var migrate = await qmp.ExecuteAsync("query-migrate");
                if (!migrate.TryGetProperty("status", out var s) || s.GetString() == "completed")
                {
                    AgentLog.StateLoaded(log, id, Stopwatch.GetElapsedTime(started).TotalSeconds);
                    return;
                }
            }
            else if (status != "inmigrate")
            {
                throw new VmmException($"QEMU of machine {id:D} is '{status}' while loading its saved state");
            }
            if (!QemuProcess.IsMachine(pid, id))
                throw new VmmException($"QEMU of machine {id:D} exited while loading its saved state: {QemuProcess.LogTail(dir)}");
            if (Stopwatch.GetElapsedTime(started) > options.SaveTimeout)
                throw new VmmException($"loading the saved state of machine {id:D} did not finish within {options.SaveTimeout.TotalSeconds:0.#} s");
            await Task.Delay(50);
        }
    }

    /// <summary>Makes QEMU quit (through <paramref name="qmp"/> if given), then kills it if it lingers.</summary>
    private async Task QuitAsync(MachineDirectory dir, int pid, Guid id, QmpClient? qmp = null)
    {
        try
        {
            if (qmp is null)
            {
                await using var fresh = await QmpClient.ConnectAsync(dir.QmpSocket, options.QmpTimeout);
                await fresh.ExecuteAsync("quit");
            }
            else
            {
                await qmp.ExecuteAsync("quit");
            }
        }
        catch (QmpClosedException)
        {
            // QEMU may exit before its answer to 'quit' is read.
        }
        catch (VmmException e)
        {
            AgentLog.QmpUnreachable(log, dir.Root, e.Message);
        }
        if (!await QemuProcess.WaitForExitAsync(pid, id, ExitTimeout))
            await KillAsync(pid, id);
        else
            await RemoveCgroupAsync(id);
    }

    private async Task KillAsync(int pid, Guid id)
    {
        AgentLog.QemuKilled(log, id, pid);
        QemuProcess.Kill(pid);
        if (!await QemuProcess.WaitForExitAsync(pid, id, ExitTimeout))
            throw new VmmException($"QEMU (pid {pid}) of machine {id:D} is still there after SIGKILL");
        await RemoveCgroupAsync(id);
    }

    /// <summary>
    /// Removes the machine's cgroup once its QEMU has exited. A process that has exited may be reaped a moment after it
    /// stops being the machine's QEMU, so an EBUSY is tried again for up to a second; one left over is removed by the
    /// next stop or start of the machine, or when it is deleted.
    /// </summary>
    private async Task RemoveCgroupAsync(Guid id)
    {
        for (var attempt = 0; attempt < 20 && !cgroups.Remove(id); attempt++)
            await Task.Delay(50);
    }


    private static async Task<string> StatusAsync(QmpClient qmp)
    {
        var result = await qmp.ExecuteAsync("query-status");
        return result.TryGetProperty("status", out var s) ? s.GetString() ?? "" : "";
    }

    private static async Task<int?> VncDisplayAsync(QmpClient qmp)
    {
        var vnc = await qmp.ExecuteAsync("query-vnc");
        return vnc.TryGetProperty("service", out var service)
               && int.TryParse(service.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            ? port - 5900
            : null;
    }

    internal static GuestStatus ToGuestStatus(string status) => status switch
    {
        "running" => GuestStatus.Running,
        "paused" or "postmigrate" or "prelaunch" or "finish-migrate" => GuestStatus.Paused,
        "inmigrate" => GuestStatus.Loading,
        _ => GuestStatus.Unknown,
    };

    /// <summary>Runs a host tool to completion; a failure or a timeout is a <see cref="VmmException"/> that names it.</summary>
    internal static async Task RunToolAsync(string tool, IReadOnlyList<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new VmmException($"could not start {tool}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new VmmException($"could not start {tool}: {e.Message}", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new VmmException($"{tool} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds:0} s");
            }
            if (process.ExitCode != 0)
                throw new VmmException($"{tool} {string.Join(' ', args)} failed with code {process.ExitCode}: {(await stderr).Trim()} {(await stdout).Trim()}".TrimEnd());
        }
    }
}
