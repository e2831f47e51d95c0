namespace Virtuoso.Core.Market;

/// <summary>
/// What a host costs a buyer for a usage profile (issue 18): the storage rate for the month plus the running rate for the
/// hours the machine runs in it. Rates are those search computes (<see cref="HostPricing.StorageRatePerMonth"/>,
/// <see cref="HostPricing.RunningRatePerHour"/>), so a month is 30 days here as in the buyers' bids (design §3.1).
/// Decimal arithmetic throughout and nothing rounded: a total is exact to the rates' own digits; pages round it for
/// display only.
/// </summary>
public static class UsageCost
{
    /// <summary>The most hours a month can have: 31 days × 24.</summary>
    public const int MaxHoursPerMonth = 744;

    /// <summary>
    /// The hours assumed when the buyer states none: always on (365 × 24 / 12 = 730). The bids carry no usage, so there
    /// is nothing better to derive the default from, and "always on" never understates what a machine can cost.
    /// </summary>
    public const int DefaultHoursPerMonth = 730;

    /// <summary>Whether <paramref name="hours"/> is a usage a month can have (0 to <see cref="MaxHoursPerMonth"/>).</summary>
    public static bool ValidHours(decimal hours) => hours is >= 0 and <= MaxHoursPerMonth;

    /// <summary>Storage for the month plus running for <paramref name="hoursPerMonth"/> hours.</summary>
    public static Money Monthly(Money storagePerMonth, Money runningPerHour, decimal hoursPerMonth) =>
        storagePerMonth + runningPerHour * hoursPerMonth;

    /// <summary>
    /// The hours a month at which two hosts cost the same, when that is within 0..<see cref="MaxHoursPerMonth"/>, else
    /// null (equal running rates never cross; a crossing outside a month's hours never matters). Below it, the host
    /// with the cheaper storage costs less; above it, the one with the cheaper running rate. Exact, not rounded.
    /// </summary>
    public static decimal? BreakEven(Money storageA, Money runningA, Money storageB, Money runningB)
    {
        var runningGap = runningA.Dollars - runningB.Dollars;
        if (runningGap == 0) return null;
        var hours = (storageB.Dollars - storageA.Dollars) / runningGap;
        return ValidHours(hours) ? hours : null;
    }
}
