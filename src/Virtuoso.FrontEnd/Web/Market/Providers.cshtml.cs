using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Hosts;

namespace Virtuoso.FrontEnd.Web.Market;

/// <summary>The provider marketplace (§5.2.5, Figure 33): every host with its prices and free capacity. Open to all, like GET /api/v1/market.</summary>
internal sealed class ProvidersModel(HostService hosts) : WebPage
{
    public IReadOnlyList<HostResponse> Hosts { get; private set; } = [];

    public async Task OnGetAsync() => Hosts = await hosts.MarketAsync();
}
