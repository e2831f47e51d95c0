using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Web.Machines;

/// <summary>Search providers (Figures 11, 14, 31): the hosts that match with a store button each, the others with the reasons.</summary>
internal sealed class SearchModel(MachineService machines) : WebPage
{
    public MachineResponse? Machine { get; private set; }
    public IReadOnlyList<SearchResult> Results { get; private set; } = [];
    public IReadOnlyList<SearchResult> Matching => Results.Where(r => r.Matches).ToList();
    public IReadOnlyList<SearchResult> Others => Results.Where(r => !r.Matches).ToList();

    public async Task<IActionResult> OnGetAsync(Guid id)
    {
        var found = await machines.FindAsync(Me, id);
        if (found.Failure is { } f) return Fail(f);
        Machine = found.Value!.ToResponse();
        var search = await machines.SearchAsync(Me, id);
        if (search.Failure is { } refused) { Machine = null; return Fail(refused); }
        Results = search.Value!;
        return Page();
    }
}
