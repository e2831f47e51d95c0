using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Images;

internal static class ImageEndpoints
{
    /// <summary>
    /// GET /v1/images/{name}/fetch: how far a first fetch of a base image from the front-end has come (issue 15: the
    /// machine being stored shows "fetching image 43%"); 404 when no fetch of it is under way.
    /// </summary>
    public static void MapImages(this IEndpointRouteBuilder app) =>
        app.MapGet("/v1/images/{name}/fetch", (string name, ImageCache images) =>
            images.FetchProgress(name) is { } progress ? Results.Ok(progress) : Results.NotFound());
}
