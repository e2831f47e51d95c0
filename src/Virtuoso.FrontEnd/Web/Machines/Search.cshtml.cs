using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Market;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Web.Machines;

/// <summary>
/// Search providers (Figures 11, 14, 31): the hosts that match with a store button each, the others with the reasons;
/// both sorted by what they cost a month for the hours the buyer says the machine runs (issue 18), 730 when unsaid.
/// </summary>
internal sealed class SearchModel(MachineService machines) : WebPage
{
    public MachineResponse? Machine { get; private set; }
    public IReadOnlyList<SearchResult> Results { get; private set; } = [];
    /// <summary>How many hosts were ranked; more than <see cref="Results"/> shows when the marketplace is big (issue 19).</summary>
    public int Ranked { get; private set; }
    public IReadOnlyList<SearchResult> Matching => Results.Where(r => r.Matches).ToList();
    public IReadOnlyList<SearchResult> Others => Results.Where(r => !r.Matches).ToList();

    /// <summary>The hours a month the totals assume.</summary>
    public decimal Hours { get; private set; } = UsageCost.DefaultHoursPerMonth;

    /// <summary>What the buyer typed in the hours field (kept when it is refused), or null when they gave none.</summary>
    public string? HoursText { get; private set; }

    /// <summary>Where each matching host after the cheapest crosses it, as a sentence, by host.</summary>
    public IReadOnlyDictionary<string, string> BreakEvens =>
        Costs.BreakEvens(Matching.Select(r => new Costs.Rates(r.Host, r.StorageRate, r.RunningRate)).ToList());

    public async Task<IActionResult> OnGetAsync(Guid id, string? hours)
    {
        HoursText = string.IsNullOrWhiteSpace(hours) ? null : hours;
        var found = await machines.FindAsync(Me, id);
        if (found.Failure is { } f) return Fail(f);
        var parsed = MachineService.ParseHours(hours);
        Machine = found.Value!.ToResponse();
        if (parsed.Failure is { } bad) return Fail(bad);
        Hours = parsed.Value;
        var search = await machines.SearchAsync(Me, id, Hours);
        if (search.Failure is { } refused) { Machine = null; return Fail(refused); }
        (Results, Ranked) = (search.Value!.Results, search.Value.Ranked);
        return Page();
    }
}
