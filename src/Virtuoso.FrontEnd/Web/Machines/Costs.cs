using Virtuoso.Contracts.Api;
using Virtuoso.Core;
using Virtuoso.Core.Market;

namespace Virtuoso.FrontEnd.Web.Machines;

/// <summary>
/// What the search and migrate pages say about cost (issue 18): where another host becomes cheaper than the one listed
/// first (<see cref="UsageCost.BreakEven"/>), as a sentence, and a host's rates in the units people think in.
/// </summary>
internal static class Costs
{
    /// <summary>A host's rates for the machine: dollars a month of storage, dollars an hour of running.</summary>
    public sealed record Rates(string Host, decimal StoragePerMonth, decimal RunningPerHour);

    /// <summary>
    /// For every host after the first (the cheapest at the hours shown) whose total crosses the first's within a month:
    /// "beta is cheaper than alpha above 13 h/month" (or "below", when it is the one with the cheaper storage).
    /// </summary>
    public static IReadOnlyDictionary<string, string> BreakEvens(IReadOnlyList<Rates> rows)
    {
        var sentences = new Dictionary<string, string>(StringComparer.Ordinal);
        if (rows.Count < 2) return sentences;
        var first = rows[0];
        foreach (var other in rows.Skip(1))
        {
            if (UsageCost.BreakEven(new Money(first.StoragePerMonth), new Money(first.RunningPerHour),
                    new Money(other.StoragePerMonth), new Money(other.RunningPerHour)) is not { } hours) continue;
            var side = other.RunningPerHour < first.RunningPerHour ? "above" : "below";
            sentences[other.Host] = $"{other.Host} is cheaper than {first.Host} {side} {Show.Hours(hours)} h/month";
        }
        return sentences;
    }

    /// <summary>Storage per GB-month (1 GB = 1000 MB, as hosts sell disk in MB): null for a machine with no disk.</summary>
    public static decimal? PerGbMonth(decimal storagePerMonth, long diskMb) => diskMb > 0 ? storagePerMonth * 1000m / diskMb : null;

    /// <summary>
    /// What leaving a host gives up, as one sentence: "You give up $27.40 of storage already paid (until 2026-12-20) and
    /// 52 min of prepaid running time (worth $0.32)." Amounts to the cent, as <see cref="ForfeitResponse"/> has them.
    /// </summary>
    public static string GivenUp(ForfeitResponse f) => $"You give up {What(f)}.";

    /// <summary>"$27.40 of storage already paid (until 2026-12-20) and 52 min of prepaid running time (worth $0.32)", or "nothing already paid".</summary>
    public static string What(ForfeitResponse f)
    {
        var parts = new List<string>();
        if (f.Storage > 0 && f.StoragePaidUntil is { } until) parts.Add($"{Show.Cents(f.Storage)} of storage already paid (until {Show.Day(until)})");
        if (f.RunningSeconds > 0) parts.Add($"{Show.Duration(f.RunningSeconds)} of prepaid running time (worth {Show.Cents(f.Running)})");
        return parts.Count == 0 ? "nothing already paid" : string.Join(" and ", parts);
    }
}
