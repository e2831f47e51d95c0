using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Hosts;

namespace Virtuoso.FrontEnd.Web.Hosts;

/// <summary>Edit a host (Figure 29): locked fields shown locked; the same HostService.EditAsync as PATCH /api/v1/hosts/{name}.</summary>
internal sealed class EditModel(HostService hosts) : WebPage
{
    public string Name { get; private set; } = "";
    public bool Found { get; private set; }
    [BindProperty] public HostForm Form { get; set; } = new();

    public async Task<IActionResult> OnGetAsync(string name)
    {
        Name = name;
        var host = await hosts.GetAsync(Me, name);
        if (host.Failure is { } f) return Fail(f);
        Found = true;
        Form = FormOf(host.Value!);
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(string name)
    {
        Name = name;
        var host = await hosts.GetAsync(Me, name);
        if (host.Failure is { } f) return Fail(f);
        Found = true;
        // The locked fields are shown from the host itself: a form that posts them anyway changes nothing.
        var current = FormOf(host.Value!);
        (Form.Name, Form.Processor, Form.Speed, Form.Memory, Form.Storage) = (current.Name, current.Processor, current.Speed, current.Memory, current.Storage);
        if (BindingError() is { } bad) return Invalid(bad);
        var edited = await hosts.EditAsync(Me, name, new EditHostRequest(Form.SpeedUnit, Form.SpeedPrice, Form.MemoryUnit, Form.MemoryPrice, Form.RunningPeriod,
            Form.StorageUnit, Form.StoragePrice, Form.StoragePeriod, Form.Address, Form.Port, Form.ConnectSpeed,
            string.IsNullOrWhiteSpace(Form.PublicAddress) ? null : Form.PublicAddress, string.IsNullOrWhiteSpace(Form.Ports) ? null : Form.Ports,
            string.IsNullOrWhiteSpace(Form.Secret) ? null : Form.Secret.Trim()));
        if (edited.Failure is { } failure) return Fail(failure);
        Notice = $"Host {name} saved. Machines already stored on it keep their prices." +
            (string.IsNullOrWhiteSpace(Form.Secret) ? "" : " Its agent secret is replaced: use \"Test connection\" to check the agent accepts it.");
        return Redirect("/hosts");
    }

    private static HostForm FormOf(HostResponse h) => new()
    {
        Name = h.Name, Processor = h.Processor, ConnectSpeed = h.ConnectSpeed, Address = h.Address, Port = h.Port,
        Speed = h.Speed, Memory = h.Memory, Storage = h.Storage,
        SpeedUnit = h.SpeedUnit, SpeedPrice = h.SpeedPrice, MemoryUnit = h.MemoryUnit, MemoryPrice = h.MemoryPrice, RunningPeriod = h.RunningPeriod,
        StorageUnit = h.StorageUnit, StoragePrice = h.StoragePrice, StoragePeriod = h.StoragePeriod,
        PublicAddress = h.PublicAddress, Ports = h.Ports,
    };
}
