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
/// <param name="Next">What to do.</param>
/// <param name="Reason">For a revert: why, in words for the owner.</param>
/// <param name="IgnoreResp">
/// The recorded RESP contradicts the destination's own API (it still copies, or holds the copy pending at VERSION + 1)
/// and was not believed: the shell clears it from the record, so the real RESP can still be recorded, and logs it.
/// </param>
public sealed record MigrationStep(MigrationNext Next, string? Reason = null, bool IgnoreResp = false);

/// <summary>
/// Given a migration's record and what the agents report, what happens next (design §6.2, report §7.1.6 and §7.3).
/// Pure: the front-end's listener, its monitor and its recovery at startup all act on this one function. Anyone who can
/// reach the front-end's VMMP listener can send a RESP, so a RESP is never believed on its own, in either direction:
/// only the destination's API (GET /v1/migrations/{id}, authenticated by the host secret) can confirm or contradict it.
/// The rules, in order:
/// <list type="number">
/// <item>Done or reverted: nothing. Committed: finish (activate and retire, repeated until both succeed).</item>
/// <item>A RESP the destination's API contradicts is ignored (<see cref="MigrationStep.IgnoreResp"/>: forgotten, so the
/// real one can still come): a RESP FAIL, or a RESP SUCCESS at another version, while the destination reports the copy
/// still under way (expected, copying, verifying) or held pending (or active) at exactly VERSION + 1; a RESP SUCCESS
/// while it still copies (an early one). The rules below then go on as if no RESP had come.</item>
/// <item>A destination holding the copy pending (or active) at exactly VERSION + 1 commits once a RESP SUCCESS at
/// VERSION + 1 arrived, or once its heartbeats stopped (a front-end that restarted after the RESP finds it so).</item>
/// <item>A RESP FAIL reverts: the destination reports the migration failed, no longer knows it, does not answer, or
/// holds a copy at another version.</item>
/// <item>A RESP SUCCESS the destination does not confirm (it reports the migration failed, missing, or a copy at another
/// version, or does not answer), or one at another version, reverts.</item>
/// <item>A destination that reports the migration failed, or that no longer knows it once heartbeats stopped, reverts;
/// so do missing heartbeats whatever it says (a copy under way whose heartbeats stopped is abandoned, ignored RESP or not).</item>
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
        var confirmed = f.Destination is DestinationReport.Pending or DestinationReport.Active && f.DestinationNewVersion == next;
        var stillCopying = f.Destination is DestinationReport.Expected or DestinationReport.Copying or DestinationReport.Verifying;
        var believable = f.Resp is { Success: true } s && s.Version == next;
        var ignored = f.Resp is not null && (stillCopying || confirmed && !believable);
        var step = Decide(f, ignored ? null : f.Resp, next, confirmed);
        return ignored ? step with { IgnoreResp = true } : step;
    }

    private static MigrationStep Decide(MigrationFacts f, (bool Success, long Version)? resp, long next, bool confirmed)
    {
        var because = f.DestinationError is { Length: > 0 } error ? $": {error}" : "";
        if (confirmed && (resp is { Success: true } || f.HeartbeatOverdue))
            return new(MigrationNext.Commit);
        if (resp is { Success: false })
            return new(MigrationNext.Revert, "the destination reported the migration failed (RESP FAIL)" + because);
        if (resp is { Success: true } bad && bad.Version != next)
            return new(MigrationNext.Revert, $"the destination reported success at version {bad.Version}, not {next}");
        if (resp is { Success: true })
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
