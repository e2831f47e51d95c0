using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Hosts;

namespace Virtuoso.FrontEnd.Web.Hosts;

/// <summary>Delete a host (§6.1.1 deletemachineprovider.pl), after saying what happens to the machines on it.</summary>
internal sealed class DeleteModel(HostService hosts) : WebPage
{
    public string Name { get; private set; } = "";
    public HostResponse? Host { get; private set; }

    public async Task<IActionResult> OnGetAsync(string name)
    {
        Name = name;
        var host = await hosts.GetAsync(Me, name);
        if (host.Failure is { } f) return Fail(f);
        Host = host.Value;
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(string name)
    {
        Name = name;
        if (await hosts.DeleteAsync(Me, name) is { } refused) return Fail(refused);
        Notice = $"Host {name} deleted.";
        return Redirect("/hosts");
    }
}
