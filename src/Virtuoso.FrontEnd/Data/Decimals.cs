using System.Globalization;

namespace Virtuoso.FrontEnd.Data;

/// <summary>Money columns are invariant decimal TEXT (see 0001_schema.sql); these convert both ways.</summary>
internal static class Decimals
{
    public static decimal Parse(string s) => decimal.Parse(s, NumberStyles.Number | NumberStyles.AllowExponent, CultureInfo.InvariantCulture);
    public static decimal? ParseOrNull(string? s) => s is null ? null : Parse(s);
    public static string Text(decimal d) => Core.Money.Format(d);
    public static string? TextOrNull(decimal? d) => d is { } v ? Text(v) : null;
}
