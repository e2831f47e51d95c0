using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Accounts;
using Virtuoso.Core.Machines;
using Virtuoso.Core.Migration;

namespace Virtuoso.FrontEnd.Migration;

/// <summary>A row of <c>migrations</c>: the durable record of one migration (design §6.2).</summary>
internal sealed class MigrationRow
{
    public Guid Id { get; set; }
    public MachineId Machine { get; set; }
    public AccountName Owner { get; set; }
    public string Origin { get; set; } = "";
    public string Destination { get; set; } = "";
    public string Method { get; set; } = "";
    public long Version { get; set; }
    public MachineState PreviousState { get; set; }
    /// <summary>The state before the migration as its column stores it, for parameters (Dapper binds an enum as its number).</summary>
    public string StoredPreviousState => Machines.MachineRow.StateText(PreviousState);
    public string Phase { get; set; } = "";
    public string? Error { get; set; }
    public long? RespSuccess { get; set; }
    public long? RespVersion { get; set; }
    public DateTimeOffset? LastHeartbeat { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? CommittedAt { get; set; }
    public DateTimeOffset? EndedAt { get; set; }

    public const string Columns = "id, machine, owner, origin, destination, method, version, previous_state, phase, error, " +
        "resp_success, resp_version, last_heartbeat, created_at, committed_at, ended_at";

    public MigrationPhase MigrationPhase => Phase switch
    {
        MigrationStates.Open => Core.Migration.MigrationPhase.Open,
        MigrationStates.Committed => Core.Migration.MigrationPhase.Committed,
        MigrationStates.Done => Core.Migration.MigrationPhase.Done,
        MigrationStates.Reverted => Core.Migration.MigrationPhase.Reverted,
        _ => throw new InvalidOperationException($"migration {Id} has phase '{Phase}'"),
    };

    public (bool, long)? Resp => RespSuccess is { } s && RespVersion is { } v ? (s != 0, v) : null;

    public static DestinationReport Report(MigrationProgress? progress, bool missing) =>
        missing ? DestinationReport.Missing : progress?.Phase switch
        {
            MigrationPhases.Expected => DestinationReport.Expected,
            MigrationPhases.Copying => DestinationReport.Copying,
            MigrationPhases.Verifying => DestinationReport.Verifying,
            MigrationPhases.Pending => DestinationReport.Pending,
            MigrationPhases.Active => DestinationReport.Active,
            MigrationPhases.Failed => DestinationReport.Failed,
            _ => DestinationReport.Unknown,
        };

    public MigrationResponse ToResponse(MigrationProgress? p)
    {
        double? eta = p is { BytesPerSecond: > 0 } && p.BytesTotal >= p.BytesDone ? (p.BytesTotal - p.BytesDone) / p.BytesPerSecond : null;
        return new MigrationResponse(Id, Machine, Phase, Method, Origin, Destination, Version, Machines.MachineRow.StateText(PreviousState), Error,
            CreatedAt, EndedAt,
            p?.Phase, p?.BytesTotal, p?.BytesDone, p?.BytesOnWire, p?.BytesPerSecond, eta);
    }
}
