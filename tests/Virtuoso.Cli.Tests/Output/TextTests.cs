using Virtuoso.Cli.Output;

namespace Virtuoso.Cli.Tests.Output;

public sealed class TextTests
{
    [Theory]
    [InlineData("0.3744", "0.3744")]
    [InlineData("2.448000", "2.448")]
    [InlineData("999.62560", "999.6256")]
    [InlineData("30.000", "30")]
    [InlineData("0.0000001", "0.0000001")]
    [InlineData("0.0000000000000000000000000001", "0.0000000000000000000000000001")]
    [InlineData("79228162514264337593543950335", "79228162514264337593543950335")]
    [InlineData("-3.50", "-3.5")]
    public void Number_IsInvariantAndUnrounded(string value, string expected)
    {
        Assert.Equal(expected, Text.Number(decimal.Parse(value, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void Money_PutsTheSignBeforeTheDollar()
    {
        Assert.Equal("$999.6256", Text.Money(999.62560m));
        Assert.Equal("-$3", Text.Money(-3m));
    }

    [Fact]
    public void Rates_ReadAsInTheIssue()
    {
        Assert.Equal("30 $/month, 0.3744 $/hour", Text.Rates(30.0m, 0.37440m));
    }

    [Theory]
    [InlineData("5.5", "5.5s")]
    [InlineData("60", "1m 0s")]
    [InlineData("3600", "1h 0m 0s")]
    [InlineData("90061.25", "1d 1h 1m 1.25s")]
    [InlineData("-61", "-1m 1s")]
    public void Duration_KeepsFractionsOfSeconds(string seconds, string expected)
    {
        Assert.Equal(expected, Text.Duration(decimal.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void Charges_NameTheirPeriods()
    {
        Assert.Equal("$3 per 30 days", Text.StorageCharge(3m, 30));
        Assert.Equal("$0.1 per 1 day", Text.StorageCharge(0.1m, 1));
        Assert.Equal("$2.448 per 3600 s", Text.RunningCharge(2.448m, 3600));
    }
}
