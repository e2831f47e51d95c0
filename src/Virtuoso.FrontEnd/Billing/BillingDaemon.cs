using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.Core;
using Virtuoso.Core.Accounts;
using Virtuoso.Core.Billing;
using Virtuoso.Core.Machines;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Billing;

/// <summary>Suspends a running machine whose next running period its owner cannot pay (Program.cs: <c>MachineService.SuspendUnpaidAsync</c>).</summary>
internal delegate Task SuspendUnpaid(AccountName owner, MachineId machine, string why);

/// <summary>
/// The billing daemon (report §6.1.9 storageupdate.pl and runningupdate.pl; design §4). Every pass charges,
/// for each machine on a host, every storage period and (while running) every running period that has begun
/// and is not yet charged, each under its own ledger key. A key already present means "already done", so two
/// replicas billing at once, a pass killed half-way and restarted, or a clock that jumps days ahead leave
/// every due period charged exactly once. Storage is always charged (the balance may go negative); a running
/// period the buyer cannot cover is not charged: the machine is suspended instead, by <see cref="SuspendUnpaid"/> (the
/// machines' side of the market: billing decides and charges, it never drives a machine itself).
/// </summary>
internal sealed partial class BillingDaemon(Database db, Ledger ledger, EventLog events, SuspendUnpaid suspend,
    TimeProvider clock, IOptions<MarketOptions> options, Telemetry.FrontEndMetrics metrics, ILogger<BillingDaemon> log) : BackgroundService
{


    /// <summary>The columns of <see cref="MachineRow"/> a pass reads and uses (the others stay at their defaults).</summary>
    private const string BillingColumns = "id, owner, state, host, storage_price, storage_period_days, running_price, running_period_seconds, stay, " +
        "arrived_at, storage_periods_charged, running_periods_charged, running_seconds_used, running_since, next_storage_at, running_due_at";

    /// <summary>What one pass did.</summary>
    public sealed record PassResult(int Machines, int StorageCharges, int RunningCharges, IReadOnlyList<Guid> Suspended);

    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        if (!options.Value.DaemonsEnabled) return;
        await Periodic.RunAsync(PassAsync, TimeSpan.FromSeconds(options.Value.BillingIntervalSeconds), clock, e => LogPassFailed(log, e), stop);
    }

    /// <summary>One billing pass at the clock's current time.</summary>
    public async Task<PassResult> PassAsync(CancellationToken ct = default)
    {
        var now = clock.GetUtcNow();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        // MATERIALIZED keeps the due-time indexes (migration 0003) in use: with a bare ORDER BY id, SQLite walks the
        // primary key over every stored machine instead of sorting the few that are due.
        var due = (await db.ReadAsync(c => c.QueryAsync<MachineId>(
            "WITH due AS MATERIALIZED (SELECT id FROM machines WHERE host IS NOT NULL AND (next_storage_at <= @now OR running_due_at <= @now)) " +
            "SELECT id FROM due ORDER BY id", new { now }))).ToList();
        int storage = 0, running = 0;
        var unpaid = new List<(MachineId Id, AccountName Owner, string Message)>();
        foreach (var batch in due.Chunk(Math.Max(1, options.Value.BillingBatchSize)))
        {
            ct.ThrowIfCancellationRequested();
            var (s, r, u, storageDollars, runningDollars) = await db.WriteAsync(async (c, tx) =>
            {
                var rows = (await c.QueryAsync<MachineRow>($"SELECT {BillingColumns} FROM machines WHERE {db.InList("id", "ids")} ORDER BY id{db.ForUpdate}",
                    new { ids = db.ListValue(batch.Select(id => id.ToString())) }, tx)).ToList();
                var owners = (await c.QueryAsync<(string Name, AccountName Owner)>("SELECT name, owner FROM hosts", transaction: tx)).ToDictionary(h => h.Name, h => h.Owner);
                var parties = rows.Where(m => m.Host is not null && owners.ContainsKey(m.Host)).SelectMany(m => new[] { m.Owner.Value, owners[m.Host!].Value })
                    .Distinct().ToList();
                await ledger.LockAsync(c, tx, parties);
                // Every balance the batch touches, read once; written back once at the end.
                var balances = await ledger.BalancesAsync(c, tx, parties);
                // PostgreSQL: the batch's writes go in a few statements (each statement is a round trip to the server), assuming every
                // charge's key is new, as it is unless another writer charged one of these machines between the due query and the
                // row locks. Should one exist, the bulk writes are undone to the savepoint and the batch is billed again one charge at
                // a time, deciding from what was really recorded (the rows are still locked).
                if (db.Dialect == Dialect.Postgres)
                {
                    await tx.SaveAsync("bulk");
                    if (await BillAsync(c, tx, rows, owners, balances, now, bulk: true) is { } done) return done;
                    await tx.RollbackAsync("bulk");
                }
                return (await BillAsync(c, tx, rows, owners, balances, now, bulk: false))!.Value;
            });
            storage += s; running += r; unpaid.AddRange(u);
            metrics.Charged(TransferKinds.Storage, s, storageDollars);
            metrics.Charged(TransferKinds.Running, r, runningDollars);
        }
        foreach (var (id, owner, message) in unpaid)
            await suspend(owner, id, message);
        if (storage + running > 0) LogPass(log, due.Count, storage, running, unpaid.Count);
        metrics.BillingPass(System.Diagnostics.Stopwatch.GetElapsedTime(started));
        return new PassResult(due.Count, storage, running, unpaid.Select(u => u.Id.Value).ToList());
    }

    /// <summary>
    /// Bills one batch of locked machine rows: plans each machine's charges (<see cref="ChargePlan"/>), records them, updates the
    /// machines' billing columns, appends a "charged" event per machine charged and applies the balance changes. One charge at a time
    /// (<paramref name="bulk"/> false: a charge whose key exists is skipped and not counted), or, on PostgreSQL, in a few statements
    /// (<paramref name="bulk"/> true), which returns null, having changed nothing the caller cannot roll back, when a key existed.
    /// </summary>
    private async Task<(int Storage, int Running, List<(MachineId, AccountName, string)> Unpaid, decimal StorageDollars, decimal RunningDollars)?> BillAsync(
        System.Data.Common.DbConnection c, System.Data.Common.DbTransaction tx, List<MachineRow> rows, Dictionary<string, AccountName> owners,
        Dictionary<string, decimal> balances, DateTimeOffset now, bool bulk)
    {
        var deltas = new Dictionary<string, decimal>(StringComparer.Ordinal);
        int sc = 0, rc = 0;
        decimal storageSum = 0, runningSum = 0; // the batch's charges in dollars, for the metrics once it commits
        var u = new List<(MachineId, AccountName, string)>();
        // Each machine's row is updated only in the columns that changed: an unchanged due time keeps its index entry.
        var storageUpdates = new List<object?[]>(rows.Count);
        var runningUpdates = new List<object?[]>(rows.Count);
        var bothUpdates = new List<object?[]>();

        decimal Available(string account) => balances[account] + deltas.GetValueOrDefault(account);
        var inserter = bulk ? null : new Ledger.Inserter(c, tx);
        var transfers = bulk ? new Ledger.BulkInserter() : null;
        var appender = events.AppenderFor(c, tx);
        var charged = new List<(string Kind, Guid? Machine, string? Account, string Message)>();
        async Task<bool> Charge(MachineRow m, string key, string kind, Money amount, AccountName provider)
        {
            if (transfers is not null) transfers.Add(key, kind, amount, m.Owner, provider, m.Id, m.Host, now); // checked at the end
            else if (!await inserter!.InsertAsync(key, kind, amount, m.Owner, provider, m.Id, m.Host, now)) return false;
            deltas[m.Owner] = deltas.GetValueOrDefault(m.Owner) - amount.Dollars;
            deltas[provider] = deltas.GetValueOrDefault(provider) + amount.Dollars;
            return true;
        }

        foreach (var m in rows)
        {
            if (m.Host is null || !owners.TryGetValue(m.Host, out var provider)) continue;
            var id = m.Id;
            var notes = new List<string>();

            // Storage: every period begun since arrival, always charged; running: every period begun while running,
            // as long as the buyer can pay for it (ChargePlan, the one planner).
            var plan = ChargePlan.Due(m.Bill, BillingOccasion.Pass, now, new Money(Available(m.Owner)));
            foreach (var charge in plan.Charges)
                if (await Charge(m, charge.Key, charge.Kind, charge.Amount, provider))
                {
                    if (charge.Kind == TransferKinds.Storage) { sc++; storageSum += charge.Amount.Dollars; }
                    else { rc++; runningSum += charge.Amount.Dollars; }
                    notes.Add($"{charge.Kind} period {charge.Period}: {Plain.Exact(charge.Amount)}");
                }
            if (plan.Unpaid is { } unpaidCharge)
                u.Add((id, m.Owner, $"your balance {Plain.Exact(Available(m.Owner))} does not cover the running charge of {Plain.Exact(unpaidCharge.Amount)} for period {unpaidCharge.Period}"));
            var rt = m.RunningTime;
            var period = m.RunningPeriodSecondsValue;
            var paid = plan.RunningPeriodsCharged;
            var arrived = m.ArrivedAt!.Value;
            var days = m.StoragePeriodDaysValue;
            var storageBegun = plan.StoragePeriodsCharged;
            var runningDue = BillingPlan.RunningDueAt(rt with { PeriodsCharged = paid }, period);
            var storageCharged = Math.Max(storageBegun, m.StoragePeriodsCharged);
            var nextStorage = BillingPlan.StoragePeriodStart(arrived, days, storageCharged + 1);
            var rd = runningDue;
            var storageChanged = storageCharged != m.StoragePeriodsCharged || nextStorage != m.NextStorageAt;
            var runningChanged = paid != m.RunningPeriodsCharged || rd != m.RunningDueAt;
            if (storageChanged && runningChanged) bothUpdates.Add([storageCharged, nextStorage, paid, rd, m.Id]);
            else if (storageChanged) storageUpdates.Add([storageCharged, nextStorage, m.Id]);
            else if (runningChanged) runningUpdates.Add([paid, rd, m.Id]);
            if (notes.Count > 0) charged.Add(("charged", id.Value, m.Owner, $"charged on {m.Host}: {string.Join("; ", notes)}"));
        }
        if (transfers is not null)
        {
            // A key that existed: undo and bill this batch one charge at a time (the caller rolls back to its savepoint).
            if (await transfers.FlushAsync(c, tx) != transfers.Count) return null;
            await events.AppendAllAsync(c, tx, charged);
            await UpdateAllAsync(c, tx, storageUpdates, runningUpdates, bothUpdates);
        }
        else
        {
            foreach (var e in charged) await appender.AppendAsync(e.Kind, e.Machine, e.Account, e.Message);
            // Each statement prepared once and run for each of its machines, instead of one parsed per machine.
            await ExecuteEachAsync(c, tx, "UPDATE machines SET storage_periods_charged = @s, next_storage_at = @ns WHERE id = @id", ["s", "ns"], storageUpdates);
            await ExecuteEachAsync(c, tx, "UPDATE machines SET running_periods_charged = @r, running_due_at = @rd WHERE id = @id", ["r", "rd"], runningUpdates);
            await ExecuteEachAsync(c, tx, "UPDATE machines SET storage_periods_charged = @s, next_storage_at = @ns, running_periods_charged = @r, running_due_at = @rd WHERE id = @id",
                ["s", "ns", "r", "rd"], bothUpdates);
        }
        await ledger.ApplyAsync(c, tx, deltas, balances);
        await TellLowBalancesAsync(c, tx, appender, deltas, balances);
        return (sc, rc, u, storageSum, runningSum);
    }

    /// <summary>
    /// PostgreSQL: the machine updates of a batch, one statement per kind of update (each row's columns from arrays, <c>unnest</c>), as
    /// <see cref="ExecuteEachAsync"/> runs them one machine at a time.
    /// </summary>
    private static async Task UpdateAllAsync(System.Data.Common.DbConnection c, System.Data.Common.DbTransaction tx,
        List<object?[]> storage, List<object?[]> running, List<object?[]> both)
    {
        static long? N(object? v) => v is null ? null : Convert.ToInt64(TypeHandlers.Raw(v), System.Globalization.CultureInfo.InvariantCulture);
        static string Id(object? v) => (string)TypeHandlers.Raw(v);
        if (storage.Count > 0)
            await c.ExecuteAsync("UPDATE machines SET storage_periods_charged = v.s, next_storage_at = v.ns FROM unnest(@s, @ns, @ids) AS v(s, ns, id) WHERE machines.id = v.id",
                new { s = storage.Select(x => N(x[0])).ToArray(), ns = storage.Select(x => N(x[1])).ToArray(), ids = storage.Select(x => Id(x[2])).ToArray() }, tx);
        if (running.Count > 0)
            await c.ExecuteAsync("UPDATE machines SET running_periods_charged = v.r, running_due_at = v.rd FROM unnest(@r, @rd, @ids) AS v(r, rd, id) WHERE machines.id = v.id",
                new { r = running.Select(x => N(x[0])).ToArray(), rd = running.Select(x => N(x[1])).ToArray(), ids = running.Select(x => Id(x[2])).ToArray() }, tx);
        if (both.Count > 0)
            await c.ExecuteAsync("UPDATE machines SET storage_periods_charged = v.s, next_storage_at = v.ns, running_periods_charged = v.r, running_due_at = v.rd " +
                "FROM unnest(@s, @ns, @r, @rd, @ids) AS v(s, ns, r, rd, id) WHERE machines.id = v.id",
                new { s = both.Select(x => N(x[0])).ToArray(), ns = both.Select(x => N(x[1])).ToArray(), r = both.Select(x => N(x[2])).ToArray(),
                    rd = both.Select(x => N(x[3])).ToArray(), ids = both.Select(x => Id(x[4])).ToArray() }, tx);
    }

    /// <summary>
    /// Issue 18: an account whose balance this batch took from at or above the threshold its owner set to under it is told, in the
    /// batch's transaction (<see cref="LowBalance"/>: once per crossing).
    /// </summary>
    private async Task TellLowBalancesAsync(System.Data.Common.DbConnection c, System.Data.Common.DbTransaction tx, EventLog.Appender appender,
        Dictionary<string, decimal> deltas, Dictionary<string, decimal> balances)
    {
        var falling = deltas.Where(d => d.Value < 0).Select(d => d.Key).ToList();
        if (falling.Count == 0) return;
        var thresholds = await c.QueryAsync<(string Username, string Threshold)>(
            $"SELECT username, balance_threshold FROM accounts WHERE balance_threshold IS NOT NULL AND {db.InList("username", "names")}",
            new { names = db.ListValue(falling) }, tx);
        foreach (var (account, text) in thresholds)
        {
            var threshold = new Money(decimal.Parse(text, System.Globalization.CultureInfo.InvariantCulture));
            var (before, after) = (new Money(balances[account]), new Money(balances[account] + deltas[account]));
            if (LowBalance.Crossed(before, after, threshold))
                await appender.AppendAsync("balance-low", null, account,
                    $"Your balance fell to ${Money.Format(after.Dollars)}, under the ${Money.Format(threshold.Dollars)} you asked to be told at. Add money to keep your machines running.");
        }
    }

    /// <summary>
    /// Runs <paramref name="sql"/>, prepared once, for each row: the 64-bit integer parameters <paramref name="numbers"/> in order
    /// (counts, or instants stored as unix milliseconds; null allowed), then the machine's id as <c>@id</c>.
    /// </summary>
    private static async Task ExecuteEachAsync(System.Data.Common.DbConnection c, System.Data.Common.DbTransaction tx, string sql, string[] numbers, List<object?[]> rows)
    {
        if (rows.Count == 0) return;
        await using var command = c.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        var p = numbers.Append("id").Select(name =>
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.DbType = name == "id" ? System.Data.DbType.String : System.Data.DbType.Int64;
            command.Parameters.Add(parameter);
            return parameter;
        }).ToArray();
        foreach (var row in rows)
        {
            for (var i = 0; i < p.Length; i++) p[i].Value = TypeHandlers.Raw(row[i]);
            await command.ExecuteNonQueryAsync();
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Billing pass failed; the next pass retries")]
    private static partial void LogPassFailed(ILogger logger, Exception e);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Billing pass: {Machines} machines due, {Storage} storage and {Running} running charges, {Suspended} suspended for lack of funds")]
    private static partial void LogPass(ILogger logger, int machines, int storage, int running, int suspended);
}
