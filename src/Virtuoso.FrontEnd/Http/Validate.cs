using System.Text.RegularExpressions;

namespace Virtuoso.FrontEnd.Http;

/// <summary>
/// Boundary validation (style.md: validate at the boundary, keep the inside trusting). Limits are generous
/// but finite so that no size or price can overflow the arithmetic of charges.
/// </summary>
internal static partial class Validate
{
    public const long MaxSpeed = 1_000_000_000;         // bogomips
    public const long MaxMemory = 16L * 1024 * 1024;    // MB: 16 TiB
    public const long MaxDisk = 1_000_000_000;          // MB: ~1 PB
    public const decimal MaxPrice = 1_000_000m;         // dollars per chunk per second/day
    public const decimal MaxBid = 1_000_000_000m;       // dollars per month/hour
    public const long MaxRunningPeriod = 366L * 24 * 3600;
    public const long MaxStoragePeriod = 3660;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$")] private static partial Regex UsernameRx();
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")] private static partial Regex HostNameRx();
    [GeneratedRegex(@"^[^@\s]+@[^@\s]+$")] private static partial Regex EmailRx();
    // \z, not $: "$" also matches before a final newline.
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}\z")] private static partial Regex KeyNameRx();
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\z")] private static partial Regex IsoNameRx();

    public static string? Username(string? v) => v is not null && UsernameRx().IsMatch(v) ? null
        : "username must be 3–32 characters: letters, digits, '.', '_' or '-', starting with a letter or digit";
    public static string? HostName(string? v) => v is not null && HostNameRx().IsMatch(v) ? null
        : "host name must be 1–63 characters: letters, digits, '.', '_' or '-'";
    public static string? KeyName(string? v) => v is not null && KeyNameRx().IsMatch(v) ? null
        : "key name must be 1–63 characters: letters, digits, '.', '_', '-' or '@', starting with a letter or digit";
    /// <summary>An ISO's name (issue 15): it goes in a URL path and a CLI argument; "none" means "eject" to <c>--cdrom</c>.</summary>
    public static string? IsoName(string? v) => v is not null && IsoNameRx().IsMatch(v) && !v.Equals("none", StringComparison.OrdinalIgnoreCase) ? null
        : "ISO name must be 1–64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit (and not 'none')";
    public static string? Email(string? v) => v is not null && v.Length <= 254 && EmailRx().IsMatch(v) ? null : "a valid e-mail address is required";
    public static string? Password(string? v) => v is not null && v.Length >= 8 && v.Length <= 1024 ? null : "password must be at least 8 characters";
    public static string? Label(string field, string? v, int max = 64) =>
        v is not null && v.Trim().Length > 0 && v.Length <= max && v.All(c => !char.IsControl(c)) ? null : $"{field} must be 1–{max} printable characters";
    public static string? Range(string field, long v, long min, long max) => v >= min && v <= max ? null : $"{field} must be between {min} and {max}, got {v}";
    public static string? Price(string field, decimal v, decimal max) => v > 0 && v <= max ? null : $"{field} must be positive and at most {max}, got {v}";
    public static string? Port(int v) => v is >= 1 and <= 65535 ? null : $"port must be between 1 and 65535, got {v}";

    /// <summary>The first error among the checks, or null when all pass.</summary>
    public static Failure? First(params string?[] errors) => errors.FirstOrDefault(e => e is not null) is { } e ? Failure.Validation(e) : null;
}
