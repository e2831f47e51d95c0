using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Web.Machines;

/// <summary>One machine: its configuration, prices, actions, serial console and event timeline (design §8).</summary>
internal sealed class DetailModel(MachineService machines, EventLog events) : WebPage
{
    private const int SerialTailChars = 4000;
    public const int EventRows = 50;

    public MachineResponse? Machine { get; private set; }
    public IReadOnlyList<EventResponse> Events { get; private set; } = [];
    public string SerialTail { get; private set; } = "";
    public bool OlderPage { get; private set; }
    /// <summary>The cursor of the next, older page of the timeline, or null when this page reaches the first event.</summary>
    public long? OlderBefore => Events.Count == EventRows ? Events[^1].Seq : null;

    public async Task<IActionResult> OnGetAsync(Guid id, long? before)
    {
        OlderPage = before is > 0;
        var found = await machines.FindAsync(Me, id);
        if (found.Failure is { } f) return Fail(f);
        Machine = await machines.DescribeAsync(found.Value!);
        Events = await events.ForAccountAsync(Me, id, EventRows, before is > 0 ? before : null);
        if (Machine.Host is not null)
        {
            var serial = await machines.SerialAsync(Me, id);
            SerialTail = serial.Value is { } text ? (text.Length > SerialTailChars ? "…" + text[^SerialTailChars..] : text)
                : $"(the serial log is not available: {serial.Failure!.Message})";
        }
        return Page();
    }

    /// <summary>GET /machines/{id}/serial: the whole serial log as text, as GET /api/v1/machines/{id}/serial answers.</summary>
    public async Task<IActionResult> OnGetSerialAsync(Guid id)
    {
        var serial = await machines.SerialAsync(Me, id);
        return serial.Failure is { } f ? Fail(f) : Content(serial.Value!, "text/plain; charset=utf-8");
    }
}
