using System.Globalization;

namespace Virtuoso.Cli.Output;

/// <summary>How numbers, money, rates and times read in human output: invariant, never rounded.</summary>
internal static class Text
{
    // Every digit a decimal can hold (scale ≤ 28), no trailing zeros, never an exponent.
    private const string AllDigits = "0.############################";

    public static string Number(decimal value) => value.ToString(AllDigits, CultureInfo.InvariantCulture);

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Money(decimal value) => value < 0 ? "-$" + Number(-value) : "$" + Number(value);

    /// <summary>A buyer's rates in the units bids are made in (design §3.1): "30 $/month, 0.3744 $/hour".</summary>
    public static string Rates(decimal storagePerMonth, decimal runningPerHour) =>
        $"{Number(storagePerMonth)} $/month, {Number(runningPerHour)} $/hour";

    /// <summary>A charge per period: "$3 per 30 days", "$2.448 per 3600 s".</summary>
    public static string StorageCharge(decimal charge, long periodDays) =>
        $"{Money(charge)} per {Number(periodDays)} {(periodDays == 1 ? "day" : "days")}";

    public static string RunningCharge(decimal charge, long periodSeconds) => $"{Money(charge)} per {Number(periodSeconds)} s";

    /// <summary>"2d 3h 4m 5.5s": whole days, hours and minutes, and the seconds left unrounded.</summary>
    public static string Duration(decimal seconds)
    {
        if (seconds < 0)
        {
            return "-" + Duration(-seconds);
        }

        var whole = (long)decimal.Truncate(seconds);
        var parts = new List<string>();
        if (whole >= 86400) parts.Add($"{whole / 86400}d");
        if (whole >= 3600) parts.Add($"{whole % 86400 / 3600}h");
        if (whole >= 60) parts.Add($"{whole % 3600 / 60}m");
        parts.Add(Number(seconds - (whole - whole % 60)) + "s");
        return string.Join(' ', parts);
    }

    /// <summary>
    /// What leaving a host gave up (issue 18): "$27.4 of storage already paid (until 2026-12-20) and 52m 0s of prepaid
    /// running time (worth $0.32)", or "nothing already paid".
    /// </summary>
    public static string GivenUp(Virtuoso.Contracts.Api.ForfeitResponse f)
    {
        var parts = new List<string>();
        if (f.Storage > 0 && f.StoragePaidUntil is { } until)
            parts.Add($"{Money(f.Storage)} of storage already paid (until {until.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)})");
        if (f.RunningSeconds > 0) parts.Add($"{Duration(f.RunningSeconds)} of prepaid running time (worth {Money(f.Running)})");
        return parts.Count == 0 ? "nothing already paid" : string.Join(" and ", parts);
    }

    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>A size in binary units as the front-end states quotas: "48 KB", "9.8 GB" (1 GB = 1024³ bytes).</summary>
    public static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.#", CultureInfo.InvariantCulture) + " GB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.#", CultureInfo.InvariantCulture) + " MB",
        >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("0.#", CultureInfo.InvariantCulture) + " KB",
        _ => Number(bytes) + " bytes",
    };

    public static string ShortId(Guid id) => id.ToString("D")[..8];

    public static string Or(string? text, string fallback) => string.IsNullOrEmpty(text) ? fallback : text;
}
