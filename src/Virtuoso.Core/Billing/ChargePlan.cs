namespace Virtuoso.Core.Billing;

/// <summary>When charges can fall due for a machine (design §4). Every place that charges asks <see cref="ChargePlan.Due"/>.</summary>
public enum BillingOccasion
{
    /// <summary>The billing daemon's pass: storage periods begun, and running periods begun while it runs.</summary>
    Pass,
    /// <summary>A run ends (stop, suspend, found powered off, host gone offline): running periods begun while it ran.</summary>
    RunEnds,
    /// <summary>Start or resume: one running period, when none is prepaid.</summary>
    Start,
    /// <summary>The machine leaves its host (a committed migration): storage periods begun there.</summary>
    Leave,
}

/// <summary>What a machine's stay on its host is billed from: its prices, periods and what was charged so far.</summary>
public sealed record MachineBill(
    Guid Machine, long Stay, DateTimeOffset ArrivedAt,
    long StoragePeriodDays, Money StoragePrice, long StoragePeriodsCharged,
    long RunningPeriodSeconds, Money RunningPrice, RunningTime Running);

/// <summary>One period to charge, under its idempotency key.</summary>
public sealed record DueCharge(string Kind, long Period, Money Amount, string Key);

/// <summary>
/// The charges due, in order, and what the machine has been charged after them. Storage is always charged (a balance may
/// go negative); a running period is charged only while the buyer can pay: <see cref="Unpaid"/> is the first one that
/// could not be, after which no later running period is charged.
/// </summary>
public sealed record ChargeList(IReadOnlyList<DueCharge> Charges, long StoragePeriodsCharged, long RunningPeriodsCharged, DueCharge? Unpaid);

/// <summary>
/// The one billing planner (issue 13; design §4, report §5.1.6): which periods are due for a machine at an instant, for each
/// occasion, given what the buyer can spend. Pure: the daemon, stop, suspend, start, resume, the host monitor and a
/// migration's commit all ask it; <c>Billing/Charges.cs</c> in the front-end applies what it returns.
/// </summary>
public static class ChargePlan
{
    /// <param name="secondsUsed">For <see cref="BillingOccasion.RunEnds"/>: the seconds run on this host when the run ended.</param>
    /// <param name="available">What the buyer can spend on running periods now (its balance).</param>
    public static ChargeList Due(MachineBill m, BillingOccasion occasion, DateTimeOffset now, Money available, decimal? secondsUsed = null)
    {
        var charges = new List<DueCharge>();
        var storage = m.StoragePeriodsCharged;
        if (occasion is BillingOccasion.Pass or BillingOccasion.Leave)
            for (var k = m.StoragePeriodsCharged + 1; k <= BillingPlan.StoragePeriodsBegun(m.ArrivedAt, m.StoragePeriodDays, now); k++)
            {
                charges.Add(new(TransferKinds.Storage, k, m.StoragePrice, ChargeKey.Storage(m.Machine, m.Stay, k)));
                available -= m.StoragePrice;
                storage = k;
            }

        var runningTo = occasion switch
        {
            BillingOccasion.Pass => m.Running.RunningSince is null ? m.Running.PeriodsCharged : BillingPlan.RunningPeriodsBegun(m.Running, m.RunningPeriodSeconds, now),
            // A period is due when any of it was used: the one in progress when the run ended included.
            BillingOccasion.RunEnds => Math.Max(m.Running.PeriodsCharged, (long)decimal.Ceiling((secondsUsed ?? m.Running.UsedAt(now)) / m.RunningPeriodSeconds)),
            BillingOccasion.Start => m.Running.NeedsChargeToStart(now, m.RunningPeriodSeconds) ? m.Running.PeriodsCharged + 1 : m.Running.PeriodsCharged,
            _ => m.Running.PeriodsCharged,
        };
        var running = m.Running.PeriodsCharged;
        DueCharge? unpaid = null;
        for (var k = m.Running.PeriodsCharged + 1; k <= runningTo; k++)
        {
            var charge = new DueCharge(TransferKinds.Running, k, m.RunningPrice, ChargeKey.Running(m.Machine, m.Stay, k));
            if (available < m.RunningPrice)
            {
                unpaid = charge;
                break;
            }
            charges.Add(charge);
            available -= m.RunningPrice;
            running = k;
        }
        return new(charges, storage, running, unpaid);
    }
}
