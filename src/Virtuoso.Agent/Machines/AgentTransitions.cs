namespace Virtuoso.Agent.Machines;

/// <summary>The state-changing commands of the control API (report §6.3.2, §6.3.4).</summary>
internal enum MachineVerb { Start, Stop, Suspend, Resume }

/// <summary>
/// What the agent lets each command do, as data (design §3.3, seen from one host: a stored machine is
/// <see cref="AgentState.Stopped"/> here). Anything not in the table is refused with invalid-state.
/// The front-end checks ownership and the full state table; the agent checks what the real process allows.
/// </summary>
internal static class AgentTransitions
{
    private static readonly Dictionary<(AgentState, MachineVerb), AgentState> Table = new()
    {
        [(AgentState.Stopped, MachineVerb.Start)] = AgentState.Running,
        [(AgentState.Running, MachineVerb.Stop)] = AgentState.Stopped,
        [(AgentState.Running, MachineVerb.Suspend)] = AgentState.Suspended,
        [(AgentState.Suspended, MachineVerb.Resume)] = AgentState.Running,
    };

    /// <summary>The state <paramref name="verb"/> leads to from <paramref name="state"/>, or null if refused.</summary>
    public static AgentState? Decide(AgentState state, MachineVerb verb) =>
        Table.TryGetValue((state, verb), out var next) ? next : null;

    /// <summary>The state <paramref name="verb"/> leads to, whatever it starts from.</summary>
    public static AgentState Target(MachineVerb verb) => verb switch
    {
        MachineVerb.Start or MachineVerb.Resume => AgentState.Running,
        MachineVerb.Stop => AgentState.Stopped,
        MachineVerb.Suspend => AgentState.Suspended,
        _ => throw new ArgumentOutOfRangeException(nameof(verb), verb, null),
    };

    /// <summary>
    /// Whether a command already happened (issue 13: actions are idempotent for a given machine and target version): the
    /// machine is at the command's new version in the state the command leads to. A front-end that lost the answer, or
    /// its reconciler, repeats the command and gets the result instead of a version mismatch.
    /// </summary>
    public static bool AlreadyDone(AgentState state, long version, MachineVerb verb, long newVersion) =>
        version == newVersion && state == Target(verb);

    /// <summary>A running machine is never deleted: its QEMU holds the disk (stop it first).</summary>
    public static bool CanDelete(AgentState state) => state != AgentState.Running;
}
