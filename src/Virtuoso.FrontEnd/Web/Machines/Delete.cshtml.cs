using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Machines;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Web.Machines;

/// <summary>
/// Delete a machine, after saying what it gives up (issue 18): the paid storage not yet used and the prepaid running
/// time, which are not refunded (design §4); nothing more is charged. GET shows the confirmation, only its POST deletes,
/// through the same MachineService call as DELETE /api/v1/machines/{id}, so the same refusals.
/// </summary>
internal sealed class DeleteModel(MachineService machines) : WebPage
{
    public MachineResponse? Machine { get; private set; }
    public ForfeitResponse? Forfeit { get; private set; }

    public async Task<IActionResult> OnGetAsync(Guid id)
    {
        var found = await machines.FindAsync(Me, id);
        if (found.Failure is { } f) return Fail(f);
        Machine = found.Value!.ToResponse();
        if (MachineService.Refuse(found.Value!, MachineAction.Delete) is { } refused) return Fail(refused);
        var forfeit = await machines.ForfeitAsync(Me, id);
        if (forfeit.Failure is { } gone) { Machine = null; return Fail(gone); }
        Forfeit = forfeit.Value;
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(Guid id)
    {
        var found = await machines.FindAsync(Me, id);
        var name = found.Value?.Name;
        if (await machines.DeleteAsync(Me, id) is { } refused) return Fail(refused);
        Notice = $"{name ?? "The machine"} is deleted.";
        return Redirect("/machines");
    }
}
