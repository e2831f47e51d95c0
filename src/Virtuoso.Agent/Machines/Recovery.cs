namespace Virtuoso.Agent.Machines;

/// <summary>What the guest is doing, as far as the VMM can tell (QEMU's query-status, reduced).</summary>
internal enum GuestStatus
{
    Running,
    /// <summary>Not executing, and could go on with a continue (paused, or just after saving its state).</summary>
    Paused,
    /// <summary>Still reading its saved memory state (a resume in progress).</summary>
    Loading,
    /// <summary>Anything else, or the VMM did not answer.</summary>
    Unknown,
}

/// <summary>What the agent finds of a machine: whether its VMM process lives, what the guest does, whether a saved state exists.</summary>
internal sealed record Observation(bool Alive, GuestStatus Status, bool SavedState)
{
    /// <summary>The state reported to the front-end: the truth of the process, never the record's wish.</summary>
    public AgentState State => Alive ? AgentState.Running : SavedState ? AgentState.Suspended : AgentState.Stopped;
}

internal enum RecoveryStep { None, Continue, Kill }

/// <summary>What to do with one machine after an agent restart.</summary>
/// <param name="Intent">The intent to record (persisted only when it differs from the record's).</param>
/// <param name="DiscardSavedState">Delete a saved state that the guest has run past (or will, by <see cref="RecoveryStep.Continue"/>).</param>
internal sealed record RecoveryPlan(AgentState Intent, bool DiscardSavedState, RecoveryStep Step);

/// <summary>
/// Decides how to finish or undo a command that an agent crash interrupted (design §5: "either the old or the new
/// state"). The commit point of every command is the write of machine.json, so the record's intent says which way
/// to go. Invariant kept throughout: a saved state file exists only while the guest has not run since it was saved,
/// so resuming from it can never pair an old memory image with a newer disk.
/// </summary>
internal static class Recovery
{
    public static RecoveryPlan Decide(AgentState intent, Observation o)
    {
        if (!o.Alive)
            // QEMU is gone (crash, host reboot, guest powered itself off): report what is there.
            return new(o.SavedState ? AgentState.Suspended : AgentState.Stopped, false, RecoveryStep.None);

        return (o.Status, intent) switch
        {
            // It runs, so any saved state is stale.
            (GuestStatus.Running, _) => new(AgentState.Running, o.SavedState, RecoveryStep.None),
            // A resume that loaded the state but never committed, or a suspend that committed but never quit:
            // the saved state is good and the guest has not run since; drop the process.
            (GuestStatus.Paused or GuestStatus.Loading, AgentState.Suspended) when o.SavedState =>
                new(AgentState.Suspended, false, RecoveryStep.Kill),
            // A suspend that never committed (§6.3.4: a failed suspend leaves the machine running), or a resume
            // that committed but never continued: discard the state first, then let the guest run.
            (GuestStatus.Paused, _) => new(AgentState.Running, o.SavedState, RecoveryStep.Continue),
            // Loading without a committed suspend, or a VMM that does not answer: leave it alone, report it running.
            _ => new(AgentState.Running, false, RecoveryStep.None),
        };
    }
}
