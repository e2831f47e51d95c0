using Microsoft.AspNetCore.Html;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Market;
using Virtuoso.FrontEnd.Web.Charts;

namespace Virtuoso.FrontEnd.Web.Market;

/// <summary>Browse configurations (Figures 6, 10) with the market estimates and their history as charts. Open to all.</summary>
internal sealed class ConfigurationsModel(ConfigurationService configurations, TimeProvider clock) : WebPage
{
    public IReadOnlyList<ConfigurationResponse> Standard { get; private set; } = [];
    public IReadOnlyList<ConfigurationResponse> Preconfigured { get; private set; } = [];
    public IReadOnlyList<IHtmlContent> Charts { get; private set; } = [];

    public async Task OnGetAsync()
    {
        var all = await configurations.ListAsync();
        Standard = all.Where(c => c.Image is null).ToList();
        Preconfigured = all.Where(c => c.Image is not null).ToList();
        var since = clock.GetUtcNow() - TimeSpan.FromDays(7);
        var charts = new List<IHtmlContent>();
        foreach (var c in all)
            if ((await configurations.HistoryAsync(c.Name, since)).Value is { Points.Count: > 0 } history)
                charts.Add(PriceChart.Render(history, clock.GetUtcNow()));
        Charts = charts;
    }
}
