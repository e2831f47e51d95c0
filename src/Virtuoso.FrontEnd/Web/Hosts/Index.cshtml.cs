using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Hosts;

namespace Virtuoso.FrontEnd.Web.Hosts;

/// <summary>My hosts (Figures 25, 26, 28, 32): each with its prices, reserved versus total capacity, and the machines stored on it.</summary>
internal sealed class IndexModel(HostService hosts) : WebPage
{
    public IReadOnlyList<HostResponse> Hosts { get; private set; } = [];

    public async Task OnGetAsync() => Hosts = await hosts.ListAsync(Me);
}
