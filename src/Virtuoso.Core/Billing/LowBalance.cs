namespace Virtuoso.Core.Billing;

/// <summary>
/// Issue 18: a buyer may ask to be told when their balance falls under an amount they choose. They are told when a charge
/// moves it from at or above that amount to under it: once per crossing, so a balance that stays low is not reported again
/// at every pass, and one that is topped up and falls again is.
/// </summary>
public static class LowBalance
{
    /// <summary>Whether going from <paramref name="before"/> to <paramref name="after"/> crosses under <paramref name="threshold"/> (null: never).</summary>
    public static bool Crossed(Money before, Money after, Money? threshold) =>
        threshold is { } t && before >= t && after < t;
}
