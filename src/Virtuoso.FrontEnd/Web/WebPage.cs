using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Http;

namespace Virtuoso.FrontEnd.Web;

/// <summary>
/// What every page model shares: the logged-in user's name, a one-shot notice carried over a redirect, and the
/// refusal of a service shown on the page with its HTTP status (the same status and message the API answers with).
/// </summary>
internal abstract class WebPage : PageModel
{
    /// <summary>The refusal to show at the top of the page, if any.</summary>
    public Failure? Problem { get; private set; }

    /// <summary>A message from the previous request (e.g. "started Configuration1"), shown once.</summary>
    [TempData] public string? Notice { get; set; }

    protected string Me => User.Name();

    /// <summary>Renders this page with <paramref name="failure"/> shown and its status code.</summary>
    protected IActionResult Fail(Failure failure)
    {
        Problem = failure;
        Response.StatusCode = failure.Status;
        return Page();
    }

    /// <summary>A validation refusal from the form itself (a field that did not parse), before any service is asked.</summary>
    protected IActionResult Invalid(string message) => Fail(Failure.Validation(message));

    /// <summary>The first field the model binder could not read, as a sentence, or null.</summary>
    protected string? BindingError() => ModelState.Where(e => e.Value is { Errors.Count: > 0 })
        .Select(e => $"{Label(e.Key)}: {e.Value!.Errors[0].ErrorMessage}").FirstOrDefault();

    private static string Label(string key) => key.Contains('.', StringComparison.Ordinal) ? key[(key.LastIndexOf('.') + 1)..] : key;
}

/// <summary>How the pages write numbers: money exact and unrounded (design §4), durations in words.</summary>
internal static class Show
{
    public static string Money(decimal d) => "$" + Core.Money.Format(d);
    public static string Money(decimal? d) => d is { } v ? Money(v) : "—";
    public static string Number(decimal d) => Core.Money.Format(d);

    /// <summary>Seconds as the largest sensible unit: "3566 seconds", "29.99 days".</summary>
    public static string Duration(decimal seconds) => seconds switch
    {
        < 120m => $"{Math.Round(seconds, 0).ToString(CultureInfo.InvariantCulture)} seconds",
        < 7200m => $"{Math.Round(seconds / 60m, 1).ToString(CultureInfo.InvariantCulture)} minutes",
        < 172800m => $"{Math.Round(seconds / 3600m, 2).ToString(CultureInfo.InvariantCulture)} hours",
        _ => $"{Math.Round(seconds / 86400m, 2).ToString(CultureInfo.InvariantCulture)} days",
    };

    /// <summary>Bytes in binary units: "1000 MiB" style, one decimal.</summary>
    public static string Bytes(long bytes)
    {
        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
        var value = (double)bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1) { value /= 1024; unit++; }
        return unit == 0 ? $"{bytes} bytes" : $"{value.ToString("0.#", CultureInfo.InvariantCulture)} {units[unit]}";
    }

    public static string Period(long seconds) => seconds % 86400 == 0 ? $"{seconds / 86400} days" : $"{seconds} seconds";
    public static string When(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
    public static string Short(Guid id) => id.ToString("D")[..8];

    /// <summary>How long ago, in words: "just now", "3 min ago", "5 h ago", "2 days ago" (issue 18).</summary>
    public static string Ago(DateTimeOffset at, DateTimeOffset now) => (now - at) switch
    {
        var d when d < TimeSpan.FromMinutes(1) => "just now",
        var d when d < TimeSpan.FromHours(1) => $"{(int)d.TotalMinutes} min ago",
        var d when d < TimeSpan.FromDays(2) => $"{(int)d.TotalHours} h ago",
        var d => $"{(int)d.TotalDays} days ago",
    };
}
