using Dapper;
using Virtuoso.Core.Billing;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Data;

namespace Virtuoso.Bench.Billing;

/// <summary>
/// What each contender must have done, checked after the clock stops: a benchmark that silently does nothing (or
/// half of it) is worthless. Any failure ends the run with an error.
/// </summary>
internal static class Checks
{
    /// <summary>The ledger before any contender ran: its size and highest id.</summary>
    public sealed record Before(long Transfers, long MaxId, long Events);

    public static async Task<Before> ReadAsync(Database db)
    {
        await using var c = await db.OpenAsync();
        return new Before(
            await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM transfers"),
            await c.ExecuteScalarAsync<long>("SELECT MAX(id) FROM transfers"),
            await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM events"));
    }

    /// <summary>
    /// After a pass: exactly the due charges were made (by kind, each once), every balance equals its account's
    /// credits minus debits in the ledger, all balances sum to zero, one "charged" event per machine charged, and no
    /// machine is left with a charge due.
    /// </summary>
    public static async Task<Charged> PassAsync(Database db, Scale scale, Before before, BillingDaemon.PassResult result)
    {
        Require(result.Machines == scale.ChargesDue, $"the pass saw {result.Machines} machines due, expected {scale.ChargesDue}");
        Require(result.StorageCharges == scale.StorageDue && result.RunningCharges == scale.RunningDue,
            $"the pass reported {result.StorageCharges} storage and {result.RunningCharges} running charges, expected {scale.StorageDue} and {scale.RunningDue}");
        Require(result.Suspended.Count == 0, $"the pass suspended {result.Suspended.Count} machines");
        await using var c = await db.OpenAsync();
        var charged = await NewTransfersAsync(c, scale, before);

        var balances = (await c.QueryAsync<(string Username, string Balance)>("SELECT username, balance FROM accounts"))
            .ToDictionary(a => a.Username, a => TypeHandlers.ParseDecimal(a.Balance));
        var fromLedger = balances.Keys.ToDictionary(a => a, _ => 0m);
        foreach (var t in await c.QueryAsync<(string Amount, string From, string To)>("SELECT amount, from_account, to_account FROM transfers"))
        {
            var amount = TypeHandlers.ParseDecimal(t.Amount);
            fromLedger[t.From] -= amount;
            fromLedger[t.To] += amount;
        }
        var wrong = balances.Where(b => b.Value != fromLedger[b.Key]).ToList();
        Require(wrong.Count == 0, $"{wrong.Count} balances differ from their ledger, e.g. {wrong.FirstOrDefault().Key}: {wrong.FirstOrDefault().Value} ≠ {fromLedger.GetValueOrDefault(wrong.FirstOrDefault().Key ?? "")}");
        Require(balances.Values.Sum() == 0m, $"balances sum to {balances.Values.Sum()}, not zero");

        var events = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM events WHERE kind = 'charged'");
        Require(events == scale.ChargesDue, $"{events} 'charged' events, expected {scale.ChargesDue}");
        var nowMs = Scenario.Now.ToUnixTimeMilliseconds();
        var stillDue = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM machines WHERE next_storage_at <= @nowMs OR running_due_at <= @nowMs", new { nowMs });
        Require(stillDue == 0, $"{stillDue} machines still have a charge due after the pass");
        return charged;
    }

    /// <summary>After the baseline: exactly the due charges were inserted, by kind.</summary>
    public static async Task<Charged> BaselineAsync(Database db, Scale scale, Before before, int inserted)
    {
        Require(inserted == scale.ChargesDue, $"the baseline inserted {inserted} transfers, expected {scale.ChargesDue}");
        await using var c = await db.OpenAsync();
        return await NewTransfersAsync(c, scale, before);
    }

    /// <summary>The transfers a contender created, by key: every contender must create the same ones.</summary>
    public sealed record Charged(IReadOnlyList<(string Key, string Kind, decimal Amount, string From, string To, string? Machine, string? Host, long At)> Transfers)
    {
        /// <summary>Fails unless <paramref name="other"/> created exactly these transfers (amounts compared as decimals).</summary>
        public void RequireSame(Charged other, string who, string whom)
        {
            var differ = Transfers.Count != other.Transfers.Count ? -1 : Enumerable.Range(0, Transfers.Count).FirstOrDefault(i => Transfers[i] != other.Transfers[i], -2);
            if (differ == -1) Require(false, $"the {who} created {other.Transfers.Count} transfers, the {whom} {Transfers.Count}");
            if (differ >= 0) Require(false, $"the {who} and the {whom} differ at transfer {differ}: {other.Transfers[differ]} ≠ {Transfers[differ]}");
        }
    }

    private static async Task<Charged> NewTransfersAsync(System.Data.Common.DbConnection c, Scale scale, Before before)
    {
        var total = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM transfers");
        Require(total == before.Transfers + scale.ChargesDue, $"{total - before.Transfers} transfers created, expected {scale.ChargesDue}");
        var kinds = (await c.QueryAsync<(string Kind, long Count)>("SELECT kind, COUNT(*) FROM transfers WHERE id > @MaxId GROUP BY kind", before))
            .ToDictionary(k => k.Kind, k => k.Count);
        Require(kinds.Count == 2 && kinds.GetValueOrDefault(TransferKinds.Storage) == scale.StorageDue && kinds.GetValueOrDefault(TransferKinds.Running) == scale.RunningDue,
            $"new transfers by kind: {string.Join(", ", kinds.Select(k => $"{k.Key} {k.Value}"))}; expected storage {scale.StorageDue}, running {scale.RunningDue}");
        var created = (await c.QueryAsync<(string Key, string Kind, string Amount, string From, string To, string? Machine, string? Host, long At)>(
                "SELECT key, kind, amount, from_account, to_account, machine, host, at FROM transfers WHERE id > @MaxId", before))
            .Select(t => (t.Key, t.Kind, TypeHandlers.ParseDecimal(t.Amount), t.From, t.To, t.Machine, t.Host, t.At))
            .OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
        return new Charged(created);
    }

    private static void Require(bool ok, string message)
    {
        if (!ok) throw new InvalidOperationException("check failed: " + message);
    }
}
