using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Machines;

/// <summary>Where a machine is, as far as this host is concerned (contract: <see cref="AgentStates"/>).</summary>
internal enum AgentState { Stopped, Running, Suspended }

/// <summary>
/// A machine's local state, persisted as <c>machine.json</c> in its directory (design §5, report §6.2.2: the
/// report's vm_list, vm_origin_list and vm_version_list in one record per machine). Written atomically by
/// <see cref="MachineStore"/>, so a crash leaves either the old or the new record.
/// </summary>
/// <param name="Intent">The state the last committed command left the machine in. What is reported comes from
/// the real process (<see cref="MachineService"/>); the intent only decides recovery after a crash.</param>
/// <param name="OriginHost">The host the machine migrated from, or null if it was created here.</param>
/// <param name="VncDisplay">The VNC display QEMU listens on (127.0.0.1, port 5900 + display) while running.</param>
/// <param name="Metadata">What the machine's seed drive holds (issue 14), so that a seed lost before a resume is rebuilt
/// alike; null before the first start on this host.</param>
/// <param name="CpuMillicores">The CPU share decided when the machine was stored (design §12), kept through every later
/// command and migration; null: not limited (stored before shares, or without the host's total speed).</param>
/// <param name="Vcpus">The guest's vCPUs; a saved state loads only with the same number, so they never change.</param>
/// <param name="PrivateNic">The machine was started with a private NIC (issue 16), so a resume needs it too (QEMU loads a
/// saved state only into the same devices); false before private networks, and after a stop.</param>
/// <param name="Network">The private network the NIC is on now (from the last start or resume); null: none, or unplugged.</param>
internal sealed record MachineRecord(
    Guid Id,
    string Mac,
    long SpeedBogomips,
    long MemoryMb,
    long DiskMb,
    string? Image,
    long Version,
    string? OriginHost,
    AgentState Intent,
    int? VncDisplay,
    GuestMetadata? Metadata = null,
    long? CpuMillicores = null,
    int Vcpus = 1,
    string? Cdrom = null,
    bool PrivateNic = false,
    PrivateNetwork? Network = null)
{
    /// <summary>Whether a create request asks for this very machine (the idempotent repeat of a PUT).</summary>
    public bool HasSpec(ValidCreateRequest r) =>
        Id == r.Id && Mac == r.Mac && SpeedBogomips == r.SpeedBogomips && MemoryMb == r.MemoryMb && DiskMb == r.DiskMb && Image == r.Image;

    public static string Wire(AgentState state) => state switch
    {
        AgentState.Stopped => AgentStates.Stopped,
        AgentState.Running => AgentStates.Running,
        AgentState.Suspended => AgentStates.Suspended,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };
}
