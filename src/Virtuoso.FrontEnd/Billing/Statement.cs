using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Virtuoso.Contracts.Api;
using Virtuoso.Core;

namespace Virtuoso.FrontEnd.Billing;

/// <summary>
/// An account's monthly statement as CSV (RFC 4180 quoting, LF line ends): a comment line with the opening and
/// closing balance, the header, then one line per transfer of the calendar month (UTC), oldest first, amounts
/// exact and unrounded, with the signed effect on the account's balance. Pure: <see cref="LedgerView"/> reads.
/// </summary>
internal static partial class Statement
{
    public const string Header = "at,key,kind,machine,host,from,to,amount,balance_effect";
    public const string ContentType = "text/csv; charset=utf-8";

    [GeneratedRegex(@"^([0-9]{4})-([0-9]{2})\z")] private static partial Regex MonthRx();

    /// <summary>The month <c>yyyy-MM</c> as [start, end) in UTC, or null with why not.</summary>
    public static (DateTimeOffset Start, DateTimeOffset End)? ParseMonth(string? text, out string? error)
    {
        error = null;
        var m = text is null ? null : MonthRx().Match(text);
        if (m is not { Success: true } || int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) is < 1970 or > 9998
            || int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) is < 1 or > 12)
        {
            error = $"the month must be YYYY-MM between 1970-01 and 9998-12, such as 2026-11, not '{text}'";
            return null;
        }
        var start = new DateTimeOffset(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), 1, 0, 0, 0, TimeSpan.Zero);
        return (start, start.AddMonths(1));
    }

    /// <summary>What <paramref name="transfer"/> did to <paramref name="account"/>'s balance: + received, − paid.</summary>
    public static decimal Effect(LedgerEntry transfer, string account) =>
        (transfer.To == account ? transfer.Amount : 0m) - (transfer.From == account ? transfer.Amount : 0m);

    public static string Csv(string account, string month, decimal opening, IReadOnlyList<LedgerEntry> transfers)
    {
        var closing = opening + transfers.Sum(t => Effect(t, account));
        var csv = new StringBuilder();
        csv.Append($"# account {account}; month {month} (UTC); opening balance {Money.Format(opening)}; closing balance {Money.Format(closing)}\n");
        csv.Append(Header).Append('\n');
        foreach (var t in transfers)
        {
            csv.AppendJoin(',', new[]
            {
                t.At.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                t.Key, t.Kind, t.Machine?.ToString("D") ?? "", t.Host ?? "", t.From, t.To,
                Money.Format(t.Amount), Money.Format(Effect(t, account)),
            }.Select(Field));
            csv.Append('\n');
        }
        return csv.ToString();
    }

    /// <summary>A field quoted when it must be (RFC 4180), and never read as a formula by a spreadsheet.</summary>
    private static string Field(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '@' && !decimal.TryParse(value, NumberStyles.Number, CultureInfo.InvariantCulture, out _))
            value = "'" + value;
        return value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }
}
