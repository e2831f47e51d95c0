using System.Security.Claims;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Http;
using E = Virtuoso.Contracts.Api.ErrorCodes;

namespace Virtuoso.FrontEnd.Networks;

/// <summary>The buyer's private networks, /networks (issue 16): list, create, delete; a machine joins one with register or PATCH {"network": NAME}.</summary>
internal static class NetworkEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var networks = api.MapGroup("/networks").RequireAuthorization(Roles.Buyer).WithTags("Private networks");
        networks.MapGet("", async (ClaimsPrincipal u, NetworkService s) => Results.Ok(await s.ListAsync(u.Name())))
            .WithSummary("My private networks, oldest first, with their machines (default is created if missing)")
            .WithName("listNetworks").Produces<IReadOnlyList<NetworkResponse>>();
        networks.MapGet("/{name}", async (string name, ClaimsPrincipal u, NetworkService s) => (await s.GetAsync(u.Name(), name)).ToResult())
            .WithSummary("One of my private networks").WithName("getNetwork").Produces<NetworkResponse>().Refuses(E.NotFound);
        networks.MapPost("", async (CreateNetworkRequest r, ClaimsPrincipal u, NetworkService s) =>
                (await s.CreateAsync(u.Name(), r)).ToResult(n => Results.Created($"/api/v1/networks/{Uri.EscapeDataString(n.Name)}", n)))
            .WithSummary("Create a private network (subnet: an IPv4 CIDR in a private range, /16 to /29; default 10.128.0.0/24)")
            .WithName("createNetwork").Produces<NetworkResponse>(StatusCodes.Status201Created).Refuses(E.InvalidSubnet, E.NetworkNameTaken);
        networks.MapDelete("/{name}", async (string name, ClaimsPrincipal u, NetworkService s) => await s.DeleteAsync(u.Name(), name) is { } f ? f.ToResult() : Results.NoContent())
            .WithSummary("Delete one of my private networks (refused while machines are attached)")
            .WithName("deleteNetwork").Produces(StatusCodes.Status204NoContent).Refuses(E.NotFound, E.NetworkInUse);
    }
}
