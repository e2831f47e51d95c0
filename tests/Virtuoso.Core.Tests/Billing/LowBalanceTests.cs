using Virtuoso.Core.Billing;

namespace Virtuoso.Core.Tests.Billing;

public sealed class LowBalanceTests
{
    private static Money M(decimal d) => new(d);

    [Theory]
    [InlineData(10, 4.99, 5, true)]   // from above to under
    [InlineData(5, 4.99, 5, true)]    // from exactly the threshold to under
    [InlineData(10, 5, 5, false)]     // down to the threshold, not under
    [InlineData(4.99, 3, 5, false)]   // already under: told at the crossing, not again
    [InlineData(3, 10, 5, false)]     // topped up: not a fall
    [InlineData(1, -2, 0, true)]      // a threshold of zero: told when the balance goes negative
    public void Crossed_OnlyWhenAChargeTakesTheBalanceFromAtOrAboveToUnder(decimal before, decimal after, decimal threshold, bool crossed) =>
        Assert.Equal(crossed, LowBalance.Crossed(M(before), M(after), M(threshold)));

    [Fact]
    public void Crossed_NoThreshold_IsNever() => Assert.False(LowBalance.Crossed(M(100), M(-100), null));
}
