using System.Globalization;

namespace Virtuoso.Core.Tests;

public sealed class UnitsTests
{
    public static TheoryData<decimal, string> Formats => new()
    {
        { 0.3744m, "0.3744" },
        { 2.448m, "2.448" },
        { 0.002016m, "0.002016" },
        { 1E-09m, "0.000000001" },
        { 1E-28m, "0.0000000000000000000000000001" },
        { 2.44800m, "2.448" },
        { 3.000m, "3" },
        { 30m, "30" },
        { 0m, "0" },
        { 0.000m, "0" },
        { -0.3744m, "-0.3744" },
        { 12345678.9m, "12345678.9" },
        { 1234567890123456789.0123456789m, "1234567890123456789.0123456789" },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Format_ShowsEveryDigit_WithoutTrailingZerosOrExponent(decimal dollars, string expected)
    {
        Assert.Equal(expected, Money.Format(dollars));
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void ToString_IsFormat(decimal dollars, string expected)
    {
        Assert.Equal(expected, new Money(dollars).ToString());
    }

    [Fact]
    public void Format_NegativeZero_ShowsZero()
    {
        Assert.Equal("0", (-Money.Zero).ToString());
    }

    [Fact]
    public void Format_IgnoresCurrentCulture()
    {
        var before = CultureInfo.CurrentCulture;
        var commas = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        commas.NumberFormat.NumberDecimalSeparator = ",";
        commas.NumberFormat.NumberGroupSeparator = ".";
        commas.NumberFormat.NegativeSign = "~";
        try
        {
            CultureInfo.CurrentCulture = commas;
            Assert.Equal("-1234.5", Money.Format(-1234.5m));
        }
        finally
        {
            CultureInfo.CurrentCulture = before;
        }
    }

    [Fact]
    public void Equality_IgnoresDecimalScale()
    {
        Assert.Equal(new Money(2.448m), new Money(2.44800m));
    }

    [Fact]
    public void Arithmetic_IsExact()
    {
        var a = new Money(0.1m);
        var b = new Money(0.2m);

        Assert.Equal(0.3m, (a + b).Dollars);
        Assert.Equal(-0.1m, (a - b).Dollars);
        Assert.Equal(-0.1m, (-a).Dollars);
        Assert.Equal(0.3744m, (new Money(0.000104m) * 3600m).Dollars);
        Assert.Equal(0m, (Money.Zero + a - a).Dollars);
    }

    [Fact]
    public void Comparisons_FollowDollars()
    {
        var small = new Money(0.002016m);
        var large = new Money(0.2016m);

        Assert.True(small < large);
        Assert.True(large > small);
        Assert.True(small <= new Money(0.0020160m));
        Assert.True(small >= new Money(0.0020160m));
        Assert.False(large <= small);
        Assert.False(small >= large);
        Assert.True(small.CompareTo(large) < 0);
        Assert.True(large.CompareTo(small) > 0);
        Assert.Equal(0, small.CompareTo(new Money(0.00201600m)));
    }

    [Fact]
    public void Sizes_ToString_NameTheirUnit()
    {
        Assert.Equal("256 MB", new Megabytes(256).ToString());
        Assert.Equal("4000 bogomips", new Bogomips(4000).ToString());
    }

    [Fact]
    public void MachineSpec_EqualsByValue()
    {
        Assert.Equal(
            new MachineSpec(new Bogomips(4000), new Megabytes(256), new Megabytes(1000)),
            new MachineSpec(new Bogomips(4000), new Megabytes(256), new Megabytes(1000)));
        Assert.NotEqual(
            new MachineSpec(new Bogomips(4000), new Megabytes(256), new Megabytes(1000)),
            new MachineSpec(new Bogomips(4000), new Megabytes(1000), new Megabytes(256)));
    }
}
