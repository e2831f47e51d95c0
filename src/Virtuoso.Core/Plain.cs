using System.Globalization;

namespace Virtuoso.Core;

/// <summary>
/// Amounts and durations as a buyer reads them in sentences (issue 18: "durations as '59 min', money always with its
/// currency"): "$27.40", "$0.0006", "52 min", "3 h 10 min", "12 days". For prose only: the ledger and the API keep the
/// exact decimals (<see cref="Money.Format"/>), so what is said can be rounded while what is charged never is.
/// </summary>
public static class Plain
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>
    /// Dollars with the sign and the currency: cents from one cent up ("$27.40", "$2.448" keeps a third and fourth
    /// decimal when they are there), and two significant digits below a cent ("$0.0006"), so a tiny price is not "$0.00".
    /// </summary>
    public static string Dollars(decimal amount)
    {
        var sign = amount < 0 ? "-" : "";
        var a = Math.Abs(amount);
        if (a == 0) return "$0.00";
        if (a >= 0.01m) return sign + "$" + Math.Round(a, 4, MidpointRounding.AwayFromZero).ToString("0.00##", Invariant);
        var decimals = 2;
        while (a * Pow10(decimals) < 10m && decimals < 28) decimals++;
        return sign + "$" + Math.Round(a, decimals, MidpointRounding.AwayFromZero).ToString("0." + new string('#', decimals), Invariant);
    }

    public static string Dollars(Money amount) => Dollars(amount.Dollars);

    /// <summary>
    /// Dollars with the currency and every decimal ("$25.123456789", "$3.00"): for what was charged or credited, where a
    /// rounded amount would not add up with the ledger.
    /// </summary>
    public static string Exact(decimal amount) =>
        (amount < 0 ? "-" : "") + "$" + Math.Abs(amount).ToString("0.00##########################", Invariant);

    public static string Exact(Money amount) => Exact(amount.Dollars);

    /// <summary>
    /// A duration in the largest units that read well: "45 s", "59 min", "3 h 10 min", "1 day 4 h", "2 days 4 h", "12 days".
    /// Rounded to the nearest unit shown; a negative duration reads as none.
    /// </summary>
    public static string Duration(decimal seconds)
    {
        var s = Math.Max(0m, seconds);
        if (s < 59.5m) return $"{Math.Round(s, 0, MidpointRounding.AwayFromZero)} s";
        var minutes = (long)Math.Round(s / 60m, 0, MidpointRounding.AwayFromZero);
        if (minutes < 60) return $"{minutes} min";
        if (minutes < 24 * 60) return minutes % 60 == 0 ? $"{minutes / 60} h" : $"{minutes / 60} h {minutes % 60} min";
        var hours = (long)Math.Round(s / 3600m, 0, MidpointRounding.AwayFromZero);
        if (hours < 48) return hours == 24 ? "1 day" : $"1 day {hours - 24} h";
        var days = hours / 24;
        return days >= 10 || hours % 24 == 0 ? $"{Math.Round(s / 86400m, 0, MidpointRounding.AwayFromZero)} days" : $"{days} days {hours % 24} h";
    }

    public static string Duration(TimeSpan span) => Duration((decimal)span.TotalSeconds);

    /// <summary>A message as a sentence: its first letter upper-case and a full stop at its end.</summary>
    public static string Sentence(string message)
    {
        var m = message.Trim();
        if (m.Length == 0) return m;
        m = char.ToUpperInvariant(m[0]) + m[1..];
        return m[^1] is '.' or '!' or '?' ? m : m + ".";
    }

    private static decimal Pow10(int n)
    {
        var p = 1m;
        for (var i = 0; i < n; i++) p *= 10m;
        return p;
    }
}
