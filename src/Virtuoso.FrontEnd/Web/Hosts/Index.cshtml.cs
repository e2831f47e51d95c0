using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Hosts;

namespace Virtuoso.FrontEnd.Web.Hosts;

/// <summary>
/// My hosts (Figures 25, 26, 28, 32): each with its prices, reserved versus total capacity, and the machines stored on it;
/// whether its agent answers, since when not and why (issue 18), and a "Test connection" that asks it now.
/// </summary>
internal sealed class IndexModel(HostService hosts, HostJoins joins, TimeProvider clock) : WebPage
{
    public IReadOnlyList<HostResponse> Hosts { get; private set; } = [];
    /// <summary>The host just tested and what the test said.</summary>
    public (string Host, HostTestResponse Result)? Tested { get; private set; }
    public DateTimeOffset Now => clock.GetUtcNow();
    /// <summary>Issue 19: the host whose install command was just made, and the command (shown once, on its card).</summary>
    public (string Host, HostJoin Join)? NewJoin { get; private set; }

    public async Task OnGetAsync() => Hosts = await hosts.ListAsync(Me);

    /// <summary>POST /hosts?handler=test with the host's name: the same test as POST /api/v1/hosts/{name}/test, shown on its card.</summary>
    public async Task<IActionResult> OnPostTestAsync(string? name, CancellationToken ct)
    {
        var tested = await hosts.TestAsync(Me, name ?? "", ct);
        Hosts = await hosts.ListAsync(Me);
        if (tested.Failure is { } f) return Fail(f);
        Tested = (name!, tested.Value!);
        return Page();
    }

    /// <summary>POST /hosts?handler=join with the host's name: a new install command (POST /api/v1/hosts/{name}/join), shown on its card.</summary>
    public async Task<IActionResult> OnPostJoinAsync(string? name)
    {
        var renewed = await joins.RenewAsync(Me, name ?? "");
        Hosts = await hosts.ListAsync(Me);
        if (renewed.Failure is { } f) return Fail(f);
        NewJoin = (name!, renewed.Value!.Join!);
        return Page();
    }
}
