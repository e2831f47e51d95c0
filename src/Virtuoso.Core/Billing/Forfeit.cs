namespace Virtuoso.Core.Billing;

/// <summary>How a machine leaves its host, which decides what is charged on the way out (design §4).</summary>
public enum Departure
{
    /// <summary>The buyer deletes it: nothing is charged (MachineWriter.CommitDeleteAsync charges nothing).</summary>
    Delete,

    /// <summary>
    /// A committed migration or an eviction by the host's deletion: the storage periods begun on the host and the
    /// running periods begun while it ran are charged first (<see cref="BillingOccasion.Leave"/>, <see cref="BillingOccasion.RunEnds"/>).
    /// </summary>
    Leave,
}

/// <summary>
/// What a machine gives up by leaving its host now (issue 18), under the report's rules, which stay: paid storage is
/// not refunded and prepaid running time is not carried to another host (design §4).
/// </summary>
/// <param name="Storage">The value of the paid storage not yet used: the storage price pro rata of the time from now to
/// <paramref name="StoragePaidUntil"/>, rounded to the cent (half away from zero). Zero when nothing is left.</param>
/// <param name="StoragePaidUntil">The end of the last storage period charged (after the departure's own charges).</param>
/// <param name="RunningSeconds">Prepaid running seconds left (after the departure's own charges), never negative.</param>
/// <param name="Running">Their value: the running price pro rata, rounded to the cent (half away from zero).</param>
/// <param name="ChargedNow">What the departure itself charges (storage and running periods begun but not yet charged); exact.</param>
public sealed record Forfeit(Money Storage, DateTimeOffset StoragePaidUntil, decimal RunningSeconds, Money Running, Money ChargedNow)
{
    /// <summary>All that is given up, storage and running (each rounded to the cent).</summary>
    public Money Total => Storage + Running;
}

/// <summary>Computes <see cref="Forfeit"/> from a machine's billing state. Pure; the clock is the caller's.</summary>
public static class Forfeits
{
    /// <summary>What <paramref name="bill"/>'s machine gives up if it leaves its host at <paramref name="now"/> by <paramref name="departure"/>.</summary>
    public static Forfeit At(MachineBill bill, DateTimeOffset now, Departure departure)
    {
        var storagePeriods = bill.StoragePeriodsCharged;
        var runningPeriods = bill.Running.PeriodsCharged;
        var used = bill.Running.UsedAt(now);
        if (departure == Departure.Leave)
        {
            storagePeriods = Math.Max(storagePeriods, BillingPlan.StoragePeriodsBegun(bill.ArrivedAt, bill.StoragePeriodDays, now));
            // As ChargePlan's RunEnds: a period is due when any of it was used.
            runningPeriods = Math.Max(runningPeriods, (long)decimal.Ceiling(used / bill.RunningPeriodSeconds));
        }
        var chargedNow = bill.StoragePrice * (storagePeriods - bill.StoragePeriodsCharged)
            + bill.RunningPrice * (runningPeriods - bill.Running.PeriodsCharged);

        var paidUntil = BillingPlan.StoragePeriodStart(bill.ArrivedAt, bill.StoragePeriodDays, storagePeriods + 1);
        var storageLeft = Math.Max(0, (paidUntil - now).Ticks);
        var storagePeriodTicks = bill.StoragePeriodDays * BillingPlan.SecondsPerDay * TimeSpan.TicksPerSecond;
        var storage = Cents(bill.StoragePrice.Dollars * storageLeft / storagePeriodTicks);

        var runningLeft = Math.Max(0m, runningPeriods * bill.RunningPeriodSeconds - used);
        var running = Cents(bill.RunningPrice.Dollars * runningLeft / bill.RunningPeriodSeconds);
        return new Forfeit(storage, paidUntil, runningLeft, running, chargedNow);
    }

    private static Money Cents(decimal dollars) => new(Math.Round(dollars, 2, MidpointRounding.AwayFromZero));
}
