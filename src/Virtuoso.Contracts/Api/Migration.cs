namespace Virtuoso.Contracts.Api;

/// <summary>POST /api/v1/machines/{id}/migrate: move a stored, stopped or suspended machine to another host (report §5.1.5, §7.3).</summary>
/// <param name="Host">The destination host (see GET /api/v1/machines/{id}/migration-targets).</param>
/// <param name="Method">A transfer method the destination advertises: SCP, RSYNC or DEDUP (design §6.3).</param>
public sealed record MigrateRequest(string Host, string Method);

/// <summary>Phases of a migration as the front-end records it (design §6.2).</summary>
public static class MigrationStates
{
    /// <summary>Started: the machine is <c>migrating</c>, the destination copies it.</summary>
    public const string Open = "open";
    /// <summary>Committed on the front-end (the machine now belongs to the destination); activation and retirement still to confirm.</summary>
    public const string Committed = "committed";
    /// <summary>Committed, activated on the destination and retired on the origin.</summary>
    public const string Done = "done";
    /// <summary>Failed before the commit: the machine stayed on the origin in its previous state and version.</summary>
    public const string Reverted = "reverted";
}

/// <summary>
/// A migration (POST .../migrate answers it with 202; GET .../migration gives the latest one). Progress fields come
/// from the destination agent while the migration is open and are null when it did not answer.
/// </summary>
/// <param name="Phase">open, committed, done or reverted (<see cref="MigrationStates"/>).</param>
/// <param name="Version">The machine's version when the migration began; a successful one ends at Version + 1.</param>
/// <param name="PreviousState">The state the machine returns to: stored, stopped or suspended.</param>
/// <param name="Error">Why it was reverted.</param>
/// <param name="DestinationPhase">What the destination reports: expected, copying, verifying, pending, active or failed.</param>
/// <param name="BytesPerSecond">The current transfer rate.</param>
/// <param name="EtaSeconds">Estimated seconds to arrival at the current rate; null when unknown.</param>
public sealed record MigrationResponse(
    Guid Id, Guid Machine, string Phase, string Method, string From, string To, long Version, string PreviousState,
    string? Error, DateTimeOffset StartedAt, DateTimeOffset? EndedAt,
    string? DestinationPhase, long? BytesTotal, long? BytesDone, long? BytesOnWire, double? BytesPerSecond, double? EtaSeconds);

/// <summary>GET /api/v1/machines/{id}/migration-targets: every other host with room for the machine (report Figure 20).</summary>
/// <param name="Note">What a move costs: one storage period at the destination's price on arrival; prepaid running time is not carried.</param>
/// <param name="Hours">Issue 18: the hours a month the targets' <see cref="MigrationTarget.MonthlyTotal"/> assume (<c>?hours=</c>, else 730).</param>
/// <param name="Forfeit">What leaving the origin now gives up (and charges first, for storage periods begun there).</param>
public sealed record MigrationTargetsResponse(Guid Machine, string From, IReadOnlyList<MigrationTarget> Hosts, string Note,
    decimal Hours = 0, ForfeitResponse? Forfeit = null);

/// <summary>One host a machine can migrate to, with its prices for this machine.</summary>
/// <param name="StorageRate">Dollars per month.</param>
/// <param name="RunningRate">Dollars per hour.</param>
/// <param name="ArrivalCharge">Charged on arrival: one storage period at this host's price (design §4).</param>
/// <param name="Methods">The methods its agent advertises (VMMP RESULTS), or null when not known yet.</param>
/// <param name="MonthlyTotal">Storage rate + running rate × the response's hours, exact; targets are sorted by it.</param>
public sealed record MigrationTarget(
    string Host, string Processor, decimal StorageRate, decimal RunningRate,
    decimal StorageCharge, long StoragePeriodDays, decimal RunningCharge, long RunningPeriodSeconds,
    decimal ArrivalCharge, IReadOnlyList<string>? Methods, int? VmmpPort, decimal MonthlyTotal = 0);
