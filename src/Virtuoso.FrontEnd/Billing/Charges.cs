using System.Data.Common;
using Dapper;
using Virtuoso.Core;
using Virtuoso.Core.Billing;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Billing;

/// <summary>
/// The one writer of a machine's charges outside the billing daemon's batches (issue 13): asks the core's
/// <see cref="ChargePlan"/> what is due for the occasion, writes each charge as a ledger transfer under its key (a key
/// already there is "already done"), and records the periods charged on the machine's row — in the caller's transaction.
/// </summary>
internal sealed class Charges(Ledger ledger)
{
    /// <summary>Applies what is due for <paramref name="m"/> (read in this transaction) at <paramref name="occasion"/>; <paramref name="provider"/> is paid.</summary>
    public async Task<ChargeList> ApplyAsync(DbConnection c, DbTransaction tx, MachineRow m, BillingOccasion occasion, string provider, DateTimeOffset now,
        decimal? secondsUsed = null)
    {
        await ledger.LockAsync(c, tx, [m.Owner, provider]);
        var plan = ChargePlan.Due(m.Bill, occasion, now, await ledger.BalanceAsync(c, tx, m.Owner), secondsUsed);
        foreach (var charge in plan.Charges)
            await ledger.TransferAsync(c, tx, charge.Key, charge.Kind, charge.Amount, m.Owner, provider, m.Id, m.Host, now);
        if (plan.StoragePeriodsCharged != m.StoragePeriodsCharged || plan.RunningPeriodsCharged != m.RunningPeriodsCharged)
            await c.ExecuteAsync("UPDATE machines SET storage_periods_charged = @s, running_periods_charged = @r WHERE id = @Id",
                new { s = plan.StoragePeriodsCharged, r = plan.RunningPeriodsCharged, m.Id }, tx);
        return plan;
    }

    /// <summary>"charged 0.2016 for each of running periods 2–3" for an event, or "" when nothing was.</summary>
    public static string Describe(ChargeList plan, string kind)
    {
        var of = plan.Charges.Where(c => c.Kind == kind).ToList();
        return of.Count switch
        {
            0 => "",
            1 => $"charged {Plain.Exact(of[0].Amount)} for {kind} period {of[0].Period}",
            _ => $"charged {Plain.Exact(of[0].Amount)} for each of {kind} periods {of[0].Period}–{of[^1].Period}",
        };
    }
}
