using Virtuoso.Agent.Images;
using Virtuoso.Agent.Machines;
using Virtuoso.Contracts.Agent;
using Virtuoso.Core.Machines;

namespace Virtuoso.Agent.Vmm;

/// <summary>
/// The one place the agent drives a virtual machine monitor (design §5, report §7.1.1: "the VMM sits behind one
/// small interface so that another VMM can be added"). Everything about versions, states and records stays in
/// <see cref="MachineService"/>; an implementation only moves processes and files. Failures throw
/// <see cref="VmmException"/> with a message that names what failed.
/// </summary>
internal interface IVmm
{
    /// <summary>Creates the machine's disk: blank, or a copy-on-write overlay of <paramref name="image"/>'s base disk.</summary>
    Task CreateDiskAsync(MachineDirectory dir, long diskMb, CachedImage? image);

    /// <summary>
    /// Points a copy-on-write disk that arrived from another host at this host's cached copy of its base image, without
    /// touching its data (the base is the same image, only its path differs; design §6.2 activation).
    /// </summary>
    Task RebaseDiskAsync(MachineDirectory dir, CachedImage image);

    /// <summary>The pid of the live VMM process that holds machine <paramref name="id"/>, or null.</summary>
    int? FindProcess(MachineDirectory dir, Guid id);

    Task<GuestStatus> QueryStatusAsync(MachineDirectory dir);

    /// <summary>Boots the machine. Returns once the guest runs.</summary>
    Task<VmmRun> StartAsync(VmLaunch launch);

    /// <summary>Asks the guest to power off, waits up to <paramref name="graceful"/>, then makes the VMM quit, then kills it.
    /// Returns once the process is gone. <see cref="TimeSpan.Zero"/> skips the polite part.</summary>
    Task StopAsync(MachineDirectory dir, Guid id, TimeSpan graceful);

    /// <summary>
    /// Pauses the guest, saves its memory state to <see cref="MachineDirectory.StateFile"/>, calls <paramref name="commit"/>,
    /// and ends the process. When anything fails before the commit returns, the saved state is removed and the
    /// guest runs on (§6.3.4: a failed suspend leaves the machine running).
    /// </summary>
    Task SuspendAsync(MachineDirectory dir, Guid id, Action commit);

    /// <summary>
    /// Starts the VMM from the saved state, calls <paramref name="commit"/> once the state is loaded, deletes the
    /// state file, and lets the guest run. When anything fails before the commit returns, the process is ended and the
    /// state file kept: the machine stays suspended.
    /// </summary>
    Task<VmmRun> ResumeAsync(VmLaunch launch, Action<VmmRun> commit);

    /// <summary>Lets a paused guest run again.</summary>
    Task ContinueAsync(MachineDirectory dir);

    /// <summary>
    /// Makes the running machine's VNC server ask for <paramref name="password"/> (design §7: a fresh random one per
    /// console session) and admit new connections with it only for <paramref name="admitsFor"/>
    /// (<see cref="TimeSpan.Zero"/>: none). Connections already made are left alone.
    /// </summary>
    Task SetVncPasswordAsync(MachineDirectory dir, string password, TimeSpan admitsFor);

    /// <summary>
    /// Forwards TCP port <see cref="PortForward.HostPort"/> of <paramref name="address"/> on this host to
    /// <see cref="PortForward.GuestPort"/> of the running guest (a tunnel, design §10), until removed or the VMM exits.
    /// Throws when the port cannot be bound (it is taken).
    /// </summary>
    Task AddForwardAsync(MachineDirectory dir, string address, PortForward forward);

    /// <summary>Stops listening on a port that <see cref="AddForwardAsync"/> forwarded; connections made through it go on.</summary>
    Task RemoveForwardAsync(MachineDirectory dir, string address, int hostPort);
}

/// <summary>Everything needed to boot one machine.</summary>
/// <param name="Accelerator">"kvm" or "tcg".</param>
/// <param name="Seed">The cloud-init seed to attach read-only (<see cref="MachineDirectory.Seed"/>), or null for none.</param>
/// <param name="Forwards">Host ports forwarded to the guest, bound on <paramref name="ForwardAddress"/>; they are not a device
/// of the guest, so a resume may have other ones than the start.</param>
/// <param name="PrivateTap">The tap of the machine's private NIC (issue 16), made by the agent before the VMM starts;
/// null: no private NIC.</param>
/// <param name="Cpu">The CPU share to enforce (design §12) and the vCPUs it gives; null: one vCPU, not limited.</param>
internal sealed record VmLaunch(Guid Id, string Mac, long MemoryMb, MachineDirectory Dir, CachedImage? Image, string Accelerator,
    string? Seed = null, IReadOnlyList<PortForward>? Forwards = null, string ForwardAddress = "127.0.0.1", CpuShare? Cpu = null,
    string? Cdrom = null, string? PrivateTap = null)
{
    public int Vcpus => Cpu?.Vcpus ?? 1;

    /// <summary>The size of TCG's translation cache (QEMU's default is up to 1 GiB), bounded so QEMU's own memory is.</summary>
    public const int TcgCacheMb = 128;
}

/// <summary>A started VMM process.</summary>
internal sealed record VmmRun(int Pid, int? VncDisplay);

/// <summary>The VMM failed; <see cref="Exception.Message"/> says what.</summary>
internal class VmmException(string message, Exception? inner = null) : Exception(message, inner);
