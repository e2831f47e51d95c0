using System.Security.Claims;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Http;
using E = Virtuoso.Contracts.Api.ErrorCodes;

namespace Virtuoso.FrontEnd.Hosts;

/// <summary>The provider's part of <see cref="Api"/>, /hosts: add, edit and delete hosts.</summary>
internal static class HostEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var provider = api.MapGroup("/hosts").RequireAuthorization(Roles.Provider).WithTags("Hosts");
        provider.MapGet("", async (ClaimsPrincipal u, HostService s) => Results.Ok(await s.ListAsync(u.Name()))).WithSummary("My hosts with the machines on them")
            .WithName("listHosts").Produces<IReadOnlyList<HostResponse>>();
        provider.MapPost("", async (AddHostRequest r, ClaimsPrincipal u, HostService s) =>
            (await s.AddAsync(u.Name(), r)).ToResult(h => Results.Created($"/api/v1/hosts/{h.Name}", h))).WithSummary("Add a host (totals are locked afterwards)")
            .WithName("addHost").Produces<HostResponse>(StatusCodes.Status201Created).Refuses(E.HostNameTaken);
        provider.MapPost("/test", async (TestAgentRequest r, HostService s, CancellationToken ct) => (await s.TestAgentAsync(r, ct)).ToResult())
            .WithSummary("Test an agent not added yet: its address, port and secret (the answer says what failed, if anything)")
            .WithName("testAgent").Produces<HostTestResponse>();
        provider.MapPost("/{name}/test", async (string name, ClaimsPrincipal u, HostService s, CancellationToken ct) => (await s.TestAsync(u.Name(), name, ct)).ToResult())
            .WithSummary("Test the connection to a host's agent now: ok, or what failed (connection refused, timeout, wrong secret, version mismatch, ...)")
            .WithName("testHost").Produces<HostTestResponse>().Refuses(E.NotFound);
        provider.MapPost("/{name}/join", async (string name, ClaimsPrincipal u, HostJoins j) => (await j.RenewAsync(u.Name(), name)).ToResult())
            .WithSummary("A new install command for a host (its one-time join token); the previous one stops working")
            .WithName("renewHostJoin").Produces<HostResponse>().Refuses(E.NotFound);
        provider.MapGet("/{name}", async (string name, ClaimsPrincipal u, HostService s) => (await s.GetAsync(u.Name(), name)).ToResult())
            .WithSummary("One of my hosts with the machines on it").WithName("getHost").Produces<HostResponse>().Refuses(E.NotFound);
        provider.MapPatch("/{name}", async (string name, EditHostRequest r, ClaimsPrincipal u, HostService s) => (await s.EditAsync(u.Name(), name, r)).ToResult())
            .WithSummary("Edit units, prices and periods (never retroactive)")
            .WithName("editHost").Produces<HostResponse>().Refuses(E.NotFound);
        provider.MapDelete("/{name}", async (string name, ClaimsPrincipal u, HostService s) => await s.DeleteAsync(u.Name(), name) is { } f ? f.ToResult() : Results.NoContent())
            .WithSummary("Delete a host: its machines go back to registered and their owners are told")
            .WithName("deleteHost").Produces(StatusCodes.Status204NoContent).Refuses(E.NotFound, E.Busy, E.MigrationInProgress);
    }
}
