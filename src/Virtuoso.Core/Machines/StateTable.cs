namespace Virtuoso.Core.Machines;

/// <summary>States of a machine (report §4, Figure 2; design §3.3). The report's "started" is <see cref="Running"/>.</summary>
public enum MachineState { Registered, Stored, Running, Stopped, Suspended, Migrating }

/// <summary>What a buyer can ask of a machine (report §6.1.7 statusrelations).</summary>
public enum MachineAction
{
    Search, Edit, Store, Start, Stop, Suspend, Resume, Delete, Migrate, Console, MigrationStatus,
    /// <summary>Not the buyer's: the host's provider deleted the host (§6.1.1); the machine is registered again, version + 1.</summary>
    Evict,
}

/// <summary>The result of an allowed action: the state it leads to and how much the version grows.</summary>
/// <param name="Next">State after the action; null when the machine is gone (delete).</param>
/// <param name="VersionDelta">0 or 1: store, stop, suspend and a completed migration add one (§4).</param>
public sealed record Transition(MachineState? Next, int VersionDelta);

/// <summary>
/// The state table of design §3.3 as data. Every (state, action) pair not in the table is refused, always
/// the same way. Migration's own end (success → previous state, v+1; failure → previous state, same version)
/// is decided by <see cref="MigrationEnd"/> because it depends on the state before migrating.
/// </summary>
public static class StateTable
{
    private static readonly Dictionary<(MachineState, MachineAction), Transition> Table = new()
    {
        [(MachineState.Registered, MachineAction.Search)] = new(MachineState.Registered, 0),
        [(MachineState.Registered, MachineAction.Edit)] = new(MachineState.Registered, 0),
        [(MachineState.Registered, MachineAction.Store)] = new(MachineState.Stored, 1),
        [(MachineState.Registered, MachineAction.Delete)] = new(null, 0),

        [(MachineState.Stored, MachineAction.Start)] = new(MachineState.Running, 0),
        [(MachineState.Stored, MachineAction.Migrate)] = new(MachineState.Migrating, 0),
        [(MachineState.Stored, MachineAction.Delete)] = new(null, 0),
        [(MachineState.Stored, MachineAction.Evict)] = new(MachineState.Registered, 1),

        [(MachineState.Running, MachineAction.Stop)] = new(MachineState.Stopped, 1),
        [(MachineState.Running, MachineAction.Console)] = new(MachineState.Running, 0),
        [(MachineState.Running, MachineAction.Suspend)] = new(MachineState.Suspended, 1),
        [(MachineState.Running, MachineAction.Evict)] = new(MachineState.Registered, 1),

        [(MachineState.Stopped, MachineAction.Start)] = new(MachineState.Running, 0),
        [(MachineState.Stopped, MachineAction.Migrate)] = new(MachineState.Migrating, 0),
        [(MachineState.Stopped, MachineAction.Delete)] = new(null, 0),
        [(MachineState.Stopped, MachineAction.Evict)] = new(MachineState.Registered, 1),

        [(MachineState.Suspended, MachineAction.Resume)] = new(MachineState.Running, 0),
        [(MachineState.Suspended, MachineAction.Migrate)] = new(MachineState.Migrating, 0),
        [(MachineState.Suspended, MachineAction.Delete)] = new(null, 0),
        [(MachineState.Suspended, MachineAction.Evict)] = new(MachineState.Registered, 1),

        [(MachineState.Migrating, MachineAction.MigrationStatus)] = new(MachineState.Migrating, 0),
    };

    /// <summary>The transition for <paramref name="action"/> in <paramref name="state"/>, or null if refused.</summary>
    public static Transition? Decide(MachineState state, MachineAction action) =>
        Table.TryGetValue((state, action), out var t) ? t : null;

    /// <summary>The actions a machine in <paramref name="state"/> allows, in a stable order.</summary>
    public static IReadOnlyList<MachineAction> Allowed(MachineState state) =>
        Enum.GetValues<MachineAction>().Where(a => Table.ContainsKey((state, a))).ToList();

    /// <summary>End of a migration (design §3.3, §6.2): back to the previous state, v+1 on success only.</summary>
    public static Transition MigrationEnd(MachineState previous, bool success) => new(previous, success ? 1 : 0);

    /// <summary>Whether a machine in this state is held by a host (its capacity is reserved there).</summary>
    public static bool IsOnHost(MachineState state) => state != MachineState.Registered;
}
