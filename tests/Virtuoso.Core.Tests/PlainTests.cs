namespace Virtuoso.Core.Tests;

public sealed class PlainTests
{
    [Theory]
    [InlineData("0", "$0.00")]
    [InlineData("27.4", "$27.40")]
    [InlineData("27.3968", "$27.3968")]
    [InlineData("27.39684", "$27.3968")]
    [InlineData("2.448", "$2.448")]
    [InlineData("30", "$30.00")]
    [InlineData("0.3744", "$0.3744")]
    [InlineData("0.01", "$0.01")]
    [InlineData("0.0006", "$0.0006")]
    [InlineData("0.000001", "$0.000001")]
    [InlineData("0.00012345", "$0.00012")]
    [InlineData("-5", "-$5.00")]
    [InlineData("1234567.5", "$1234567.50")]
    public void Dollars_carry_the_currency_and_read_well(string amount, string said) =>
        Assert.Equal(said, Plain.Dollars(decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture)));

    [Theory]
    [InlineData("25.123456789", "$25.123456789")]
    [InlineData("3", "$3.00")]
    [InlineData("0.2016", "$0.2016")]
    [InlineData("-0.5", "-$0.50")]
    public void Exact_amounts_keep_every_decimal(string amount, string said) =>
        Assert.Equal(said, Plain.Exact(decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture)));

    [Theory]
    [InlineData(0, "0 s")]
    [InlineData(44.6, "45 s")]
    [InlineData(59.4, "59 s")]
    [InlineData(59.6, "1 min")]
    [InlineData(60, "1 min")]
    [InlineData(3549.35, "59 min")]
    [InlineData(3600, "1 h")]
    [InlineData(11400, "3 h 10 min")]
    [InlineData(23 * 3600 + 59 * 60, "23 h 59 min")]
    [InlineData(86399, "1 day")]
    [InlineData(100800, "1 day 4 h")]
    [InlineData(47 * 3600 + 59 * 60, "2 days")]
    [InlineData(48 * 3600, "2 days")]
    [InlineData(52 * 3600, "2 days 4 h")]
    [InlineData(30 * 86400, "30 days")]
    [InlineData(-5, "0 s")]
    public void Durations_use_the_largest_units_that_read_well(double seconds, string said) =>
        Assert.Equal(said, Plain.Duration((decimal)seconds));

    [Theory]
    [InlineData("wrong username or password", "Wrong username or password.")]
    [InlineData("host alpha is offline.", "Host alpha is offline.")]
    [InlineData("  done?  ", "Done?")]
    [InlineData("", "")]
    public void Sentences_start_upper_case_and_end_with_a_stop(string message, string said) =>
        Assert.Equal(said, Plain.Sentence(message));
}
