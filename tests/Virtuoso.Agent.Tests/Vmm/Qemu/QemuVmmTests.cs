using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Virtuoso.Agent.Cgroups;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Agent.Vmm.Qemu;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Agent.Tests.Vmm.Qemu;

/// <summary>The agent end to end on real QEMU (TCG): processes, QMP, disks, saved states, restarts.</summary>
[Collection(QemuCollection.Name)]
public sealed class QemuVmmTests : IDisposable
{
    private readonly TestDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private AgentFactory Agent(Dictionary<string, string?>? settings = null) => new(_dir.Path, vmm: null, settings);

    private string MachineDir(Guid id) => Path.Combine(_dir.Path, "machines", id.ToString("D"));

    [QemuFact]
    public async Task BlankMachine_CreateStartStopSuspendResumeDelete()
    {
        await using var agent = Agent();
        var client = agent.CreateAuthenticatedClient();
        var id = Guid.NewGuid();

        var created = await client.CreateAsync(AgentApi.Blank(id, version: 1, memoryMb: 128, diskMb: 64));
        Assert.Equal(AgentStates.Stopped, created.State);
        Assert.Contains("\"virtual-size\": 67108864", await QemuImgInfoAsync(Path.Combine(MachineDir(id), "disk.qcow2")));

        var running = await client.CommandAsync(id, "start", 1, 1);
        Assert.Equal(AgentStates.Running, running.State);
        var pid = running.Pid!.Value;
        AssertIsDetachedQemu(pid, id);
        Assert.Equal("running", await GuestStatusAsync(id));

        // A blank machine has no OS to answer the power button: the stop is forced after --stop-timeout (1 s).
        var watch = Stopwatch.StartNew();
        var stopped = await client.CommandAsync(id, "stop", 1, 2);
        Assert.Equal((AgentStates.Stopped, 2L, (int?)null), (stopped.State, stopped.Version, stopped.Pid));
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15));
        Assert.False(QemuProcess.IsMachine(pid, id));

        await client.CommandAsync(id, "start", 2, 2);
        var suspended = await client.CommandAsync(id, "suspend", 2, 3);
        Assert.Equal((AgentStates.Suspended, 3L, (int?)null), (suspended.State, suspended.Version, suspended.Pid));
        Assert.True(new FileInfo(Path.Combine(MachineDir(id), "state.bin")).Length > 100_000);
        Assert.False(File.Exists(Path.Combine(MachineDir(id), "state.tmp")));

        var resumed = await client.CommandAsync(id, "resume", 3, 3);
        Assert.Equal((AgentStates.Running, 3L), (resumed.State, resumed.Version));
        Assert.False(File.Exists(Path.Combine(MachineDir(id), "state.bin")));
        Assert.Equal("running", await GuestStatusAsync(id));

        await client.CommandAsync(id, "stop", 3, 4);
        var deleted = await client.DeleteAsync(AgentRoutes.Machine(id));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.False(Directory.Exists(MachineDir(id)));
    }

    [QemuFact]
    public async Task Suspend_WhenTheStateCannotBeStored_LeavesTheGuestRunningAtTheSameVersion()
    {
        await using var agent = Agent();
        var client = agent.CreateAuthenticatedClient();
        var id = Guid.NewGuid();
        await client.CreateAsync(AgentApi.Blank(id, version: 1));
        var pid = (await client.CommandAsync(id, "start", 1, 1)).Pid;
        // A directory where state.bin must go: the state is saved, but cannot be put in place.
        Directory.CreateDirectory(Path.Combine(MachineDir(id), "state.bin", "in-the-way"));

        var response = await client.PostCommandAsync(id, "suspend", 1, 2);

        // The host's own storage failed, not QEMU: 500.
        var detail = await AgentApi.AssertProblemAsync(response, HttpStatusCode.InternalServerError, ErrorCodes.AgentFailed);
        Assert.Contains("suspend", detail);
        Assert.Contains("state.bin", detail);
        var machine = await client.GetMachineAsync(id);
        Assert.Equal((AgentStates.Running, 1L, pid), (machine.State, machine.Version, machine.Pid));
        Assert.Equal("running", await GuestStatusAsync(id));

        Directory.Delete(Path.Combine(MachineDir(id), "state.bin"), recursive: true);
        Assert.Equal(AgentStates.Suspended, (await client.CommandAsync(id, "suspend", 1, 2)).State);
    }

    /// <summary>Issue 17: the share decided at create (2000 of 10000 bogomips on --cores 1: 0.2 cores) is the quota of the
    /// cgroup QEMU runs in; the cgroup is gone once QEMU has exited, and made again with the same share at the next start.</summary>
    [QemuFact]
    public async Task Start_RunsQemuInACgroupWithTheSharesQuota_GoneAfterStop()
    {
        var cgroups = MachineCgroups.OfThisHost("virtuoso");
        Assert.NotEqual(CgroupVersion.None, cgroups.Version);
        await using var agent = Agent(new() { ["cores"] = "1" });
        var client = agent.CreateAuthenticatedClient();
        var id = Guid.NewGuid();
        var created = await client.CreateAsync(AgentApi.Blank(id, version: 1) with { SpeedBogomips = 2000, HostSpeedBogomips = 10000 });
        Assert.Equal((200L, 1), (created.CpuMillicores, created.Vcpus));

        foreach (var (verb, from, to) in new[] { ("start", 1L, 1L), ("suspend", 1, 2), ("resume", 2, 2) })
            await client.CommandAsync(id, verb, from, to);
        var running = await client.GetMachineAsync(id);
        Assert.Equal(AgentStates.Running, running.State);
        var pid = running.Pid!.Value;
        Assert.True(cgroups.Holds(id, pid), File.ReadAllText($"/proc/{pid}/cgroup"));
        Assert.Equal((20_000L, 100_000L), cgroups.CpuLimit(id));
        Assert.Contains("-smp 1 ", string.Join(' ', File.ReadAllText($"/proc/{pid}/cmdline").Split('\0')));
        await Task.Delay(1200);
        var measured = await client.GetMachineAsync(id);
        Assert.NotNull(measured.CpuUsedMillicores);
        Assert.InRange(measured.CpuUsedMillicores!.Value, 0, 200 + 50);
        Assert.InRange(measured.MemoryUsedMb!.Value, 1, 128 + 128 + 128);

        await client.CommandAsync(id, "stop", 2, 3);
        Assert.All(cgroups.Directories(id), d => Assert.False(Directory.Exists(d), d));
        var again = await client.CommandAsync(id, "start", 3, 3);
        Assert.True(cgroups.Holds(id, again.Pid!.Value));
        await client.CommandAsync(id, "stop", 3, 4);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync(AgentRoutes.Machine(id))).StatusCode);
        Assert.All(cgroups.Directories(id), d => Assert.False(Directory.Exists(d), d));
    }

    /// <summary>
    /// A QEMU that ends at start-up after making its QMP socket (here a forward to a port another program holds, which
    /// the agent's own check cannot see: the wrapper adds it) resets the agent's connection, waiting in the socket's
    /// backlog. The start fails with QEMU's own words, leaves no process behind, and the machine stays stopped.
    /// </summary>
    [QemuFact]
    public async Task QemuEndingAfterItsQmpSocketIsMade_FailsTheStartWithQemusOwnWords()
    {
        var other = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        other.Start();
        var held = ((IPEndPoint)other.LocalEndpoint).Port;
        var wrapper = Path.Combine(_dir.Path, "qemu-with-a-held-port");
        File.WriteAllText(wrapper, $"#!/bin/sh\nexec qemu-system-x86_64 \"$@\" -netdev user,id=held,hostfwd=tcp:127.0.0.1:{held}-:22\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await using var agent = Agent(new() { ["qemu"] = wrapper });
        var client = agent.CreateAuthenticatedClient();
        var id = Guid.NewGuid();
        await client.CreateAsync(AgentApi.Blank(id, version: 1, memoryMb: 128, diskMb: 64));

        var response = await client.PostCommandAsync(id, "start", 1, 1);

        var detail = await AgentApi.AssertProblemAsync(response, HttpStatusCode.BadGateway, ErrorCodes.AgentFailed);
        Assert.Contains($"Could not set up host forwarding rule 'tcp:127.0.0.1:{held}-:22'", detail);
        Assert.Contains("exited with code 1", detail);
        Assert.Equal(AgentStates.Stopped, (await client.GetMachineAsync(id)).State);
        Assert.DoesNotContain(Process.GetProcessesByName("qemu-system-x86_64"), p => QemuProcess.IsMachine(p.Id, id));
        other.Stop();
    }

    /// <summary>
    /// The same, with the timing pinned down: a stand-in for QEMU makes its QMP socket and pid file, leaves the agent's
    /// connection waiting in the backlog for a second, then says why and exits, which resets the connection.
    /// </summary>
    [Fact]
    public async Task AQemuResettingTheConnectionBeforeItsGreeting_FailsTheStartWithItsOwnWords()
    {
        var fake = Path.Combine(_dir.Path, "qemu-that-ends");
        File.WriteAllText(fake, """
            #!/usr/bin/env python3
            import os, socket, sys, time
            a = sys.argv
            qmp = socket.socket(socket.AF_UNIX)
            qmp.bind(a[a.index("-qmp") + 1][len("unix:"):].split(",")[0])
            qmp.listen(4)
            open(a[a.index("-pidfile") + 1], "w").write(str(os.getpid()))
            time.sleep(1)
            sys.stderr.write("qemu-system-x86_64: a reason of its own\n")
            sys.exit(1)
            """);
        File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await using var agent = Agent(new() { ["qemu"] = fake });
        var client = agent.CreateAuthenticatedClient();
        var id = Guid.NewGuid();
        await client.CreateAsync(AgentApi.Blank(id, version: 1, memoryMb: 128, diskMb: 64));

        var detail = await AgentApi.AssertProblemAsync(await client.PostCommandAsync(id, "start", 1, 1), HttpStatusCode.BadGateway, ErrorCodes.AgentFailed);

        Assert.Contains("exited with code 1: qemu-system-x86_64: a reason of its own", detail);
        Assert.Equal(AgentStates.Stopped, (await client.GetMachineAsync(id)).State);
    }

    /// <summary>A QEMU that runs outside its cgroup (started by an agent that kept none) is moved into it by the next
    /// agent's recovery, so the share holds from then on; an agent restart leaves a QEMU already in its cgroup there.</summary>
    [QemuFact]
    public async Task AgentRestart_PutsAQemuFoundOutsideItsCgroupIntoIt()
    {
        var cgroups = MachineCgroups.OfThisHost("virtuoso");
        var id = Guid.NewGuid();
        int pid;
        await using (var unlimited = Agent(new() { ["cores"] = "1", ["cgroup-parent"] = "off" }))
        {
            var client = unlimited.CreateAuthenticatedClient();
            await client.CreateAsync(AgentApi.Blank(id, version: 1) with { SpeedBogomips = 5000, HostSpeedBogomips = 10000 });
            pid = (await client.CommandAsync(id, "start", 1, 1)).Pid!.Value;
        }
        Assert.False(cgroups.Holds(id, pid));

        await using (var limiting = Agent(new() { ["cores"] = "1" }))
        {
            var machine = await limiting.CreateAuthenticatedClient().GetMachineAsync(id);
            Assert.Equal((AgentStates.Running, (int?)pid, 500L), (machine.State, machine.Pid, machine.CpuMillicores));
            Assert.True(cgroups.Holds(id, pid), File.ReadAllText($"/proc/{pid}/cgroup"));
            Assert.Equal((50_000L, 100_000L), cgroups.CpuLimit(id));
        }
        await using var again = Agent(new() { ["cores"] = "1" });
        var client2 = again.CreateAuthenticatedClient();
        Assert.True(cgroups.Holds(id, pid));
        await client2.CommandAsync(id, "stop", 1, 2);
        Assert.All(cgroups.Directories(id), d => Assert.False(Directory.Exists(d), d));
    }

    [QemuFact]
    public async Task Create_WithoutTheHostsSpeed_RunsOneUnlimitedVcpu()
    {
        await using var agent = Agent();
        var client = agent.CreateAuthenticatedClient();
        var id = Guid.NewGuid();
        var created = await client.CreateAsync(AgentApi.Blank(id, version: 1));
        Assert.Equal((null, 1), (created.CpuMillicores, created.Vcpus));
        var pid = (await client.CommandAsync(id, "start", 1, 1)).Pid!.Value;
        Assert.DoesNotContain(id.ToString("D"), File.ReadAllText($"/proc/{pid}/cgroup"));
        await client.CommandAsync(id, "stop", 1, 2);
    }

    [QemuFact]
    public async Task AgentRestart_FindsItsRunningQemuAgain()
    {
        var id = Guid.NewGuid();
        int pid;
        await using (var first = Agent())
        {
            var client = first.CreateAuthenticatedClient();
            await client.CreateAsync(AgentApi.Blank(id, version: 6));
            pid = (await client.CommandAsync(id, "start", 6, 6)).Pid!.Value;
        }
        Assert.True(QemuProcess.IsMachine(pid, id), "QEMU must outlive the agent that started it");

        await using var second = Agent();
        var again = second.CreateAuthenticatedClient();
        var machine = await again.GetMachineAsync(id);

        Assert.Equal((AgentStates.Running, 6L, (int?)pid), (machine.State, machine.Version, machine.Pid));
        Assert.Equal(1, (await again.GetFromJsonAsyncChecked<AgentHealth>(AgentRoutes.Health)).Machines);
        // The new agent is not QEMU's parent, and still controls it.
        Assert.Equal(AgentStates.Suspended, (await again.CommandAsync(id, "suspend", 6, 7)).State);
        Assert.Equal(AgentStates.Running, (await again.CommandAsync(id, "resume", 7, 7)).State);
        Assert.Equal(AgentStates.Stopped, (await again.CommandAsync(id, "stop", 7, 8)).State);
    }

    [QemuFact]
    public async Task QemuKilledBehindTheAgentsBack_IsReportedStopped_AndStartsAgain()
    {
        await using var agent = Agent();
        var client = agent.CreateAuthenticatedClient();
        var id = Guid.NewGuid();
        await client.CreateAsync(AgentApi.Blank(id, version: 1));
        var pid = (await client.CommandAsync(id, "start", 1, 1)).Pid!.Value;

        QemuProcess.Kill(pid);
        await QemuProcess.WaitForExitAsync(pid, id, TimeSpan.FromSeconds(5));

        Assert.Equal(AgentStates.Stopped, (await client.GetMachineAsync(id)).State);
        Assert.Equal(AgentStates.Running, (await client.CommandAsync(id, "start", 1, 1)).State);
    }

    [GuestImageFact]
    public async Task Preconfigured_BootsKeepsItsDiskAcrossSuspendResumeAndGracefulStop()
    {
        var timeout = TimeSpan.FromSeconds(90);
        await using var agent = Agent(new() { ["images"] = RealQemu.ImagesDirectory, ["stop-timeout"] = "30" });
        var client = agent.CreateAuthenticatedClient();
        var id = Guid.NewGuid();
        var dir = MachineDir(id);
        Task<string> Serial() => client.GetStringAsync(AgentRoutes.Serial(id));

        await client.CreateAsync(AgentApi.Blank(id, version: 1, memoryMb: 256, diskMb: 1000) with { Image = "linux-busybox" });
        Assert.Contains("backing-filename", await QemuImgInfoAsync(Path.Combine(dir, "disk.qcow2")));
        await client.CommandAsync(id, "start", 1, 1);
        await SerialConsole.WaitForAsync(Serial, "Virtuoso guest ready", timeout);
        await SerialConsole.RunAsync(dir, Serial, "echo persisted > /root/f; sync; echo $((6*7))-written", "42-written", timeout);

        await client.CommandAsync(id, "suspend", 1, 2);
        await client.CommandAsync(id, "resume", 2, 2);
        await SerialConsole.RunAsync(dir, Serial, "echo $((6*8))-alive", "48-alive", timeout);

        var watch = Stopwatch.StartNew();
        var stopped = await client.CommandAsync(id, "stop", 2, 3);
        Assert.Equal(AgentStates.Stopped, stopped.State);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"the guest did not power off by itself ({watch.Elapsed})");

        await client.CommandAsync(id, "start", 3, 3);
        await SerialConsole.WaitForAsync(Serial, "Virtuoso guest ready", timeout, times: 2);
        await SerialConsole.RunAsync(dir, Serial, "cat /root/f", "persisted", timeout);
        await client.CommandAsync(id, "stop", 3, 4);
    }

    private static void AssertIsDetachedQemu(int pid, Guid id)
    {
        Assert.True(QemuProcess.IsMachine(pid, id));
        // Its own session (setsid), so a signal to the agent's group does not reach it...
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var session = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[3]);
        Assert.Equal(pid, session);
        // ...and its output goes to a file, not to a pipe of the agent's that would break when the agent exits.
        Assert.EndsWith("/qemu.log", new FileInfo($"/proc/{pid}/fd/1").LinkTarget);
        Assert.EndsWith("/qemu.log", new FileInfo($"/proc/{pid}/fd/2").LinkTarget);
    }

    private async Task<string> GuestStatusAsync(Guid id)
    {
        await using var qmp = await QmpClient.ConnectAsync(Path.Combine(MachineDir(id), "qmp.sock"), TimeSpan.FromSeconds(5));
        return (await qmp.ExecuteAsync("query-status")).GetProperty("status").GetString()!;
    }

    private static async Task<string> QemuImgInfoAsync(string disk)
    {
        var psi = new ProcessStartInfo("qemu-img", ["info", "--output=json", "-U", disk]) { RedirectStandardOutput = true };
        using var process = Process.Start(psi)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output;
    }
}
