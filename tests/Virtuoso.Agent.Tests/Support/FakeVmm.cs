using System.Collections.Concurrent;
using Virtuoso.Agent.Images;
using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Vmm;
using Virtuoso.Contracts.Agent;

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

    private readonly ConcurrentDictionary<int, System.Net.Sockets.TcpListener> _forwards = new();

    /// <summary>Forwards added and removed, in order: "add 127.0.0.1:HOST-:GUEST", "remove 127.0.0.1:HOST".</summary>
    public ConcurrentQueue<string> ForwardCalls { get; } = new();

    /// <summary>The host ports forwarded to guests now.</summary>
    public IReadOnlyCollection<int> ForwardedPorts => [.. _forwards.Keys];

    /// <summary>
    /// What a forwarded guest port does with a connection. By default it greets with <c>guest port N\n</c>, echoes every
    /// byte, and once its input ends says <c>bye\n</c> and closes: so a test sees both directions and the half-close.
    /// </summary>
    public Func<int, System.Net.Sockets.NetworkStream, Task> Guest { get; set; } = EchoGuestAsync;

    public Task AddForwardAsync(MachineDirectory dir, string address, PortForward forward)
    {
        Record("forward-add");
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Parse(address), forward.HostPort);
        try
        {
            listener.Start();
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new VmmException($"fake: could not set up host forwarding rule on {address}:{forward.HostPort}: {e.Message}");
        }
        _forwards[forward.HostPort] = listener;
        ForwardCalls.Enqueue($"add {address}:{forward.HostPort}-:{forward.GuestPort}");
        _ = Task.Run(async () =>
        {
            while (true)
            {
                System.Net.Sockets.TcpClient client;
                try
                {
                    client = await listener.AcceptTcpClientAsync();
                }
                catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException)
                {
                    return;
                }
                _ = Task.Run(async () =>
                {
                    using (client)
                        await Guest(forward.GuestPort, client.GetStream());
                });
            }
        });
        return Task.CompletedTask;
    }

    public Task RemoveForwardAsync(MachineDirectory dir, string address, int hostPort)
    {
        Record("forward-remove");
        ForwardCalls.Enqueue($"remove {address}:{hostPort}");
        if (_forwards.TryRemove(hostPort, out var listener))
            listener.Stop();
        return Task.CompletedTask;
    }

    private static async Task EchoGuestAsync(int port, System.Net.Sockets.NetworkStream stream)
    {
        try
        {
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"guest port {port}\n"));
            var buffer = new byte[4096];
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0)
                await stream.WriteAsync(buffer.AsMemory(0, n));
            await stream.WriteAsync("bye\n"u8.ToArray());
            stream.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // The tunnel went away.
        }
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
