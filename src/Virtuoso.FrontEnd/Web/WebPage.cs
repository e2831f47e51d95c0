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

/// <summary>
/// How the pages write numbers: money with its currency, exact and unrounded where it is a price or a charge (design
/// §4), to the cent where it is an estimate (a monthly total, what a deletion gives up); durations in plain units.
/// </summary>
internal static class Show
{
    public static string Money(decimal d) => "$" + Core.Money.Format(d);
    public static string Money(decimal? d) => d is { } v ? Money(v) : "—";
    public static string Number(decimal d) => Core.Money.Format(d);

    /// <summary>Dollars to the cent, half away from zero: "$15.24", "$0.32", "$30.00".</summary>
    public static string Cents(decimal d) =>
        (d < 0 ? "-$" : "$") + Math.Abs(Math.Round(d, 2, MidpointRounding.AwayFromZero)).ToString("0.00", CultureInfo.InvariantCulture);

    /// <summary>A rate that may have been divided into many digits, to at most <paramref name="decimals"/> places: "$0.0408".</summary>
    public static string Rate(decimal d, int decimals = 6) => Money(Math.Round(d, decimals, MidpointRounding.AwayFromZero));

    /// <summary>Hours, to one decimal at most: "13", "12.5".</summary>
    public static string Hours(decimal h) => Math.Round(h, 1, MidpointRounding.AwayFromZero).ToString("0.#", CultureInfo.InvariantCulture);

    /// <summary>A duration as a buyer reads it: "59 min", "3 h 10 min", "12 days" (<see cref="Core.Plain.Duration(decimal)"/>).</summary>
    public static string Duration(decimal seconds) => Core.Plain.Duration(seconds);

    /// <summary>An event's kind in words ("suspended-unpaid": "Suspended for lack of funds"); the API keeps the code.</summary>
    public static string EventKind(string kind) => kind switch
    {
        "error" => "Failed",
        "suspended-unpaid" => "Suspended for lack of funds",
        "migration-reverted" => "Migration undone",
        "cdrom-attached" => "CD attached",
        "cdrom-ejected" => "CD ejected",
        "iso-uploaded" => "ISO uploaded",
        "iso-deleted" => "ISO deleted",
        "key-added" => "SSH key added",
        "key-deleted" => "SSH key deleted",
        "api-key-created" => "API key made",
        "api-key-revoked" => "API key revoked",
        _ => kind.Length == 0 ? kind : char.ToUpperInvariant(kind[0]) + kind[1..].Replace('-', ' '),
    };

    /// <summary>A ledger transfer's kind in words; the API keeps the code.</summary>
    public static string TransferKind(string kind) => kind switch
    {
        Core.Billing.TransferKinds.OpeningCredit => "Opening credit",
        Core.Billing.TransferKinds.Deposit => "Deposit",
        Core.Billing.TransferKinds.RegistrationFee => "Registration fee",
        Core.Billing.TransferKinds.Storage => "Storage",
        Core.Billing.TransferKinds.Running => "Running time",
        _ => kind,
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

    /// <summary>A billing period exactly, in its largest whole unit: "30 days", "1 day", "1 h", "60 s".</summary>
    public static string Period(long seconds) => seconds switch
    {
        86400 => "1 day",
        _ when seconds % 86400 == 0 => $"{seconds / 86400} days",
        _ when seconds % 3600 == 0 => $"{seconds / 3600} h",
        _ when seconds % 60 == 0 => $"{seconds / 60} min",
        _ => $"{seconds} s",
    };

    /// <summary>A date for a paid-until: "2026-12-20".</summary>
    public static string Day(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
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
