namespace Virtuoso.Core.Migration;

/// <summary>Where a migration stands in the front-end's durable record (design §6.2).</summary>
public enum MigrationPhase { Open, Committed, Done, Reverted }

/// <summary>What the destination agent reports about the incoming migration (GET /v1/migrations/{id}).</summary>
public enum DestinationReport
{
    /// <summary>It did not answer (unreachable, timeout, error): nothing is known.</summary>
    Unknown,
    /// <summary>It answered that it knows no such migration (404).</summary>
    Missing,
    Expected,
    Copying,
    Verifying,
    /// <summary>Copied and verified, waiting for activation.</summary>
    Pending,
    /// <summary>Already activated (only ever after a commit).</summary>
    Active,
    Failed,
}

/// <summary>Everything the decision needs: the record, what the destination said over VMMP and over its API, and the clock's verdict.</summary>
/// <param name="Version">The machine's version when the migration began.</param>
/// <param name="Resp">The RESP received for it, if any: success and VERSION'.</param>
/// <param name="HeartbeatOverdue">No HEARTBEAT (nor the start) within the heartbeat timeout.</param>
/// <param name="DestinationNewVersion">The version the destination holds the copy at (its NewVersion), if it said.</param>
/// <param name="DestinationError">Why the destination says its copy failed, if it said: the owner is told.</param>
public sealed record MigrationFacts(
    MigrationPhase Phase, long Version, (bool Success, long Version)? Resp, bool HeartbeatOverdue,
    DestinationReport Destination, long? DestinationNewVersion, string? DestinationError = null);

/// <summary>What to do next with a migration.</summary>
public enum MigrationNext
{
    /// <summary>Nothing yet: the copy is under way.</summary>
    Wait,
    /// <summary>Commit in one transaction (design §6.2 step 4), then finish.</summary>
    Commit,
    /// <summary>Back to the previous state and version; the destination discards its copy, the origin its export.</summary>
    Revert,
    /// <summary>Committed: activate on the destination and retire on the origin (both idempotent) until they succeed.</summary>
    Finish,
    /// <summary>Over (done or reverted).</summary>
    None,
}

/// <summary>The decision and, for a revert, the reason the owner is told.</summary>
public sealed record MigrationStep(MigrationNext Next, string? Reason = null);

/// <summary>
/// Given a migration's record and what the agents report, what happens next (design §6.2, report §7.1.6 and §7.3).
/// Pure: the front-end's listener, its monitor and its recovery at startup all act on this one function. The rules,
/// in order:
/// <list type="number">
/// <item>Done or reverted: nothing. Committed: finish (activate and retire, repeated until both succeed).</item>
/// <item>A RESP FAIL reverts.</item>
/// <item>A destination holding the copy pending (or active) at exactly VERSION + 1 commits once a RESP SUCCESS at
/// VERSION + 1 arrived, or once its heartbeats stopped (a front-end that restarted after the RESP finds it so).</item>
/// <item>A RESP SUCCESS the destination does not confirm (not pending at VERSION + 1), or one at another version, reverts:
/// a RESP alone is never trusted.</item>
/// <item>A destination that reports the migration failed, or that no longer knows it once heartbeats stopped, reverts;
/// so do missing heartbeats whatever it says.</item>
/// <item>Otherwise wait.</item>
/// </list>
/// The machine is never lost: before a commit it stays on the origin, which holds it at VERSION and only gives it up
/// when retired after the commit; the destination activates only when told after the commit.
/// </summary>
public static class MigrationDecision
{
    public static MigrationStep Decide(MigrationFacts f)
    {
        switch (f.Phase)
        {
            case MigrationPhase.Done or MigrationPhase.Reverted: return new(MigrationNext.None);
            case MigrationPhase.Committed: return new(MigrationNext.Finish);
        }

        var next = f.Version + 1;
        var because = f.DestinationError is { Length: > 0 } error ? $": {error}" : "";
        if (f.Resp is { Success: false })
            return new(MigrationNext.Revert, "the destination reported the migration failed (RESP FAIL)" + because);
        if (f.Resp is { Success: true } bad && bad.Version != next)
            return new(MigrationNext.Revert, $"the destination reported success at version {bad.Version}, not {next}");

        var confirmed = f.Destination is DestinationReport.Pending or DestinationReport.Active && f.DestinationNewVersion == next;
        if (confirmed && (f.Resp is { Success: true } || f.HeartbeatOverdue))
            return new(MigrationNext.Commit);
        if (f.Resp is { Success: true })
            return new(MigrationNext.Revert, f.Destination == DestinationReport.Unknown
                ? "the destination reported success but did not answer when asked to confirm it"
                : $"the destination reported success but holds no copy pending at version {next} (it reports {Text(f.Destination)}" +
                  (f.DestinationNewVersion is { } v ? $" at version {v}" : "") + ")");
        if (f.Destination == DestinationReport.Failed)
            return new(MigrationNext.Revert, "the destination reports the migration failed" + because);
        if (f.HeartbeatOverdue)
            return new(MigrationNext.Revert, f.Destination == DestinationReport.Missing
                ? "the destination no longer knows the migration and sent no heartbeat in time"
                : "no heartbeat from the destination in time");
        return new(MigrationNext.Wait);
    }

    private static string Text(DestinationReport r) => r.ToString().ToLowerInvariant();
}
