using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Machines;
using Virtuoso.FrontEnd.Migration;

namespace Virtuoso.FrontEnd.Web.Machines;

/// <summary>Migration status (Figure 21): phase, bytes, rate and estimated arrival, refreshed while under way; GET .../migration's data.</summary>
internal sealed class MigrationModel(MachineService machines, MigrationService migrations) : WebPage
{
    public MachineResponse? Machine { get; private set; }
    public MigrationResponse? Status { get; private set; }
    public bool Live => Status?.Phase is MigrationStates.Open or MigrationStates.Committed;

    public async Task<IActionResult> OnGetAsync(Guid id)
    {
        var found = await machines.FindAsync(Me, id);
        if (found.Failure is { } f) return Fail(f);
        Machine = found.Value!.ToResponse();
        var status = await migrations.StatusAsync(Me, id, HttpContext.RequestAborted);
        if (status.Failure is { } none) return Fail(none);
        Status = status.Value;
        return Page();
    }
}
