using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Machines;
using Virtuoso.FrontEnd.Machines;
using Virtuoso.FrontEnd.Market;

namespace Virtuoso.FrontEnd.Web.Machines;

/// <summary>Edit a registered machine (Figure 13): the same EditAsync as PATCH /api/v1/machines/{id}.</summary>
internal sealed class EditModel(MachineService machines, ConfigurationService configurations) : WebPage
{
    public MachineResponse? Machine { get; private set; }
    public bool Editable { get; private set; }
    [BindProperty] public SpecForm Form { get; set; } = new();

    public async Task<IActionResult> OnGetAsync(Guid id)
    {
        var found = await machines.FindAsync(Me, id);
        if (found.Failure is { } f) return Fail(f);
        var m = found.Value!;
        Machine = m.ToResponse();
        if (MachineService.Refuse(m, MachineAction.Edit) is { } refused) return Fail(refused);
        Editable = true;
        Form = new SpecForm { Name = m.Name, Processor = m.Processor, Speed = m.Speed, Memory = m.Memory, Disk = m.Disk, Os = m.Os,
            StorageBid = Machine.StorageBid, RunningBid = Machine.RunningBid };
        await WithImageMinimums(m.Image);
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(Guid id)
    {
        var found = await machines.FindAsync(Me, id);
        if (found.Failure is { } f) return Fail(f);
        Machine = found.Value!.ToResponse();
        Editable = MachineService.Refuse(found.Value!, MachineAction.Edit) is null;
        await WithImageMinimums(found.Value!.Image);
        if (BindingError() is { } bad) return Invalid(bad);
        var edited = await machines.EditAsync(Me, id, new EditMachineRequest(Form.Name, Form.Processor, Form.Speed, Form.Memory, Form.Disk, Form.Os, Form.StorageBid, Form.RunningBid));
        if (edited.Failure is { } failure) return Fail(failure);
        Notice = $"{edited.Value!.Name} saved.";
        return Redirect("/machines");
    }

    private async Task WithImageMinimums(string? image)
    {
        var config = image is null ? null : (await configurations.ListAsync()).FirstOrDefault(c => c.Image == image);
        (Form.MinMemory, Form.MinDisk, Form.Image) = (config?.MinMemory, config?.MinDisk, image);
    }
}
