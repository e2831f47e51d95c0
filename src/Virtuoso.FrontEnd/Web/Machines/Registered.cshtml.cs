using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Web.Machines;

/// <summary>The confirmation after registering (Figure 8): the bids, and the way on to search.</summary>
internal sealed class RegisteredModel(MachineService machines) : WebPage
{
    public MachineResponse? Machine { get; private set; }

    public async Task<IActionResult> OnGetAsync(Guid id)
    {
        var found = await machines.FindAsync(Me, id);
        if (found.Failure is { } f) return Fail(f);
        Machine = found.Value!.ToResponse();
        return Page();
    }
}
