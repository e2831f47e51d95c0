using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Hosts;

namespace Virtuoso.FrontEnd.Web.Hosts;

/// <summary>Add a host (Figures 27, 28): the same HostService.AddAsync as POST /api/v1/hosts.</summary>
internal sealed class AddModel(HostService hosts) : WebPage
{
    [BindProperty] public HostForm Form { get; set; } = new();

    /// <summary>What "Test connection" said of the agent the form describes (issue 18).</summary>
    public HostTestResponse? Tested { get; private set; }

    /// <summary>The host just added with a join token (issue 19): the page shows its install command, once.</summary>
    public HostResponse? Added { get; private set; }

    public void OnGet() { }

    /// <summary>
    /// "Test connection" before adding: the same test as POST /api/v1/hosts/test on the form's address, port and secret; the form
    /// comes back as typed, with the total speed suggested from the agent's measure when it was empty.
    /// </summary>
    public async Task<IActionResult> OnPostTestAsync(CancellationToken ct)
    {
        ModelState.Clear(); // the other fields may still be empty: only the agent's are needed here
        if (string.IsNullOrWhiteSpace(Form.Address) || Form.Port is null || string.IsNullOrWhiteSpace(Form.Secret))
            return Invalid("to test the connection, fill in the agent's address, port and secret (the contents of its secret file)");
        var tested = await hosts.TestAgentAsync(new TestAgentRequest(Form.Address.Trim(), Form.Port.Value, Form.Secret.Trim()), ct);
        if (tested.Failure is { } f) return Fail(f);
        Tested = tested.Value!;
        if (Tested is { Ok: true, Bogomips: { } measured } && Form.Speed is null) Form.Speed = measured;
        return Page();
    }

    public async Task<IActionResult> OnPostAsync()
    {
        if (BindingError() is { } bad) return Invalid(bad);
        var f = Form;
        if (f.Port is null || f.Speed is null || f.Memory is null || f.Storage is null || f.SpeedUnit is null || f.SpeedPrice is null || f.MemoryUnit is null
            || f.MemoryPrice is null || f.RunningPeriod is null || f.StorageUnit is null || f.StoragePrice is null || f.StoragePeriod is null)
            return Invalid("fill in every field: port, totals, chunks, prices and periods");
        var added = await hosts.AddAsync(Me, new AddHostRequest(f.Name!, f.Address!, f.Port.Value, f.Processor!, f.Speed.Value, f.SpeedUnit.Value, f.SpeedPrice.Value,
            f.Memory.Value, f.MemoryUnit.Value, f.MemoryPrice.Value, f.RunningPeriod.Value, f.Storage.Value, f.StorageUnit.Value, f.StoragePrice.Value, f.StoragePeriod.Value,
            f.ConnectSpeed!, string.IsNullOrEmpty(f.Secret) ? null : f.Secret, Blank(f.PublicAddress), Blank(f.Ports)));
        if (added.Failure is { } failure) return Fail(failure);
        var h = added.Value!;
        if (h.Join is not null)
        {
            // Shown here rather than after a redirect: only the token's hash is kept, so this page is the one chance to show it.
            Added = h;
            return Page();
        }
        Notice = $"Host {h.Name} added ({(h.Online ? "online: its agent answered" : "offline: its agent did not answer yet")}).";
        return Redirect("/hosts");
    }

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text;
}
