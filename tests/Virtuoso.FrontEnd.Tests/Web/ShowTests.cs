using Virtuoso.FrontEnd.Web;

namespace Virtuoso.FrontEnd.Tests.Web;

/// <summary>Web/WebPage.cs's <see cref="Show"/>: durations in plain units, money with its currency (issue 18).</summary>
public sealed class ShowTests
{
    [Theory]
    [InlineData(0, "0 s")]
    [InlineData(45.4, "45 s")]
    [InlineData(59.4, "59 s")]
    [InlineData(59.6, "1 min")]
    [InlineData(3120, "52 min")]
    [InlineData(3549.3533135, "59 min")]
    [InlineData(3600, "1 h")]
    [InlineData(11400, "3 h 10 min")]
    [InlineData(86399, "1 day")]
    [InlineData(100800, "1 day 4 h")]
    [InlineData(1036800, "12 days")]
    [InlineData(2367360, "27 days")]
    [InlineData(-5, "0 s")]
    public void Duration_IsInPlainUnits(decimal seconds, string text)
    {
        Assert.Equal(text, Show.Duration(seconds));
    }

    [Theory]
    [InlineData(30, "30 days")]
    [InlineData(1, "1 day")]
    public void Period_OfStorage_IsInDays(long days, string text)
    {
        Assert.Equal(text, Show.Period(days * 86400));
    }

    [Theory]
    [InlineData(3600, "1 h")]
    [InlineData(7200, "2 h")]
    [InlineData(60, "1 min")]
    [InlineData(90, "90 s")]
    [InlineData(5, "5 s")]
    public void Period_OfRunning_IsExactInItsLargestWholeUnit(long seconds, string text)
    {
        Assert.Equal(text, Show.Period(seconds));
    }

    [Theory]
    [InlineData(27.4, "$27.40")]
    [InlineData(15.24, "$15.24")]
    [InlineData(31.872, "$31.87")]
    [InlineData(0.325, "$0.33")]
    [InlineData(0, "$0.00")]
    [InlineData(-1.5, "-$1.50")]
    public void Cents_AlwaysTwoDecimalsWithTheCurrency(decimal dollars, string text)
    {
        Assert.Equal(text, Show.Cents(dollars));
    }

    [Fact]
    public void Money_IsExactWithTheCurrency()
    {
        Assert.Equal("$2.448", Show.Money(2.448m));
        Assert.Equal("$0.000000001", Show.Money(0.000000001m));
    }
}

/// <summary>How the pages say how long ago something was (issue 18: "last seen 3 min ago").</summary>
public sealed class ShowAgoTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 9, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(0, "just now")]
    [InlineData(59, "just now")]
    [InlineData(60, "1 min ago")]
    [InlineData(179, "2 min ago")]
    [InlineData(3599, "59 min ago")]
    [InlineData(3600, "1 h ago")]
    [InlineData(47 * 3600, "47 h ago")]
    [InlineData(48 * 3600, "2 days ago")]
    public void Ago_SaysTheLargestWholeUnit(int secondsAgo, string said) => Assert.Equal(said, Show.Ago(Now.AddSeconds(-secondsAgo), Now));
}
