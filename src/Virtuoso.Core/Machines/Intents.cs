namespace Virtuoso.Core.Machines;

/// <summary>
/// An action of the front-end that changes a machine on a host's agent (report §6.3: store, start, stop, suspend,
/// resume, delete; and the eviction of every machine when its provider deletes the host, §6.1.1
/// deletemachineprovider.pl). Each is recorded as an intent before the agent is called (design §5).
/// </summary>
public enum IntentAction { Store, Start, Stop, Suspend, Resume, Delete, Evict }

/// <summary>A machine as one host's agent holds it: absent, or present in one of its three states.</summary>
public enum HostState { Absent, Stopped, Running, Suspended }

/// <summary>
/// What the reconciler learned from the agent: whether it answered, and if so what it holds of the machine and at
/// which version (<see cref="Version"/> is meaningless when <see cref="State"/> is <see cref="HostState.Absent"/>).
/// </summary>
/// <param name="Offline">Not answered, and the host monitor has not reached the host for longer than its online window
/// either: the host is down, not just slow to answer this call.</param>
public sealed record HostView(bool Answered, HostState State, long Version, bool Offline = false)
{
    public static readonly HostView Unreachable = new(false, HostState.Absent, 0);
    public static readonly HostView Down = new(false, HostState.Absent, 0, Offline: true);
    public static HostView Absent => new(true, HostState.Absent, 0);
    public static HostView Holds(HostState state, long version) => new(true, state, version);
}

/// <summary>
/// An open intent: <see cref="Action"/> takes the machine from version <see cref="FromVersion"/> to
/// <see cref="ToVersion"/> on the agent. <see cref="Undoing"/> is set once the commit was refused (the buyer can no
/// longer pay, the host has no room left): from then on the action is taken back on the agent, never committed.
/// </summary>
public sealed record Intent(IntentAction Action, long FromVersion, long ToVersion, bool Undoing = false);

/// <summary>What to do next with an open intent.</summary>
public enum IntentStep
{
    /// <summary>The agent did not answer: keep the intent (the machine stays busy) and ask again later.</summary>
    Wait,
    /// <summary>The agent is where it was before: (re)send the action; agents answer a repeated action with its result.</summary>
    Act,
    /// <summary>The agent holds the target: commit the front-end's side.</summary>
    Commit,
    /// <summary>Send the action's undo (the commit was refused): the agent goes back to where it was.</summary>
    Undo,
    /// <summary>Close the intent without committing: the agent is back where it was, or holds another truth that the host monitor records.</summary>
    Abort,
}

/// <summary>
/// Intent first, then act, then commit, and reconcile what a crash left open (design §5, issue 13). The agent-side
/// ends of each action are data; <see cref="Decide"/> is the one ordered, pure decision that the live request and the
/// reconciler share, in the manner of <see cref="Migration.MigrationDecision"/>. Every agent action is idempotent
/// for its (machine, target version), so <see cref="IntentStep.Act"/> may be repeated safely by any replica.
/// </summary>
public static class IntentPlan
{
    /// <summary>Where the agent holds the machine before and after each action. A stored machine is "stopped" on its host.</summary>
    private static readonly Dictionary<IntentAction, (HostState[] From, HostState To)> Ends = new()
    {
        [IntentAction.Store] = ([HostState.Absent], HostState.Stopped),
        [IntentAction.Start] = ([HostState.Stopped], HostState.Running),
        [IntentAction.Resume] = ([HostState.Suspended], HostState.Running),
        [IntentAction.Stop] = ([HostState.Running], HostState.Stopped),
        [IntentAction.Suspend] = ([HostState.Running], HostState.Suspended),
        [IntentAction.Delete] = ([HostState.Stopped, HostState.Suspended], HostState.Absent),
        // Eviction stops a running guest first, then deletes: any state it is found in is a step on the way.
        [IntentAction.Evict] = ([HostState.Stopped, HostState.Suspended, HostState.Running], HostState.Absent),
    };

    /// <summary>The agent-side state the action leads to.</summary>
    public static HostState Target(IntentAction action) => Ends[action].To;

    /// <summary>The agent-side states the action starts from.</summary>
    public static IReadOnlyList<HostState> Sources(IntentAction action) => Ends[action].From;

    /// <summary>Only actions whose commit can be refused for money or room have an undo: store, start and resume.</summary>
    public static bool CanUndo(IntentAction action) => action is IntentAction.Store or IntentAction.Start or IntentAction.Resume;

    /// <summary>The next step for <paramref name="intent"/> given what the agent holds (<paramref name="view"/>).</summary>
    public static IntentStep Decide(Intent intent, HostView view)
    {
        if (!view.Answered)
            // A deleted host that is down may never answer again: its machines leave it anyway (their disks are lost with
            // it). One that is only slow (a graceful stop outlasting the call) is asked again.
            return intent.Action == IntentAction.Evict && view.Offline ? IntentStep.Commit : IntentStep.Wait;

        var (from, to) = Ends[intent.Action];
        var atTarget = view.State == to && (to == HostState.Absent || view.Version == intent.ToVersion);
        // An evicted machine is deleted whatever version its host holds: the host is going away.
        var atStart = from.Contains(view.State) && (view.State == HostState.Absent || view.Version == intent.FromVersion || intent.Action == IntentAction.Evict);

        if (intent.Undoing)
            // Undo of store deletes the copy; undo of start or resume stops or suspends at the same version.
            return atStart ? IntentStep.Abort : atTarget ? IntentStep.Undo : IntentStep.Abort;
        if (atTarget) return IntentStep.Commit;
        if (atStart) return IntentStep.Act;
        // Neither before nor after (the guest powered itself off while a stop was asked, a version moved on): the
        // action cannot complete as recorded. Close it; the host monitor records what the agent truthfully reports.
        return IntentStep.Abort;
    }
}
