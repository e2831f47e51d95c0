using System.Text.Json;
using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Tests.Machines;

/// <summary>An agent restarting over machines whose commands a crash interrupted (fake VMM; real QEMU in QemuVmmTests).</summary>
public sealed class MachineRecoveryTests : IDisposable
{
    private readonly TestDirectory _dir = new();
    private readonly FakeVmm _vmm = new();

    public void Dispose() => _dir.Dispose();

    private string MachineDir(Guid id) => Path.Combine(_dir.Path, "machines", id.ToString("D"));

    private async Task<Guid> CreateRunningAsync()
    {
        var id = Guid.NewGuid();
        await using var first = new AgentFactory(_dir.Path, _vmm);
        var client = first.CreateAuthenticatedClient();
        await client.CreateAsync(AgentApi.Blank(id, version: 4));
        await client.CommandAsync(id, "start", 4, 4);
        return id;
    }

    private async Task<(AgentMachine Machine, string Intent)> RestartAsync(Guid id)
    {
        await using var second = new AgentFactory(_dir.Path, _vmm);
        var machine = await second.CreateAuthenticatedClient().GetMachineAsync(id);
        var intent = JsonDocument.Parse(File.ReadAllText(Path.Combine(MachineDir(id), "machine.json"))).RootElement.GetProperty("intent").GetString()!;
        return (machine, intent);
    }

    [Fact]
    public async Task SuspendNotCommitted_GuestLeftPausedWithAState_StateDiscardedAndGuestContinued()
    {
        var id = await CreateRunningAsync();
        _vmm.SetRunning(id, GuestStatus.Paused);
        File.WriteAllText(Path.Combine(MachineDir(id), "state.bin"), "saved, but never committed");
        File.WriteAllText(Path.Combine(MachineDir(id), "state.tmp"), "half");

        var (machine, intent) = await RestartAsync(id);

        Assert.Equal((AgentStates.Running, 4L), (machine.State, machine.Version));
        Assert.Equal("running", intent);
        Assert.Contains("continue", _vmm.Calls);
        Assert.False(File.Exists(Path.Combine(MachineDir(id), "state.bin")));
        Assert.False(File.Exists(Path.Combine(MachineDir(id), "state.tmp")));
    }

    [Fact]
    public async Task SuspendCommittedButQemuNotQuit_QemuEnded_MachineSuspended()
    {
        var id = Guid.NewGuid();
        await using (var first = new AgentFactory(_dir.Path, _vmm))
        {
            var client = first.CreateAuthenticatedClient();
            await client.CreateAsync(AgentApi.Blank(id, version: 4));
            await client.CommandAsync(id, "start", 4, 4);
            await client.CommandAsync(id, "suspend", 4, 5);
        }
        _vmm.SetRunning(id, GuestStatus.Paused);

        var (machine, intent) = await RestartAsync(id);

        Assert.Equal((AgentStates.Suspended, 5L), (machine.State, machine.Version));
        Assert.Equal("suspended", intent);
        Assert.False(_vmm.IsRunning(id));
        Assert.True(File.Exists(Path.Combine(MachineDir(id), "state.bin")));
    }

    [Fact]
    public async Task QemuDiedWhileTheAgentWasDown_ReportedStopped()
    {
        var id = await CreateRunningAsync();
        _vmm.Crash(id);

        var (machine, intent) = await RestartAsync(id);

        Assert.Equal((AgentStates.Stopped, 4L), (machine.State, machine.Version));
        Assert.Equal("stopped", intent);
    }

    [Fact]
    public async Task QemuDiedWithACompleteSavedState_ReportedSuspended()
    {
        var id = await CreateRunningAsync();
        _vmm.Crash(id);
        File.WriteAllText(Path.Combine(MachineDir(id), "state.bin"), "complete");

        var (machine, intent) = await RestartAsync(id);

        Assert.Equal(AgentStates.Suspended, machine.State);
        Assert.Equal("suspended", intent);
    }

    [Fact]
    public async Task QemuStillRunning_IsFoundAndLeftAlone()
    {
        var id = await CreateRunningAsync();
        var calls = _vmm.Calls.Count;

        var (machine, intent) = await RestartAsync(id);

        Assert.Equal(AgentStates.Running, machine.State);
        Assert.Equal("running", intent);
        Assert.Equal(calls, _vmm.Calls.Count);
    }
}
