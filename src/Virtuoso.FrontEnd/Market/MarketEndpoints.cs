using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Hosts;
using Virtuoso.FrontEnd.Http;
using E = Virtuoso.Contracts.Api.ErrorCodes;

namespace Virtuoso.FrontEnd.Market;

/// <summary>The open part of <see cref="Api"/>, no token needed: configurations with their estimates, and the provider marketplace.</summary>
internal static class MarketEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/configurations", async (ConfigurationService s) => Results.Ok(await s.ListAsync())).WithTags("Market").WithSummary("Standard and preconfigured configurations with market estimates")
            .WithName("listConfigurations").Produces<IReadOnlyList<ConfigurationResponse>>();
        api.MapGet("/configurations/{name}/history", async (string name, DateTimeOffset? since, ConfigurationService s) => (await s.HistoryAsync(name, since)).ToResult())
            .WithTags("Market").WithSummary("A configuration's market estimate over time, oldest first, for the price chart")
            .WithName("getConfigurationHistory").Produces<PriceHistoryResponse>().Refuses(E.Validation, E.UnknownConfiguration);
        api.MapGet("/images", async (Images.ImageCatalogue s) => Results.Ok(await s.ListAsync())).WithTags("Market")
            .WithSummary("The catalogue of preconfigured base images: OS, minimum memory and disk, size, SHA-256 of the disk")
            .WithName("listImages").Produces<IReadOnlyList<ImageResponse>>();
        api.MapGet("/market", async (HostService s) => Results.Ok(await s.MarketAsync())).WithTags("Market").WithSummary("The provider marketplace: every host")
            .WithName("listMarket").Produces<IReadOnlyList<HostResponse>>();
    }
}
