using Virtuoso.Core.Market;

namespace Virtuoso.Core.Tests.Market;

/// <summary>
/// Issue 18: the monthly total of a usage profile and the break-even between two hosts. alpha and beta are priced like
/// the report's virt8 and virt13 for linux-busybox (design §3.1): $3/month + $2.448/hour and $30/month + $0.3744/hour.
/// </summary>
public sealed class UsageCostTests
{
    private static readonly Money AlphaStorage = new(3m), AlphaRunning = new(2.448m);
    private static readonly Money BetaStorage = new(30m), BetaRunning = new(0.3744m);

    [Theory]
    [InlineData(0, 3)]
    [InlineData(5, 15.24)]          // 3 + 5 × 2.448
    [InlineData(100, 247.8)]        // 3 + 244.8
    [InlineData(730, 1790.04)]      // always on
    [InlineData(744, 1824.312)]
    [InlineData(0.5, 4.224)]
    public void Monthly_IsStoragePlusRunningForTheHours_Exactly(decimal hours, decimal expected)
    {
        Assert.Equal(expected, UsageCost.Monthly(AlphaStorage, AlphaRunning, hours).Dollars);
    }

    [Fact]
    public void Monthly_DoesNotRoundTheRatesDigits()
    {
        Assert.Equal(30.0000001m, UsageCost.Monthly(new Money(30m), new Money(0.0000000001m), 1000m).Dollars);
    }

    [Fact]
    public void BreakEven_AlphaAndBeta_CostTheSameAt27Over2Point0736Hours_EitherWayRound()
    {
        var expected = 27m / 2.0736m; // 13.02… h: below, alpha's cheaper storage wins; above, beta's cheaper running

        Assert.Equal(expected, UsageCost.BreakEven(AlphaStorage, AlphaRunning, BetaStorage, BetaRunning));
        Assert.Equal(expected, UsageCost.BreakEven(BetaStorage, BetaRunning, AlphaStorage, AlphaRunning));
        var hours = expected!;
        Assert.Equal(UsageCost.Monthly(AlphaStorage, AlphaRunning, hours).Dollars, UsageCost.Monthly(BetaStorage, BetaRunning, hours).Dollars, 20);
        Assert.True(UsageCost.Monthly(AlphaStorage, AlphaRunning, 13m) < UsageCost.Monthly(BetaStorage, BetaRunning, 13m));
        Assert.True(UsageCost.Monthly(AlphaStorage, AlphaRunning, 14m) > UsageCost.Monthly(BetaStorage, BetaRunning, 14m));
    }

    [Fact]
    public void BreakEven_EqualRunningRates_IsNone()
    {
        Assert.Null(UsageCost.BreakEven(AlphaStorage, AlphaRunning, BetaStorage, AlphaRunning));
    }

    [Fact]
    public void BreakEven_OneHostCheaperInBoth_IsNone()
    {
        // Cheaper storage and cheaper running: the lines cross at a negative number of hours.
        Assert.Null(UsageCost.BreakEven(new Money(1m), new Money(0.1m), BetaStorage, BetaRunning));
    }

    [Fact]
    public void BreakEven_BeyondAMonthsHours_IsNone_AtTheLimit_IsKept()
    {
        // Crossing at 745 h: outside; at exactly 744 h: inside.
        Assert.Null(UsageCost.BreakEven(new Money(0m), new Money(2m), new Money(745m), new Money(1m)));
        Assert.Equal(744m, UsageCost.BreakEven(new Money(0m), new Money(2m), new Money(744m), new Money(1m)));
        Assert.Equal(0m, UsageCost.BreakEven(new Money(5m), new Money(2m), new Money(5m), new Money(1m)));
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(744, true)]
    [InlineData(730, true)]
    [InlineData(-1, false)]
    [InlineData(744.01, false)]
    public void ValidHours_IsZeroTo744(decimal hours, bool valid)
    {
        Assert.Equal(valid, UsageCost.ValidHours(hours));
    }

    [Fact]
    public void DefaultHours_IsAlwaysOn_AndAValidMonth()
    {
        Assert.Equal(730, UsageCost.DefaultHoursPerMonth);
        Assert.True(UsageCost.ValidHours(UsageCost.DefaultHoursPerMonth));
    }
}
