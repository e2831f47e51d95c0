using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Events;

namespace Virtuoso.FrontEnd.Web.Events;

/// <summary>
/// The operator's page of all events (issue 19 point 3, design §8: "the operator sees all"): the front-end's and those the
/// hosts' agents wrote, newest first, a page at a time, filtered by host, machine and kind with a plain GET form; the same
/// <see cref="EventLog.AllAsync"/> as GET /api/v1/events/all.
/// </summary>
internal sealed class IndexModel(EventLog events, Microsoft.Extensions.Options.IOptions<MarketOptions> options) : WebPage
{
    public const int PageRows = 50;

    public IReadOnlyList<EventResponse> Items { get; private set; } = [];
    public string? Host { get; private set; }
    public string? Machine { get; private set; }
    public string? Kind { get; private set; }
    public long? Before { get; private set; }
    public long? OlderBefore => Items.Count == PageRows ? Items[^1].Seq : null;
    public bool Filtered => Host is not null || Machine is not null || Kind is not null;
    /// <summary>The filters in words: "host virt8, kind vmmp".</summary>
    public string FilterWords => string.Join(", ", new[] { Host is { } h ? $"host {h}" : null, Machine is { } m ? $"machine {m}" : null, Kind is { } k ? $"kind {k}" : null }.OfType<string>());
    public double CollectSeconds => options.Value.EventCollectIntervalSeconds;

    public async Task<Microsoft.AspNetCore.Mvc.IActionResult> OnGetAsync(string? host, string? machine, string? kind, string? before)
    {
        (Host, Machine, Kind) = (Blank(host), Blank(machine), Blank(kind));
        if (Blank(before) is { } b)
        {
            if (!long.TryParse(b, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seq) || seq < 1)
                return Fail(new Http.Failure(ErrorCodes.InvalidCursor, $"before must be the number of an event from a previous page, not '{b}'"));
            Before = seq;
        }
        var filter = EventFilter.Parse(Host, Machine, Kind);
        if (filter.Failure is { } bad) return Fail(bad);
        var page = await events.AllAsync(filter.Value!, PageRows, Before);
        if (page.Failure is { } f) return Fail(f);
        Items = page.Value!;
        return Page();
    }

    /// <summary>This page with other filters (null: none), from the newest.</summary>
    public static string Link(string? host = null, Guid? machine = null, string? kind = null, long? before = null)
    {
        var query = new List<string>();
        if (host is not null) query.Add("host=" + Uri.EscapeDataString(host));
        if (machine is not null) query.Add($"machine={machine:D}");
        if (kind is not null) query.Add("kind=" + Uri.EscapeDataString(kind));
        if (before is not null) query.Add($"before={before}");
        return "/events" + (query.Count == 0 ? "" : "?" + string.Join("&", query));
    }

    public string OlderLink(long before) => Link(Host, Guid.TryParse(Machine, out var m) ? m : null, Kind, before);
    public string NewestLink => Link(Host, Guid.TryParse(Machine, out var m) ? m : null, Kind);

    private static string? Blank(string? v) => string.IsNullOrWhiteSpace(v) ? null : v.Trim();
}
