using System.Collections.Concurrent;
using Virtuoso.Agent.Images;
using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Vmm;

namespace Virtuoso.Agent.Tests.Support;

/// <summary>
/// An <see cref="IVmm"/> without processes, for API tests. It keeps the same files as QEMU where the agent looks at
/// them (disk, saved state), keeps the same promises (a failed suspend leaves the guest running), and can be told to
/// fail or to be slow.
/// </summary>
internal sealed class FakeVmm : IVmm
{
    private readonly ConcurrentDictionary<Guid, int> _running = new();
    private readonly ConcurrentDictionary<Guid, GuestStatus> _status = new();
    private int _nextPid = 40000;

    /// <summary>The next call of this kind ("create", "start", "stop", "suspend", "resume") throws.</summary>
    public string? FailNext { get; set; }

    /// <summary>How long a start takes.</summary>
    public TimeSpan StartDelay { get; set; }

    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>What each start and resume was asked to launch.</summary>
    public ConcurrentQueue<VmLaunch> Launches { get; } = new();

    public bool IsRunning(Guid id) => _running.ContainsKey(id);

    /// <summary>Makes a machine look like its QEMU runs (or was left paused) without the agent having started it.</summary>
    public void SetRunning(Guid id, GuestStatus status = GuestStatus.Running)
    {
        _running[id] = Interlocked.Increment(ref _nextPid);
        _status[id] = status;
    }

    public void Crash(Guid id) => _running.TryRemove(id, out _);

    public Task CreateDiskAsync(MachineDirectory dir, long diskMb, CachedImage? image)
    {
        Record("create");
        File.WriteAllText(dir.Disk, image is null ? $"blank {diskMb}M" : $"overlay of {image.Disk}, {diskMb}M");
        return Task.CompletedTask;
    }

    public Task RebaseDiskAsync(MachineDirectory dir, CachedImage image)
    {
        Record("rebase");
        return Task.CompletedTask;
    }

    public int? FindProcess(MachineDirectory dir, Guid id) => _running.TryGetValue(id, out var pid) ? pid : null;

    public Task<GuestStatus> QueryStatusAsync(MachineDirectory dir) =>
        Task.FromResult(_status.GetValueOrDefault(Guid.Parse(Path.GetFileName(dir.Root)), GuestStatus.Unknown));

    public async Task<VmmRun> StartAsync(VmLaunch launch)
    {
        Record("start");
        Launches.Enqueue(launch);
        await Task.Delay(StartDelay);
        SetRunning(launch.Id);
        return new VmmRun(_running[launch.Id], 10);
    }

    public Task StopAsync(MachineDirectory dir, Guid id, TimeSpan graceful)
    {
        Record("stop");
        _running.TryRemove(id, out _);
        return Task.CompletedTask;
    }

    public Task SuspendAsync(MachineDirectory dir, Guid id, Action commit)
    {
        Record("suspend");
        File.WriteAllText(dir.StateFile, "memory");
        try
        {
            commit();
        }
        catch (IOException)
        {
            File.Delete(dir.StateFile);
            throw;
        }
        _running.TryRemove(id, out _);
        return Task.CompletedTask;
    }

    public Task<VmmRun> ResumeAsync(VmLaunch launch, Action<VmmRun> commit)
    {
        Record("resume");
        Launches.Enqueue(launch);
        var run = new VmmRun(Interlocked.Increment(ref _nextPid), 11);
        commit(run);
        File.Delete(launch.Dir.StateFile);
        _running[launch.Id] = run.Pid;
        _status[launch.Id] = GuestStatus.Running;
        return Task.FromResult(run);
    }

    public Task ContinueAsync(MachineDirectory dir)
    {
        Calls.Enqueue("continue");
        _status[Guid.Parse(Path.GetFileName(dir.Root))] = GuestStatus.Running;
        return Task.CompletedTask;
    }

    /// <summary>The VNC passwords set, in order, with how long each admits new connections.</summary>
    public ConcurrentQueue<(Guid Machine, string Password, TimeSpan AdmitsFor)> VncPasswords { get; } = new();

    public Task SetVncPasswordAsync(MachineDirectory dir, string password, TimeSpan admitsFor)
    {
        Record("vnc-password");
        VncPasswords.Enqueue((Guid.Parse(Path.GetFileName(dir.Root)), password, admitsFor));
        return Task.CompletedTask;
    }

    private void Record(string call)
    {
        Calls.Enqueue(call);
        if (FailNext == call)
        {
            FailNext = null;
            throw new VmmException($"fake {call} failed");
        }
    }
}
