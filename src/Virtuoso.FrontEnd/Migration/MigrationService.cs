using System.Collections.Concurrent;
using System.Data.Common;
using System.Net;
using System.Security.Cryptography;
using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.Contracts.Vmmp;
using Virtuoso.Core;
using Virtuoso.Core.Billing;
using Virtuoso.Core.Machines;
using Virtuoso.Core.Market;
using Virtuoso.Core.Migration;
using Virtuoso.FrontEnd.Agents;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Hosts;
using Virtuoso.FrontEnd.Http;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Migration;

/// <summary>
/// The front-end's migration agent (report §7.3, design §6.2): starts a migration, then drives it to its end by acting on
/// <see cref="MigrationDecision"/>, whoever calls — the VMMP listener on a HEARTBEAT or RESP, the monitor on a timeout,
/// recovery after a restart. Every state change is one transaction that first locks the migration's record and checks it
/// is still open, so two replicas (or a listener and a monitor) can never both commit, or commit and revert, one migration.
/// </summary>
internal sealed partial class MigrationService(
    Database db, Ledger ledger, Charges charges, EventLog events, AgentClient agents, VmmpClient vmmp, CentralAddress central,
    TimeProvider clock, IOptions<MarketOptions> market, IOptions<MigrationOptions> options, HostTls tls, Images.ImageCatalogue images,
    Isos.IsoService isos, Networks.NetworkSync sync, Telemetry.FrontEndMetrics metrics, ILogger<MigrationService> log)
{
    public const string ArrivalNote = "Arriving on a host costs one storage period at its price, charged when the migration commits; " +
        "prepaid running time is not carried to another host.";

    private readonly ConcurrentDictionary<Guid, SemaphoreSlim> _driving = new();

    // ---- the buyer's API ----

    public async Task<Outcome<MigrationResponse>> StartAsync(string owner, Guid id, MigrateRequest r, CancellationToken ct = default)
    {
        var row = await MachineAsync(owner, id);
        if (row is null) return Failure.MachineNotFound;
        if (StateTable.Decide(row.State, MachineAction.Migrate) is null)
            return new Failure(ErrorCodes.InvalidState, $"cannot migrate a machine that is {row.StoredState}" +
                (row.State == MachineState.Running ? ": stop or suspend it first" : "") + $" (allowed: {string.Join(", ", MachineRow.OfferedActions(row.State))})");
        if (string.IsNullOrWhiteSpace(r.Host)) return Failure.Validation("give the destination host: {\"host\": \"NAME\", \"method\": \"SCP\"}");
        if (string.IsNullOrWhiteSpace(r.Method) || !VmmpWire.IsMethod(r.Method))
            return Failure.Validation($"give the method, one of {string.Join(", ", VmmpMethods.All)}");
        if (await UnfinishedAsync(id) is { } unfinished)
            return new Failure(ErrorCodes.MigrationInProgress, $"migration {unfinished.Id} of this machine to {unfinished.Destination} is still {unfinished.Phase}");
        var destination = await db.ReadAsync(c => HostQueries.ByNameAsync(c, r.Host));
        if (destination is null) return Failure.NotFound($"host '{r.Host}'");
        if (destination.Name == row.Host) return new Failure(ErrorCodes.SameHost, $"the machine is already on {row.Host}: pick another host");
        var now = clock.GetUtcNow();
        if (NoRoom(destination, row, now) is { } noRoom) return noRoom;
        var balance = await db.ReadAsync(c => ledger.BalanceAsync(c, null, owner));
        if (balance.Dollars < 0)
            return new Failure(ErrorCodes.NegativeBalance, $"your balance is {Plain.Exact(balance)}: deposit funds before migrating (arriving costs a storage period)");
        var origin = await db.ReadAsync(c => HostQueries.ByNameAsync(c, row.Host!));
        if (origin is null) return Failure.NotFound($"host '{row.Host}'");
        var originIp = await VmmpClient.ResolveAsync(origin.Address, ct);
        if (originIp is null) return new Failure(ErrorCodes.AgentFailed, $"host {origin.Name}: its address {origin.Address} does not resolve to an IP");

        // 1. QUERY: the destination must offer the method (design §6.2 step 1).
        var methods = await vmmp.QueryAsync(destination, id, ct);
        if (methods.Failure is { } queryFailed) return queryFailed;
        if (!methods.Value!.Contains(r.Method, StringComparer.Ordinal))
            return new Failure(ErrorCodes.MethodUnsupported,
                $"host {destination.Name} does not offer {r.Method}; it offers {(methods.Value!.Count == 0 ? "no method" : string.Join(", ", methods.Value!))}");

        // 2. The durable record and 'migrating', in one transaction, re-checking room under the destination's row lock.
        var migration = new MigrationRow
        {
            Id = Guid.NewGuid(), Machine = row.Id, Owner = new(owner), Origin = origin.Name, Destination = destination.Name,
            Method = r.Method, Version = row.Version, PreviousState = row.State, Phase = MigrationStates.Open, CreatedAt = now,
        };
        var started = await db.WriteAsync<Failure?>(async (c, tx) =>
        {
            // Both hosts locked, in name order (no deadlock with a migration the other way): neither may be deleted meanwhile.
            foreach (var name in new[] { origin.Name, destination.Name }.Order(StringComparer.Ordinal))
                await c.ExecuteAsync("SELECT name FROM hosts WHERE name = @name" + db.ForUpdate, new { name }, tx);
            var locked = await HostQueries.ByNameAsync(c, destination.Name, tx);
            if (locked is null || locked.Deleting != 0) return Failure.NotFound($"host '{r.Host}'");
            if ((await HostQueries.ByNameAsync(c, origin.Name, tx))?.Deleting != 0)
                return new Failure(ErrorCodes.HostOffline, $"host {origin.Name} is being deleted by its provider: the machine is leaving it");
            if (NoRoom(locked, row, now) is { } gone) return gone;
            if (!await MachineWriter.BeginMigrationAsync(c, tx, row)) return await MachineWriter.BusyOrChangedAsync(c, tx, row.Id);
            await c.ExecuteAsync($"INSERT INTO migrations ({MigrationRow.Columns}) VALUES (@Id, @Machine, @Owner, @Origin, @Destination, @Method, @Version, " +
                "@StoredPreviousState, @Phase, @Error, @RespSuccess, @RespVersion, @LastHeartbeat, @CreatedAt, @CommittedAt, @EndedAt)", migration, tx);
            await events.AppendAsync(c, tx, "migration-started", id, owner,
                $"migrating from {origin.Name} to {destination.Name} with {r.Method} (version {row.Version}, was {row.StoredState}); migration {migration.Id}");
            return null;
        }, f => f is null);
        if (started is { } refused) return refused;
        metrics.MigrationStarted(r.Method);

        // 3. Both agents told, with a token only this migration knows; then the REQ (steps 2–3 of MigrationApi's header).
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();
        // The machine keeps the CPU share and vCPUs it was stored with (design §12): the origin's agent holds them.
        var atOrigin = await agents.GetAsync(origin, id, ct);
        var failure = atOrigin.Failure
            // Issue 20: the origin serves the copy only to the destination's certificate (with the token), over https when it has TLS.
            ?? await agents.ExportAsync(origin, id, new ExportRequest(row.Version, token, destination.Name), ct)
            ?? await agents.ExpectAsync(destination, id, new IncomingMigration(row.Version, r.Method, tls.TransferBase(origin, originIp), origin.Name, token,
                row.Mac, row.Speed, row.Memory, row.Disk, row.Image, atOrigin.Value!.CpuMillicores, atOrigin.Value.Vcpus,
                row.Image is { } image ? await images.SourceAsync(image, destination.Name) : null,
                await images.CdromAsync(isos, id, destination.Name)), ct);
        if (failure is null)
        {
            var (centralIp, centralPort) = central.Get();
            failure = await vmmp.RequestAsync(destination, new VmmpReq(id, row.Version, originIp, (int)origin.Port, centralIp, centralPort, r.Method), ct);
        }
        if (failure is not null && await RevertAsync(migration.Id, failure.Message, ct))
            return failure;
        var current = await RecordAsync(migration.Id);
        return current!.ToResponse(null);
    }

    public async Task<Outcome<MigrationResponse>> StatusAsync(string owner, Guid id, CancellationToken ct = default)
    {
        if (await MachineAsync(owner, id) is null) return Failure.MachineNotFound;
        var latest = await db.ReadAsync(c => c.QueryFirstOrDefaultAsync<MigrationRow>(
            $"SELECT {MigrationRow.Columns} FROM migrations WHERE machine = @id ORDER BY seq DESC LIMIT 1", new { id = id }));
        if (latest is null) return Failure.NotFound("migration of this machine");
        MigrationProgress? progress = null;
        if (latest.Phase == MigrationStates.Open && await HostAsync(latest.Destination) is { } destination)
            progress = (await agents.ProgressAsync(destination, id, ct)).Progress;
        return latest.ToResponse(progress);
    }

    /// <summary>
    /// Every other host with room, cheapest first for <paramref name="hours"/> hours of running a month (issue 18), and what
    /// leaving the origin now gives up (<see cref="Departure.Leave"/>: storage periods begun there are charged first).
    /// </summary>
    public async Task<Outcome<MigrationTargetsResponse>> TargetsAsync(string owner, Guid id, decimal hours = UsageCost.DefaultHoursPerMonth)
    {
        var row = await MachineAsync(owner, id);
        if (row is null) return Failure.MachineNotFound;
        if (row.Host is null) return new Failure(ErrorCodes.InvalidState, "the machine is registered only: store it before migrating it");
        var now = clock.GetUtcNow();
        var hosts = await db.ReadAsync(c => HostQueries.AllAsync(c));
        var targets = hosts
            .Where(h => h.Name != row.Host && Matching.RoomReasons(h.Offer(now, market.Value.OnlineWindow), row.Spec).Count == 0)
            .Select(h =>
            {
                var p = h.Pricing;
                var (storageRate, runningRate) = (p.StorageRatePerMonth(row.Spec), p.RunningRatePerHour(row.Spec));
                return new MigrationTarget(h.Name, h.Processor, storageRate.Dollars, runningRate.Dollars,
                    p.StorageCharge(row.Spec).Dollars, p.StoragePeriodDays, p.RunningCharge(row.Spec).Dollars, p.RunningPeriodSeconds,
                    p.StorageCharge(row.Spec).Dollars, h.MethodList, (int?)h.VmmpPort, UsageCost.Monthly(storageRate, runningRate, hours).Dollars);
            })
            .OrderBy(t => t.MonthlyTotal).ThenBy(t => t.StorageRate).ThenBy(t => t.RunningRate).ThenBy(t => t.Host, StringComparer.Ordinal)
            .ToList();
        return new MigrationTargetsResponse(id, row.Host, targets, ArrivalNote, hours, MachineService.ForfeitOf(row, now, Departure.Leave));
    }

    // ---- what the destination says over VMMP (the listener calls these) ----

    /// <summary>
    /// Issue 20: the host the open migration of <paramref name="machine"/> goes to: a HEARTBEAT or RESP about it must be
    /// proven with its secret (only that destination and the front-end hold it) and, over TLS, come with its certificate.
    /// Null when no migration of it is open.
    /// </summary>
    public Task<HostRow?> DestinationAsync(Guid machine) =>
        db.ReadAsync(async c => await c.QueryFirstOrDefaultAsync<string?>(
            "SELECT destination FROM migrations WHERE machine = @machine AND phase = 'open'", new { machine }) is { } name
            ? await HostQueries.ByNameAsync(c, name) : null);

    /// <summary>A HEARTBEAT: the open migration of the machine is alive. False when there is none.</summary>
    public async Task<bool> HeartbeatAsync(Guid machine) =>
        await db.ReadAsync(c => c.ExecuteAsync("UPDATE migrations SET last_heartbeat = @now WHERE machine = @machine AND phase = 'open'",
            new { now = clock.GetUtcNow(), machine = machine })) > 0;

    /// <summary>
    /// A RESP from <paramref name="peer"/>: recorded (so a restart still sees it), then acted on — but only as far as the
    /// destination's API bears it out (<see cref="MigrationDecision"/>): one it contradicts is forgotten again, so the real
    /// RESP can still be recorded. False when no migration of the machine is open.
    /// </summary>
    public async Task<bool> RespAsync(VmmpResp resp, string peer, CancellationToken ct = default)
    {
        var id = await db.ReadAsync(c => c.QueryFirstOrDefaultAsync<Guid?>("SELECT id FROM migrations WHERE machine = @machine AND phase = 'open'",
            new { machine = resp.MachineId }));
        if (id is not { } open) return false;
        var recorded = await RecordRespAsync(open, resp);
        await DriveAsync(open, recorded ? peer : RecordedPeer, ct);
        // Another RESP held the record (a forged one, say) and may just have been forgotten: this one gets its turn.
        if (!recorded && await RecordRespAsync(open, resp))
            await DriveAsync(open, peer, ct);
        return true;
    }

    /// <summary>Records the RESP unless the record already holds one (or is no longer open); true when recorded.</summary>
    private async Task<bool> RecordRespAsync(Guid id, VmmpResp resp) =>
        await db.ReadAsync(c => c.ExecuteAsync("UPDATE migrations SET resp_success = @s, resp_version = @v, last_heartbeat = @now WHERE id = @id AND phase = 'open' AND resp_success IS NULL",
            new { s = resp.Success ? 1 : 0, v = resp.Version, now = clock.GetUtcNow(), id })) > 0;

    // ---- driving a migration to its end ----

    /// <summary>
    /// The migrations the monitor must look at: committed ones (to finish), and open ones that got a RESP or whose
    /// heartbeats stopped (including those of a front-end that died: recovery).
    /// </summary>
    public async Task<int> DriveDueAsync(CancellationToken ct = default)
    {
        var overdue = clock.GetUtcNow() - options.Value.HeartbeatTimeout;
        var due = (await db.ReadAsync(c => c.QueryAsync<Guid>(
            "SELECT id FROM migrations WHERE phase = 'committed' OR (phase = 'open' AND (resp_success IS NOT NULL OR COALESCE(last_heartbeat, created_at) < @overdue)) ORDER BY seq",
            new { overdue }))).ToList();
        foreach (var id in due)
        {
            ct.ThrowIfCancellationRequested();
            try { await DriveAsync(id, RecordedPeer, ct); }
            catch (Exception e) when (e is not OperationCanceledException) { LogDriveFailed(log, id, e); }
        }
        return due.Count;
    }

    /// <summary>Who sent a RESP the monitor finds in the record: the listener that took it logged the peer then.</summary>
    private const string RecordedPeer = "(recorded earlier)";

    /// <summary>
    /// Decides what the migration needs now (<see cref="MigrationDecision"/>) and does it. <paramref name="peer"/> is who
    /// sent the RESP being acted on, for the log when it is not believed.
    /// </summary>
    public async Task DriveAsync(Guid id, string peer = RecordedPeer, CancellationToken ct = default)
    {
        var gate = _driving.GetOrAdd(id, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            var m = await RecordAsync(id);
            if (m is null) return;
            var facts = new MigrationFacts(m.MigrationPhase, m.Version, m.Resp, false, DestinationReport.Unknown, null);
            MigrationProgress? progress = null;
            if (m.Phase == MigrationStates.Open)
            {
                var lastSign = m.LastHeartbeat ?? m.CreatedAt;
                var destination = await HostAsync(m.Destination);
                bool missing;
                (progress, missing, _) = destination is null ? (null, true, null) : await agents.ProgressAsync(destination, m.Machine, ct);
                facts = facts with
                {
                    HeartbeatOverdue = clock.GetUtcNow() - lastSign > options.Value.HeartbeatTimeout,
                    Destination = MigrationRow.Report(progress, missing),
                    DestinationNewVersion = progress?.NewVersion,
                    DestinationError = progress?.Error,
                };
            }
            var step = MigrationDecision.Decide(facts);
            if (step.IgnoreResp && m.Resp is { } ignored)
                await ForgetRespAsync(m, ignored, facts, peer);
            switch (step.Next)
            {
                case MigrationNext.Commit:
                    if (await CommitAsync(id))
                    {
                        metrics.MigrationEnded(m.Method, "committed", clock.GetUtcNow() - m.CreatedAt, progress?.BytesOnWire);
                        // Issue 16: the machine's network is now carried by the destination, maybe no longer by the origin: tell both and the peers.
                        sync.Nudge([m.Origin, m.Destination],
                            await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<long?>("SELECT network FROM machines WHERE id = @id", new { id = m.Machine })));
                        await FinishAsync(id, ct);
                    }
                    break;
                case MigrationNext.Revert:
                    await RevertAsync(id, step.Reason!, ct);
                    break;
                case MigrationNext.Finish:
                    await FinishAsync(id, ct);
                    break;
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// A RESP the destination's API contradicts (anyone who reaches the listener can send one): cleared from the record,
    /// only if it is still the one recorded, so that the destination's real RESP can be recorded when it comes.
    /// </summary>
    private async Task ForgetRespAsync(MigrationRow m, (bool Success, long Version) resp, MigrationFacts facts, string peer)
    {
        await db.ReadAsync(c => c.ExecuteAsync("UPDATE migrations SET resp_success = NULL, resp_version = NULL " +
            "WHERE id = @id AND phase = 'open' AND resp_success = @s AND resp_version = @v",
            new { id = m.Id, s = resp.Success ? 1 : 0, v = resp.Version }));
        var destination = facts.Destination.ToString().ToLowerInvariant() + (facts.DestinationNewVersion is { } v ? $" at version {v}" : "");
        LogRespIgnored(log, m.Id, peer, m.Machine, resp.Version, resp.Success ? "SUCCESS" : "FAIL", destination);
    }

    /// <summary>
    /// Design §6.2 step 4, in one transaction: the machine moves to the destination (pairing, so both hosts' reserved
    /// capacity follows), version + 1, back to its previous state, a new stay whose first storage period is charged at the
    /// destination's price (design §4), prepaid running time left behind; the record committed. False when the record was
    /// no longer open (another replica or an earlier call ended it).
    /// </summary>
    private Task<bool> CommitAsync(Guid id) => db.WriteAsync(async (c, tx) =>
    {
        var m = await LockOpenAsync(c, tx, id);
        if (m is null) return false;
        var now = clock.GetUtcNow();
        await c.ExecuteAsync("SELECT name FROM hosts WHERE name = @name" + db.ForUpdate, new { name = m.Destination }, tx);
        var destination = await HostQueries.ByNameAsync(c, m.Destination, tx);
        var row = await c.QuerySingleOrDefaultAsync<MachineRow>($"SELECT {MachineRow.Columns} FROM machines WHERE id = @id{db.ForUpdate}", new { id = m.Machine }, tx);
        if (destination is null || row is null || row.State != MachineState.Migrating || row.Version != m.Version || row.Host != m.Origin)
        {
            LogInconsistent(log, id, row is null ? null : MachineRow.StateText(row.State), row?.Version, row?.Host);
            return false;
        }
        var originOwner = await c.QuerySingleOrDefaultAsync<string>("SELECT owner FROM hosts WHERE name = @name", new { name = m.Origin }, tx);
        await ledger.LockAsync(c, tx, new[] { m.Owner, destination.Owner, originOwner }.OfType<string>());

        // Storage periods begun on the origin and not yet charged are owed all the same (design §4: charged at the
        // beginning of each period); the daemon will not look at the old stay again.
        var notes = new List<string>();
        if (originOwner is not null && row.ArrivedAt is not null)
            foreach (var charge in (await charges.ApplyAsync(c, tx, row, BillingOccasion.Leave, originOwner, now)).Charges)
                notes.Add($"storage period {charge.Period} on {m.Origin}: {Plain.Exact(charge.Amount)}");

        var pricing = destination.Pricing;
        var storage = pricing.StorageCharge(row.Spec);
        var stay = row.Stay + 1;
        var newVersion = m.Version + 1;
        if (!await MachineWriter.MoveAsync(c, tx, m.Machine, m.Version, m.PreviousState, destination, row.Spec, stay, now))
            throw new InvalidOperationException($"migration {id}: the machine row changed under its lock");
        // §4: storage is always charged (a balance may go negative); the key's new stay keeps it apart from the origin's periods.
        await ledger.TransferAsync(c, tx, ChargeKey.Storage(row.Id, stay, 1), TransferKinds.Storage, storage, m.Owner, destination.Owner, row.Id, destination.Name, now);
        await c.ExecuteAsync("UPDATE migrations SET phase = 'committed', committed_at = @now WHERE id = @id", new { now, id }, tx);

        var left = row.RunningTime.LeftAt(now, row.RunningPeriodSecondsValue);
        await events.AppendAsync(c, tx, "migrated", row.Id, m.Owner,
            $"migrated from {m.Origin} to {destination.Name} with {m.Method}: {m.PreviousState} again, version {newVersion}; charged {Plain.Exact(storage)} for " +
            $"{pricing.StoragePeriodDays} days of storage on arrival" + (notes.Count > 0 ? $" (and, before leaving, {string.Join("; ", notes)})" : "") +
            (left > 0 ? $"; {Plain.Duration(left)} of prepaid running time on {m.Origin} is not carried over" : ""));
        await events.AppendAsync(c, tx, "migrated", row.Id, destination.Owner, $"{m.Owner}'s machine {row.Name} arrived on your host {destination.Name} from {m.Origin}");
        if (originOwner is not null)
            await events.AppendAsync(c, tx, "migrated", row.Id, originOwner, $"{m.Owner}'s machine {row.Name} left your host {m.Origin} for {destination.Name}");
        return true;
    });

    /// <summary>After the commit: activate on the destination, then retire on the origin; both idempotent, repeated until they succeed.</summary>
    private async Task FinishAsync(Guid id, CancellationToken ct)
    {
        var m = await RecordAsync(id);
        if (m is null || m.Phase != MigrationStates.Committed) return;
        var destination = await HostAsync(m.Destination);
        var origin = await HostAsync(m.Origin);
        if (destination is not null && await agents.ActivateAsync(destination, m.Machine, new ActivateRequest(m.Version + 1), ct) is { } notActive)
        {
            await events.AppendAsync("error", m.Machine, m.Owner, $"activating the machine on {m.Destination} failed; retrying: {notActive.Message}");
            return;
        }
        if (origin is not null && await agents.RetireAsync(origin, m.Machine, new RetireRequest(m.Version), ct) is { } notRetired)
        {
            await events.AppendAsync("error", m.Machine, m.Owner, $"retiring the copy on {m.Origin} failed; retrying: {notRetired.Message}");
            return;
        }
        await db.WriteAsync(async (c, tx) =>
        {
            var n = await c.ExecuteAsync("UPDATE migrations SET phase = 'done', ended_at = @now WHERE id = @id AND phase = 'committed'",
                new { now = clock.GetUtcNow(), id }, tx);
            if (n > 0)
                await events.AppendAsync(c, tx, "migration-done", m.Machine, m.Owner,
                    $"migration to {m.Destination} done: the machine is active there (version {m.Version + 1}); {m.Origin} keeps its old copy only as a cache");
            return n;
        });
    }

    /// <summary>
    /// Back to the previous state at the same version (design §6.2 step 5), then the destination discards its copy and the
    /// origin withdraws the export. False when the record was no longer open.
    /// </summary>
    private async Task<bool> RevertAsync(Guid id, string reason, CancellationToken ct)
    {
        var m = await db.WriteAsync(async (c, tx) =>
        {
            var m = await LockOpenAsync(c, tx, id);
            if (m is null) return null;
            await MachineWriter.EndMigrationFailedAsync(c, tx, m.Machine, m.Version, m.PreviousState);
            await c.ExecuteAsync("UPDATE migrations SET phase = 'reverted', error = @reason, ended_at = @now WHERE id = @id",
                new { reason, now = clock.GetUtcNow(), id }, tx);
            await events.AppendAsync(c, tx, "migration-reverted", m.Machine, m.Owner,
                $"migration to {m.Destination} failed and was undone: {reason}; the machine stays on {m.Origin}, {m.PreviousState}, version {m.Version}");
            return m;
        });
        if (m is null) return false;
        metrics.MigrationEnded(m.Method, "reverted", clock.GetUtcNow() - m.CreatedAt, null);
        LogReverted(log, id, reason);
        if (await HostAsync(m.Destination) is { } destination && await agents.DiscardAsync(destination, m.Machine, ct) is { } notDiscarded)
            LogCleanupFailed(log, id, notDiscarded.Message);
        if (await HostAsync(m.Origin) is { } origin && await agents.UnexportAsync(origin, m.Machine, ct) is { } notUnexported)
            LogCleanupFailed(log, id, notUnexported.Message);
        return true;
    }

    /// <summary>Claims the record for this transaction (a row lock on PostgreSQL, the single writer on SQLite); null unless it is open.</summary>
    private async Task<MigrationRow?> LockOpenAsync(DbConnection c, DbTransaction tx, Guid id)
    {
        var m = await c.QuerySingleOrDefaultAsync<MigrationRow>($"SELECT {MigrationRow.Columns} FROM migrations WHERE id = @id{db.ForUpdate}", new { id }, tx);
        return m is { Phase: MigrationStates.Open } ? m : null;
    }

    // ---- helpers ----

    private Failure? NoRoom(HostRow host, MachineRow machine, DateTimeOffset now)
    {
        var reasons = Matching.RoomReasons(host.Offer(now, market.Value.OnlineWindow), machine.Spec);
        if (reasons.Count == 0) return null;
        if (reasons.Contains(MismatchReason.Offline)) return new Failure(ErrorCodes.HostOffline, $"host {host.Name} is offline");
        return new Failure(ErrorCodes.NoRoom, $"host {host.Name} has no room: {string.Join(", ", reasons.Select(MachineService.ReasonText))}");
    }

    private async Task<MachineRow?> MachineAsync(string owner, Guid id)
    {
        var row = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<MachineRow>($"SELECT {MachineRow.Columns} FROM machines WHERE id = @id", new { id = id }));
        return row is not null && row.Owner == owner ? row : null; // someone else's machine answers like a missing one (§6.1.4)
    }

    private Task<MigrationRow?> UnfinishedAsync(Guid machine) => db.ReadAsync(c => c.QueryFirstOrDefaultAsync<MigrationRow>(
        $"SELECT {MigrationRow.Columns} FROM migrations WHERE machine = @machine AND phase IN ('open', 'committed')", new { machine = machine }));

    private Task<MigrationRow?> RecordAsync(Guid id) => db.ReadAsync(c => c.QuerySingleOrDefaultAsync<MigrationRow>(
        $"SELECT {MigrationRow.Columns} FROM migrations WHERE id = @id", new { id }));

    private Task<HostRow?> HostAsync(string name) => db.ReadAsync(c => HostQueries.ByNameAsync(c, name));


    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Migration {Id}: driving it failed; the monitor retries")]
    private static partial void LogDriveFailed(ILogger logger, Guid id, Exception e);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "Migration {Id} is open but its machine is {State} v{Version} on {Host}: not committed")]
    private static partial void LogInconsistent(ILogger logger, Guid id, string? state, long? version, string? host);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Migration {Id} reverted: {Reason}")]
    private static partial void LogReverted(ILogger logger, Guid id, string reason);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning,
        Message = "Migration {Id}: RESP {Machine} {Version} {Result} from {Peer} ignored and forgotten: the destination's API says the migration is {Destination}")]
    private static partial void LogRespIgnored(ILogger logger, Guid id, string peer, Guid machine, long version, string result, string destination);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Migration {Id}: cleaning up an agent after the revert failed: {Message}")]
    private static partial void LogCleanupFailed(ILogger logger, Guid id, string message);
}
