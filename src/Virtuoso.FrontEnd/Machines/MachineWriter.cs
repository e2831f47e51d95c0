using System.Data.Common;
using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Api;
using Virtuoso.Core;
using Virtuoso.Core.Accounts;
using Virtuoso.Core.Billing;
using Virtuoso.Core.Machines;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Hosts;
using Virtuoso.FrontEnd.Http;

namespace Virtuoso.FrontEnd.Machines;

/// <summary>How a commit of an intent ended.</summary>
/// <param name="Row">The machine after the commit (null when it was deleted).</param>
/// <param name="Refusal">The commit was refused (no money, no room): the action must be undone on the agent.</param>
/// <param name="Gone">The intent was no longer open: another request or replica ended it first.</param>
internal sealed record CommitResult(MachineRow? Row, Failure? Refusal = null, bool Gone = false)
{
    public static readonly CommitResult NoIntent = new(null, null, true);
}

/// <summary>
/// The one writer of a machine's lifecycle state on the front-end (issue 13): it claims a machine for an action
/// (the intent, in the same transaction), commits the action once the agent holds its result, or closes the intent
/// without committing. The next state and version step come from the core's <see cref="StateTable"/>; every write is
/// guarded by the intent that holds the row, so a commit happens exactly once whichever replica or request gets there.
/// Charges on the way (design §4) go through the <see cref="Ledger"/> in the same transaction, under their unique keys.
/// </summary>
internal sealed class MachineWriter(Database db, Ledger ledger, Charges charges, EventLog events, TimeProvider clock, IOptions<MarketOptions> options)
{
    private static string State(MachineState s) => MachineRow.StateText(s);

    /// <summary>
    /// Records the intent to take <paramref name="row"/> through <paramref name="action"/> on <paramref name="host"/>, if the
    /// machine is still at the version and state it was read at and holds no other intent. <paramref name="check"/> runs first
    /// in the same transaction (a store locks the host and checks its room there).
    /// </summary>
    public async Task<Outcome<IntentRow>> ClaimAsync(MachineRow row, IntentAction action, string host,
        Func<DbConnection, DbTransaction, Task<Failure?>>? check = null)
    {
        var transition = StateTable.Decide(row.State, ActionOf(action))
            ?? throw new InvalidOperationException($"{action} is not allowed from {row.StoredState}: refuse before claiming");
        var now = clock.GetUtcNow();
        var intent = new IntentRow
        {
            Id = Guid.NewGuid(), Machine = row.Id, Owner = row.Owner, Action = IntentRow.Text(action), Host = host,
            FromVersion = row.Version, ToVersion = row.Version + transition.VersionDelta,
            CreatedAt = now, LeaseUntil = now + TimeSpan.FromSeconds(options.Value.IntentLeaseSeconds),
        };
        return await db.WriteAsync<Outcome<IntentRow>>(async (c, tx) =>
        {
            if (check is not null && await check(c, tx) is { } refused) return refused;
            var n = await c.ExecuteAsync("UPDATE machines SET intent = @Id WHERE id = @Machine AND version = @FromVersion AND state = @state AND intent IS NULL",
                new { intent.Id, intent.Machine, intent.FromVersion, state = State(row.State) }, tx);
            if (n == 0) return await BusyOrChangedAsync(c, tx, row.Id);
            await InsertAsync(c, tx, intent);
            return intent;
        }, o => o.Ok);
    }

    private static Task InsertAsync(DbConnection c, DbTransaction tx, IntentRow intent) =>
        c.ExecuteAsync($"INSERT INTO machine_intents ({IntentRow.Columns}) VALUES (@Id, @Machine, @Owner, @Action, @Host, @FromVersion, @ToVersion, " +
            "@Undoing, @Reason, @CreatedAt, @LeaseUntil, @Attempts, @LastError)", intent, tx);

    /// <summary>Why a guarded write of the machine found nothing: another action holds it (busy), or it changed.</summary>
    public static async Task<Failure> BusyOrChangedAsync(DbConnection c, DbTransaction? tx, MachineId machine)
    {
        var open = await c.QuerySingleOrDefaultAsync<IntentRow>($"SELECT {IntentRow.Columns} FROM machine_intents WHERE machine = @machine", new { machine }, tx);
        return open is null ? Changed() : Busy(open);
    }

    public static Failure Busy(IntentRow open) => new Failure(ErrorCodes.Busy,
        $"the machine is busy: a {open.Describe()} on host {open.Host}; try again in a few seconds");

    public static Failure Changed() => new Failure(ErrorCodes.Conflict, "the machine changed meanwhile (another request acted on it); reload and try again");

    /// <summary>
    /// Commits an intent whose action the agent holds: the machine's new state and version, the charges due (design §4)
    /// and the events, in one transaction that also closes the intent. A refusal (money, room) changes nothing.
    /// </summary>
    public async Task<CommitResult> CommitAsync(IntentRow intent, HostRow? host)
    {
        var now = clock.GetUtcNow();
        return await db.WriteAsync(async (c, tx) =>
        {
            var row = await c.QuerySingleOrDefaultAsync<MachineRow>($"SELECT {MachineRow.Columns} FROM machines WHERE id = @Machine AND intent = @Id{db.ForUpdate}",
                new { intent.Machine, intent.Id }, tx);
            if (row is null)
                return await CloseOrphanAsync(c, tx, intent);
            // Under the machine's row lock: an intent another driver began undoing is never committed.
            if (await c.ExecuteScalarAsync<long>("SELECT undoing FROM machine_intents WHERE id = @Id", new { intent.Id }, tx) != 0)
                return new CommitResult(null, null, Gone: true);
            var result = intent.Kind switch
            {
                IntentAction.Store => await CommitStoreAsync(c, tx, intent, row, now),
                IntentAction.Start or IntentAction.Resume => await CommitRunAsync(c, tx, intent, row, host!, now),
                IntentAction.Stop or IntentAction.Suspend => await CommitPauseAsync(c, tx, intent, row, host!, now),
                IntentAction.Delete => await CommitDeleteAsync(c, tx, intent, row),
                IntentAction.Evict => await CommitEvictAsync(c, tx, intent, row, host, now),
                _ => throw new ArgumentOutOfRangeException(nameof(intent), intent.Action, null),
            };
            if (result.Refusal is null && !result.Gone)
                await c.ExecuteAsync("DELETE FROM machine_intents WHERE id = @Id", new { intent.Id }, tx);
            return result;
        }, r => r.Refusal is null && !r.Gone || r.Gone && r.Row is null);
    }

    // The machine row is gone or held by another intent: delete this one only if it is the machine's no more.
    private static async Task<CommitResult> CloseOrphanAsync(DbConnection c, DbTransaction tx, IntentRow intent)
    {
        await c.ExecuteAsync("DELETE FROM machine_intents WHERE id = @Id AND NOT EXISTS (SELECT 1 FROM machines WHERE intent = @Id)", new { intent.Id }, tx);
        return CommitResult.NoIntent;
    }

    private async Task<CommitResult> CommitStoreAsync(DbConnection c, DbTransaction tx, IntentRow intent, MachineRow row, DateTimeOffset now)
    {
        // Lock the host's row, then read it in a new statement (PostgreSQL's READ COMMITTED: see HostService.DeleteAsync).
        await c.ExecuteAsync("SELECT name FROM hosts WHERE name = @name" + db.ForUpdate, new { name = intent.Host }, tx);
        var host = await HostQueries.ByNameAsync(c, intent.Host, tx);
        // A host being deleted still takes the machine: its deletion evicts it next, with an event saying so.
        if (host is null)
            return new(null, Failure.NotFound($"host '{intent.Host}'"));
        // Room was reserved by the intent itself when it was claimed (HostRow.Columns counts store intents).
        var pricing = host.Pricing;
        var charge = pricing.StorageCharge(row.Spec);
        await ledger.LockAsync(c, tx, [row.Owner, host.Owner]);
        if (await ledger.BalanceAsync(c, tx, row.Owner) < charge)
            return new(null, new Failure(ErrorCodes.InsufficientFunds, $"your balance no longer covers the first storage period on {host.Name} ({Plain.Exact(charge)})"));
        var stay = row.Stay + 1;
        await c.ExecuteAsync("UPDATE machines SET state = @state, version = @ToVersion, host = @host, storage_price = @sp, storage_period_days = @sd, " +
            "running_price = @rp, running_period_seconds = @rs, stay = @stay, arrived_at = @now, storage_periods_charged = 1, running_periods_charged = 0, " +
            "running_seconds_used = '0', running_since = NULL, next_storage_at = @nextStorage, running_due_at = NULL, intent = NULL WHERE id = @Machine AND intent = @Id",
            new { state = State(MachineState.Stored), intent.ToVersion, host = host.Name, sp = charge, sd = pricing.StoragePeriodDays,
                  rp = pricing.RunningCharge(row.Spec), rs = pricing.RunningPeriodSeconds, stay, now,
                  nextStorage = BillingPlan.StoragePeriodStart(now, pricing.StoragePeriodDays, 2), intent.Machine, intent.Id }, tx);
        // §4: the first storage period is charged on arrival.
        await ledger.TransferAsync(c, tx, ChargeKey.Storage(row.Id, stay, 1), TransferKinds.Storage, charge, row.Owner, host.Owner, row.Id, host.Name, now);
        await events.AppendAsync(c, tx, "stored", row.Id, row.Owner, $"stored on {host.Name} (version {intent.ToVersion}); charged {Plain.Exact(charge)} for {pricing.StoragePeriodDays} days of storage");
        await events.AppendAsync(c, tx, "stored", row.Id, host.Owner, $"{row.Owner}'s machine {row.Name} stored on your host {host.Name}");
        return new(await ReadAsync(c, tx, intent.Machine));
    }

    private async Task<CommitResult> CommitRunAsync(DbConnection c, DbTransaction tx, IntentRow intent, MachineRow row, HostRow host, DateTimeOffset now)
    {
        var start = intent.Kind == IntentAction.Start;
        var period = row.RunningPeriodSecondsValue;
        // Design §4: with no prepaid running time left, one running period is charged first.
        var plan = await charges.ApplyAsync(c, tx, row, BillingOccasion.Start, host.Owner, now);
        if (plan.Unpaid is { } unpaid)
            return new(null, new Failure(ErrorCodes.InsufficientFunds, $"running for {Plain.Duration(period)} costs {Plain.Exact(unpaid.Amount)} and your balance is {Plain.Exact(await ledger.BalanceAsync(c, tx, row.Owner))}"));
        var needsCharge = plan.Charges.Count > 0;
        var runningPrice = row.RunningPrice!.Value;
        var started = row.RunningTime.Start(now, needsCharge);
        await c.ExecuteAsync("UPDATE machines SET state = @state, running_periods_charged = @p, running_since = @now, running_due_at = @due, intent = NULL " +
            "WHERE id = @Machine AND intent = @Id",
            new { state = State(MachineState.Running), p = started.PeriodsCharged, now,
                  due = BillingPlan.RunningDueAt(started, period)!, intent.Machine, intent.Id }, tx);
        var left = started.LeftAt(now, period);
        var verb = start ? "started" : "resumed";
        await events.AppendAsync(c, tx, verb, row.Id, row.Owner,
            $"{verb} on {host.Name}" + (needsCharge ? $"; charged {Plain.Exact(runningPrice)} for {Plain.Duration(period)} of running" : $"; {Plain.Duration(left)} of prepaid running time left"));
        return new(await ReadAsync(c, tx, intent.Machine));
    }

    private async Task<CommitResult> CommitPauseAsync(DbConnection c, DbTransaction tx, IntentRow intent, MachineRow row, HostRow host, DateTimeOffset now)
    {
        var next = intent.Kind == IntentAction.Stop ? MachineState.Stopped : MachineState.Suspended;
        var paused = row.RunningTime.Pause(now);
        await c.ExecuteAsync("UPDATE machines SET state = @state, version = @ToVersion, running_seconds_used = @used, running_since = NULL, running_due_at = NULL, " +
            "host_offline_since = NULL, intent = NULL WHERE id = @Machine AND intent = @Id",
            new { state = State(next), intent.ToVersion, used = paused.SecondsUsed, intent.Machine, intent.Id }, tx);
        await PortForwards.ReleaseAsync(c, tx, row.Id); // issue 14: forwards exist only while the machine runs
        // §4: periods that began while it ran and that no pass charged yet are charged now.
        var period = row.RunningPeriodSecondsValue;
        var plan = await charges.ApplyAsync(c, tx, row, BillingOccasion.RunEnds, host.Owner, now, paused.SecondsUsed);
        var verb = next == MachineState.Stopped ? "stopped" : "suspended";
        var charged = Charges.Describe(plan, TransferKinds.Running);
        await events.AppendAsync(c, tx, verb, row.Id, row.Owner,
            $"{verb} on {host.Name} (version {intent.ToVersion}); " + (charged == "" ? "" : charged + ", begun while it ran; ") +
            $"{Plain.Duration((paused with { PeriodsCharged = plan.RunningPeriodsCharged }).LeftAt(now, period))} of prepaid running time kept");
        return new(await ReadAsync(c, tx, intent.Machine));
    }

    private async Task<CommitResult> CommitDeleteAsync(DbConnection c, DbTransaction tx, IntentRow intent, MachineRow row)
    {
        await PortForwards.ReleaseAsync(c, tx, row.Id);
        await c.ExecuteAsync("DELETE FROM machines WHERE id = @Machine AND intent = @Id", new { intent.Machine, intent.Id }, tx);
        await events.AppendAsync(c, tx, "deleted", row.Id, row.Owner, $"deleted {row.Name} from {intent.Host}");
        return new(null);
    }

    private async Task<CommitResult> CommitEvictAsync(DbConnection c, DbTransaction tx, IntentRow intent, MachineRow row, HostRow? host, DateTimeOffset now)
    {
        // Design §4: what began on the host is owed, as when a machine leaves by migration: the storage periods begun there,
        // and the running periods begun while it ran (the eviction stops it). Charged before the stay's counters are reset.
        var charged = new List<string>();
        if (host is not null && row.ArrivedAt is not null)
        {
            var left = await charges.ApplyAsync(c, tx, row, BillingOccasion.Leave, host.Owner, now);
            row.StoragePeriodsCharged = left.StoragePeriodsCharged;
            var ran = await charges.ApplyAsync(c, tx, row, BillingOccasion.RunEnds, host.Owner, now, row.RunningTime.Pause(now).SecondsUsed);
            charged.AddRange(new[] { Charges.Describe(left, TransferKinds.Storage), Charges.Describe(ran, TransferKinds.Running) }.Where(d => d != ""));
        }
        await c.ExecuteAsync("UPDATE machines SET state = @state, version = @ToVersion, host = NULL, storage_price = NULL, storage_period_days = NULL, " +
            "running_price = NULL, running_period_seconds = NULL, arrived_at = NULL, storage_periods_charged = 0, running_periods_charged = 0, " +
            "running_seconds_used = '0', running_since = NULL, next_storage_at = NULL, running_due_at = NULL, intent = NULL WHERE id = @Machine AND intent = @Id",
            new { state = State(MachineState.Registered), intent.ToVersion, intent.Machine, intent.Id }, tx);
        await PortForwards.ReleaseAsync(c, tx, row.Id);
        await events.AppendAsync(c, tx, "host-deleted", row.Id, row.Owner,
            $"host {intent.Host} was deleted by its provider: your machine {row.Name} was removed from it (its disk is gone) and is registered again; search for another host to store it" +
            (charged.Count > 0 ? $"; {string.Join("; ", charged)}, begun on it" : ""));
        return new(await ReadAsync(c, tx, intent.Machine));
    }

    /// <summary>
    /// Closes an intent without committing it: the machine stays as it was before the action. <paramref name="portsHeld"/>:
    /// the agent found one of the ports given held by another program (<see cref="ErrorCodes.PortBusy"/>), and the start or
    /// resume is tried again with others (<see cref="MachineService"/>): a <c>ports-skipped</c> event, not an error.
    /// </summary>
    public Task<bool> AbortAsync(IntentRow intent, string why, bool portsHeld = false) => db.WriteAsync(async (c, tx) =>
    {
        var n = await c.ExecuteAsync("UPDATE machines SET intent = NULL WHERE id = @Machine AND intent = @Id", new { intent.Machine, intent.Id }, tx);
        await c.ExecuteAsync("DELETE FROM machine_intents WHERE id = @Id", new { intent.Id }, tx);
        if (n > 0 && portsHeld)
        {
            var ports = (await c.QueryAsync<long>("SELECT host_port FROM port_forwards WHERE machine = @Machine ORDER BY host_port", new { intent.Machine }, tx)).ToList();
            await PortForwards.ReleaseAsync(c, tx, intent.Machine);
            await events.AppendAsync(c, tx, "ports-skipped", intent.Machine, intent.Owner,
                $"{intent.Action} not done with host {intent.Host}'s port{(ports.Count == 1 ? "" : "s")} {string.Join(", ", ports)}: another program on the host holds one of them; " +
                "other ports are tried");
        }
        else if (n > 0)
        {
            // A start or resume that did not happen gives its forwards back; a stop that did not happen leaves them to the running machine.
            await c.ExecuteAsync("DELETE FROM port_forwards WHERE machine = @Machine AND NOT EXISTS (SELECT 1 FROM machines WHERE id = @Machine AND state = @running)",
                new { intent.Machine, running = State(MachineState.Running) }, tx);
            var state = await c.ExecuteScalarAsync<string>("SELECT state FROM machines WHERE id = @Machine", new { intent.Machine }, tx);
            await events.AppendAsync(c, tx, "error", intent.Machine, intent.Owner, $"{intent.Action} failed, the machine stays {state}: {why}");
        }
        return n > 0;
    });

    /// <summary>From now on the intent's action is taken back on the agent (its commit was refused for <paramref name="why"/>).</summary>
    /// <returns>False when the intent no longer holds the machine (another driver committed or closed it): nothing to undo then.</returns>
    public Task<bool> MarkUndoingAsync(IntentRow intent, string why) => db.WriteAsync(async (c, tx) =>
    {
        // The machine's row lock orders this against a commit by another driver (CommitAsync takes it first too).
        if (await c.QuerySingleOrDefaultAsync<string>($"SELECT id FROM machines WHERE id = @Machine AND intent = @Id{db.ForUpdate}", new { intent.Machine, intent.Id }, tx) is null)
            return false;
        return await c.ExecuteAsync("UPDATE machine_intents SET undoing = 1, reason = @why WHERE id = @Id", new { why, intent.Id }, tx) > 0;
    });

    /// <summary>What the open intent is doing now, shown with the machine (issue 15: "fetching image 43%"); only while that intent holds it.</summary>
    public Task SetActivityAsync(IntentRow intent, string? activity) =>
        db.ReadAsync(c => c.ExecuteAsync("UPDATE machines SET activity = @activity WHERE id = @Machine AND intent = @Id", new { activity, intent.Machine, intent.Id }));

    /// <summary>The driver of an intent is still at work: the reconciler leaves it alone for another lease.</summary>
    public Task RenewLeaseAsync(IntentRow intent) =>
        db.ReadAsync(c => c.ExecuteAsync("UPDATE machine_intents SET lease_until = @lease WHERE id = @Id",
            new { lease = clock.GetUtcNow() + TimeSpan.FromSeconds(options.Value.IntentLeaseSeconds), intent.Id }));

    /// <summary>Notes why the intent is still open (the agent did not answer), for the machine page and the logs.</summary>
    public Task NoteAsync(IntentRow intent, string error) =>
        db.ReadAsync(c => c.ExecuteAsync("UPDATE machine_intents SET last_error = @error WHERE id = @Id", new { error, intent.Id }));

    /// <summary>
    /// Host deletion (§6.1.1): marks the host deleting (nothing new is claimed for it from then on) and claims an eviction
    /// for every machine on it that no other intent holds, in one transaction under the host's row lock. A machine held by
    /// an action under way (a store on its way in) is left to that action; once it ends, the next call evicts it.
    /// </summary>
    /// <param name="skip">Machines not to claim now (their eviction just failed).</param>
    public async Task<IReadOnlyList<IntentRow>> ClaimEvictionsAsync(string hostName, IReadOnlySet<MachineId>? skip = null)
    {
        var now = clock.GetUtcNow();
        return await db.WriteAsync<IReadOnlyList<IntentRow>>(async (c, tx) =>
        {
            await c.ExecuteAsync("SELECT name FROM hosts WHERE name = @hostName" + db.ForUpdate, new { hostName }, tx);
            await c.ExecuteAsync("UPDATE hosts SET deleting = 1 WHERE name = @hostName", new { hostName }, tx);
            // A machine migrating to or from the host ends its migration first (its record and monitor drive it).
            var machines = (await c.QueryAsync<MachineRow>($"SELECT {MachineRow.Columns} FROM machines WHERE host = @hostName AND intent IS NULL AND state <> @migrating{db.ForUpdate}",
                new { hostName, migrating = State(MachineState.Migrating) }, tx)).Where(m => skip is null || !skip.Contains(m.Id)).ToList();
            var evictions = new List<IntentRow>();
            foreach (var m in machines)
            {
                var evict = new IntentRow
                {
                    Id = Guid.NewGuid(), Machine = m.Id, Owner = m.Owner, Action = IntentRow.Text(IntentAction.Evict), Host = hostName,
                    FromVersion = m.Version, ToVersion = m.Version + StateTable.Decide(m.State, MachineAction.Evict)!.VersionDelta,
                    CreatedAt = now, LeaseUntil = now + TimeSpan.FromSeconds(options.Value.IntentLeaseSeconds),
                };
                if (await c.ExecuteAsync("UPDATE machines SET intent = @Id WHERE id = @Machine AND intent IS NULL", new { evict.Id, evict.Machine }, tx) == 0) continue;
                await InsertAsync(c, tx, evict);
                evictions.Add(evict);
            }
            return evictions;
        });
    }

    /// <summary>Deletes a host marked deleting once no machine and no intent refers to it any more. True when it is gone.</summary>
    public Task<bool> FinishHostDeleteAsync(string hostName) => db.WriteAsync(async (c, tx) =>
    {
        var host = await c.QuerySingleOrDefaultAsync<HostRow>($"SELECT name, owner, deleting FROM hosts WHERE name = @hostName{db.ForUpdate}", new { hostName }, tx);
        if (host is null) return true;
        if (host.Deleting == 0) return false;
        var left = await c.ExecuteScalarAsync<long>("SELECT (SELECT COUNT(*) FROM machines WHERE host = @hostName) + (SELECT COUNT(*) FROM machine_intents WHERE host = @hostName)",
            new { hostName }, tx);
        if (left > 0) return false;
        await c.ExecuteAsync("DELETE FROM hosts WHERE name = @hostName", new { hostName }, tx);
        await events.AppendAsync(c, tx, "host-deleted", null, host.Owner, $"host {hostName} deleted");
        return true;
    });

    /// <summary>
    /// The host monitor found a machine that the front-end believes running powered off on its agent (no stop command):
    /// it is recorded stopped at the same version, with the periods begun while it ran charged (design §4). Only a machine
    /// that no intent holds, and that still runs since <paramref name="runningSince"/>, is recorded.
    /// </summary>
    public Task RecordPoweredOffAsync(MachineId machine, string hostName, AccountName hostOwner, long version, DateTimeOffset? runningSince) => db.WriteAsync(async (c, tx) =>
    {
        var row = await c.QuerySingleOrDefaultAsync<MachineRow>($"SELECT {MachineRow.Columns} FROM machines WHERE id = @machine AND host = @hostName AND state = @running " +
            $"AND version = @version AND running_since = @runningSince AND intent IS NULL AND host_offline_since IS NULL{db.ForUpdate}",
            new { machine, hostName, running = State(MachineState.Running), version, runningSince }, tx);
        if (row is null) return 0;
        var now = clock.GetUtcNow();
        var paused = row.RunningTime.Pause(now);
        await c.ExecuteAsync("UPDATE machines SET state = @stopped, running_seconds_used = @used, running_since = NULL, running_due_at = NULL WHERE id = @Id AND intent IS NULL",
            new { stopped = State(MachineState.Stopped), used = paused.SecondsUsed, row.Id }, tx);
        await PortForwards.ReleaseAsync(c, tx, row.Id);
        // Design §4: periods that began while it ran and that no billing pass charged yet are due all the same.
        var charged = Charges.Describe(await charges.ApplyAsync(c, tx, row, BillingOccasion.RunEnds, hostOwner, now, paused.SecondsUsed), TransferKinds.Running);
        await events.AppendAsync(c, tx, "powered-off", row.Id, row.Owner, $"the machine was found powered off on {hostName}; it is now stopped (version {row.Version})" +
            (charged == "" ? "" : $"; {charged}, begun while it ran"));
        return 0;
    });

    /// <summary>
    /// The host of these machines has not answered since <paramref name="lastSeen"/>, longer than the grace period (issue
    /// 13): each running machine on it stops consuming running time at that last sign of life (periods begun before it are
    /// charged, as at a stop), so no running period that begins while the host is unreachable is charged. Storage goes on.
    /// </summary>
    public Task<int> MarkHostOfflineAsync(HostRow host, DateTimeOffset lastSeen) => db.WriteAsync(async (c, tx) =>
    {
        var marked = 0;
        var now = clock.GetUtcNow();
        var rows = (await c.QueryAsync<MachineRow>($"SELECT {MachineRow.Columns} FROM machines WHERE host = @Name AND state = @running " +
            $"AND host_offline_since IS NULL AND running_since IS NOT NULL{db.ForUpdate}", new { host.Name, running = State(MachineState.Running) }, tx)).ToList();
        // Every account this may charge, locked at once in the ledger's order, so two replicas cannot deadlock on them.
        await ledger.LockAsync(c, tx, rows.Select(r => r.Owner.Value).Append(host.Owner.Value));
        foreach (var row in rows)
        {
            var since = row.RunningSince!.Value;
            var paused = row.RunningTime.Pause(lastSeen > since ? lastSeen : since);
            // Its forwards are kept: the guest may still run and hold them on the host; they go when it is found stopped.
            await c.ExecuteAsync("UPDATE machines SET running_seconds_used = @used, running_since = NULL, running_due_at = NULL, host_offline_since = @seen WHERE id = @Id",
                new { used = paused.SecondsUsed, seen = lastSeen, row.Id }, tx);
            var charged = Charges.Describe(await charges.ApplyAsync(c, tx, row, BillingOccasion.RunEnds, host.Owner, now, paused.SecondsUsed), TransferKinds.Running);
            await events.AppendAsync(c, tx, "host-offline", row.Id, row.Owner,
                $"host {host.Name} has not answered since {lastSeen:u}: no running time is charged until it answers again" +
                (charged == "" ? "" : $"; {charged}, begun before"));
            marked++;
        }
        return marked;
    });

    /// <summary>The host of a machine marked offline answers again: record what its agent holds (<see cref="HostOutage.Decide"/>).</summary>
    public Task EndOutageAsync(MachineId machine, HostView held) => db.WriteAsync(async (c, tx) =>
    {
        var row = await c.QuerySingleOrDefaultAsync<MachineRow>($"SELECT {MachineRow.Columns} FROM machines WHERE id = @machine AND host_offline_since IS NOT NULL{db.ForUpdate}",
            new { machine }, tx);
        if (row is null) return 0;
        var now = clock.GetUtcNow();
        var gone = row.HostOfflineSince!.Value;
        switch (row.State == MachineState.Running ? HostOutage.Decide(row.Version, held) : OutageEnd.Resume)
        {
            case OutageEnd.Resume when row.State == MachineState.Running:
                var resumed = row.RunningTime with { RunningSince = now };
                await c.ExecuteAsync("UPDATE machines SET running_since = @now, running_due_at = @due, host_offline_since = NULL WHERE id = @Id",
                    new { now, due = BillingPlan.RunningDueAt(resumed, row.RunningPeriodSecondsValue)!, row.Id }, tx);
                await events.AppendAsync(c, tx, "host-back", row.Id, row.Owner,
                    $"host {row.Host} answers again (offline since {gone:u}): the machine kept running; running time is charged again from now");
                break;
            case OutageEnd.Resume:
                // Stopped or suspended meanwhile by an action that waited for the host: nothing runs, nothing to resume.
                await c.ExecuteAsync("UPDATE machines SET host_offline_since = NULL WHERE id = @Id", new { row.Id }, tx);
                break;
            case OutageEnd.Stopped:
                if (await c.ExecuteAsync("UPDATE machines SET state = @stopped, host_offline_since = NULL WHERE id = @Id AND intent IS NULL",
                        new { stopped = State(MachineState.Stopped), row.Id }, tx) == 0)
                    break; // an action holds it: its own end records the truth
                await PortForwards.ReleaseAsync(c, tx, row.Id);
                await events.AppendAsync(c, tx, "host-back", row.Id, row.Owner,
                    $"host {row.Host} answers again (offline since {gone:u}): the machine was found stopped; it is recorded stopped (version {row.Version}), " +
                    $"with {Plain.Duration(row.RunningTime.LeftAt(now, row.RunningPeriodSecondsValue))} of prepaid running time kept");
                break;
            case OutageEnd.Unexplained:
                await events.AppendAsync(c, tx, "error", row.Id, row.Owner,
                    $"host {row.Host} answers again but holds the machine {(held.Answered ? $"{held.State.ToString().ToLowerInvariant()} at version {held.Version}" : "unanswered")}, " +
                    $"not running at version {row.Version}: it stays marked offline");
                break;
        }
        return 0;
    });

    /// <summary>
    /// Puts the ISO <paramref name="iso"/> in the machine's CD drive, or empties it (null) (issue 15): not a state, but a row
    /// write guarded like an edit, by the version and state the caller read and no open intent. False when it changed or is busy.
    /// </summary>
    public static async Task<bool> SetCdromAsync(DbConnection c, DbTransaction tx, MachineRow row, long? iso) =>
        await c.ExecuteAsync("UPDATE machines SET cdrom_iso_id = @iso WHERE id = @Id AND version = @Version AND state = @State AND intent IS NULL",
            new { iso, row.Id, row.Version, State = State(row.State) }, tx) == 1;

    /// <summary>
    /// Moves the machine to network <paramref name="network"/> at <paramref name="address"/> (issue 16): not a state, but a row
    /// write guarded like an edit, by the version and state the caller read and no open intent. False when it changed or is busy.
    /// </summary>
    public static async Task<bool> SetNetworkAsync(DbConnection c, DbTransaction tx, MachineRow row, long network, string address) =>
        await c.ExecuteAsync("UPDATE machines SET network = @network, private_address = @address WHERE id = @Id AND version = @Version AND state = @State AND intent IS NULL",
            new { network, address, row.Id, row.Version, State = State(row.State) }, tx) == 1;

    // ---- migration (design §6.2): MigrationService holds the durable record and calls these inside its transactions ----

    /// <summary>The machine begins migrating (design §3.3: stored, stopped or suspended → migrating, same version); false when it changed or an action holds it.</summary>
    public static async Task<bool> BeginMigrationAsync(DbConnection c, DbTransaction tx, MachineRow row) =>
        await c.ExecuteAsync("UPDATE machines SET state = @migrating WHERE id = @Id AND version = @Version AND state = @State AND host = @Host AND intent IS NULL",
            new { migrating = State(MachineState.Migrating), row.Id, row.Version, State = State(row.State), row.Host }, tx) == 1;

    /// <summary>
    /// A committed migration moves the machine to <paramref name="destination"/> (§7.3): its previous state, version + 1
    /// (<see cref="StateTable.MigrationEnd"/>), a new stay at the destination's prices with its first storage period charged by the caller.
    /// </summary>
    public static async Task<bool> MoveAsync(DbConnection c, DbTransaction tx, MachineId machine, long version, MachineState previous, HostRow destination,
        MachineSpec spec, long stay, DateTimeOffset now)
    {
        // Only a machine that does not run migrates, so it holds no forwards; none may follow it to another host's ports in any case.
        await PortForwards.ReleaseAsync(c, tx, machine);
        var end = StateTable.MigrationEnd(previous, success: true);
        var pricing = destination.Pricing;
        return await c.ExecuteAsync("UPDATE machines SET host = @host, state = @state, version = @newVersion, storage_price = @sp, storage_period_days = @sd, " +
            "running_price = @rp, running_period_seconds = @rs, stay = @stay, arrived_at = @now, storage_periods_charged = 1, running_periods_charged = 0, " +
            "running_seconds_used = '0', running_since = NULL, next_storage_at = @nextStorage, running_due_at = NULL " +
            "WHERE id = @machine AND version = @version AND state = @migrating",
            new { host = destination.Name, state = State(end.Next!.Value), newVersion = version + end.VersionDelta, sp = pricing.StorageCharge(spec),
                  sd = pricing.StoragePeriodDays, rp = pricing.RunningCharge(spec), rs = pricing.RunningPeriodSeconds, stay,
                  now, nextStorage = BillingPlan.StoragePeriodStart(now, pricing.StoragePeriodDays, 2),
                  machine, version, migrating = State(MachineState.Migrating) }, tx) == 1;
    }

    /// <summary>A reverted migration returns the machine to its previous state at the same version (design §3.3).</summary>
    public static Task<int> EndMigrationFailedAsync(DbConnection c, DbTransaction tx, MachineId machine, long version, MachineState previous) =>
        c.ExecuteAsync("UPDATE machines SET state = @state WHERE id = @machine AND version = @version AND state = @migrating",
            new { state = State(StateTable.MigrationEnd(previous, success: false).Next!.Value), machine, version, migrating = State(MachineState.Migrating) }, tx);

    private static Task<MachineRow> ReadAsync(DbConnection c, DbTransaction tx, MachineId id) =>
        c.QuerySingleAsync<MachineRow>($"SELECT {MachineRow.Columns} FROM machines WHERE id = @id", new { id }, tx);

    /// <summary>The buyer's action of the state table an intent carries out.</summary>
    public static MachineAction ActionOf(IntentAction action) => action switch
    {
        IntentAction.Store => MachineAction.Store,
        IntentAction.Start => MachineAction.Start,
        IntentAction.Stop => MachineAction.Stop,
        IntentAction.Suspend => MachineAction.Suspend,
        IntentAction.Resume => MachineAction.Resume,
        IntentAction.Delete => MachineAction.Delete,
        IntentAction.Evict => MachineAction.Evict,
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, null),
    };
}
