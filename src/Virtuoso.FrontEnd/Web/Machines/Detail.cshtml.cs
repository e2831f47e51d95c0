using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Isos;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Web.Machines;

/// <summary>One machine: its configuration, prices, actions, serial console and event timeline (design §8).</summary>
internal sealed class DetailModel(MachineService machines, EventLog events, IsoService isos, FrontEnd.Networks.NetworkService networks) : WebPage
{
    private const int SerialTailChars = 4000;
    public const int EventRows = 50;

    public MachineResponse? Machine { get; private set; }
    public IReadOnlyList<EventResponse> Events { get; private set; } = [];
    public string SerialTail { get; private set; } = "";
    public bool OlderPage { get; private set; }
    /// <summary>The cursor of the next, older page of the timeline, or null when this page reaches the first event.</summary>
    public long? OlderBefore => Events.Count == EventRows ? Events[^1].Seq : null;

    /// <summary>The owner's ISO names, offered for the CD drive while it can be changed (issue 15); empty otherwise.</summary>
    public IReadOnlyList<string> Isos { get; private set; } = [];
    /// <summary>Why the CD drive cannot be changed now (running, suspended, busy, …), or null.</summary>
    public string? CdromRefusal { get; private set; }
    /// <summary>The owner's network names, offered while the machine's network can be changed (issue 16); empty otherwise.</summary>
    public IReadOnlyList<string> Networks { get; private set; } = [];
    /// <summary>Why the machine cannot change networks now (running, suspended, busy, …), or null.</summary>
    public string? NetworkRefusal { get; private set; }

    public async Task<IActionResult> OnGetAsync(Guid id, long? before)
    {
        OlderPage = before is > 0;
        var found = await machines.FindAsync(Me, id);
        if (found.Failure is { } f) return Fail(f);
        await LoadAsync(found.Value!, before);
        return Page();
    }

    /// <summary>POST /machines/{id}?handler=cdrom: attach one of my ISOs, or eject ("none"), as PATCH /api/v1/machines/{id} {"cdrom"} does.</summary>
    public async Task<IActionResult> OnPostCdromAsync(Guid id, string? cdrom)
    {
        var edited = await machines.EditAsync(Me, id, new EditMachineRequest(null, null, null, null, null, null, null, null, string.IsNullOrEmpty(cdrom) ? "none" : cdrom));
        if (edited.Failure is { } refused)
        {
            var found = await machines.FindAsync(Me, id);
            if (found.Value is { } row) await LoadAsync(row, null);
            return Fail(refused);
        }
        Notice = string.IsNullOrEmpty(cdrom) || cdrom == "none" ? "CD ejected: the machine boots from its disk from its next start."
            : $"ISO {cdrom} attached: the machine boots from it first from its next start.";
        return Redirect(WebRoutes.Machine(id));
    }

    /// <summary>POST /machines/{id}?handler=network: move to another of my networks, as PATCH /api/v1/machines/{id} {"network"} does.</summary>
    public async Task<IActionResult> OnPostNetworkAsync(Guid id, string? network)
    {
        var edited = await machines.EditAsync(Me, id, new EditMachineRequest(null, null, null, null, null, null, null, null, Network: network ?? ""));
        if (edited.Failure is { } refused)
        {
            var found = await machines.FindAsync(Me, id);
            if (found.Value is { } row) await LoadAsync(row, null);
            return Fail(refused);
        }
        Notice = $"On network {edited.Value!.NetworkName} as {edited.Value.PrivateAddress} from its next start.";
        return Redirect(WebRoutes.Machine(id));
    }

    private async Task LoadAsync(MachineRow row, long? before)
    {
        var id = row.Id.Value;
        Machine = await machines.DescribeAsync(row);
        CdromRefusal = MachineService.CdromRefusal(row)?.Message;
        if (CdromRefusal is null) Isos = (await isos.ListAsync(Me)).Isos.Select(i => i.Name).ToList();
        NetworkRefusal = MachineService.NetworkRefusal(row)?.Message;
        if (NetworkRefusal is null) Networks = (await networks.ListAsync(Me)).Select(n => n.Name).ToList();
        Events = await events.ForAccountAsync(Me, id, EventRows, before is > 0 ? before : null);
        if (Machine.Host is not null)
        {
            var serial = await machines.SerialAsync(Me, id);
            SerialTail = serial.Value is { } text ? (text.Length > SerialTailChars ? "…" + text[^SerialTailChars..] : text)
                : $"(the serial log is not available: {serial.Failure!.Message})";
        }
    }

    /// <summary>GET /machines/{id}/serial: the whole serial log as text, as GET /api/v1/machines/{id}/serial answers.</summary>
    public async Task<IActionResult> OnGetSerialAsync(Guid id)
    {
        var serial = await machines.SerialAsync(Me, id);
        return serial.Failure is { } f ? Fail(f) : Content(serial.Value!, "text/plain; charset=utf-8");
    }
}
