using System.Security.Claims;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Migration;
using Virtuoso.FrontEnd.Http;
using E = Virtuoso.Contracts.Api.ErrorCodes;

namespace Virtuoso.FrontEnd.Machines;

/// <summary>The buyer's part of <see cref="Api"/>, /machines: register, edit, find a host, store and the machine's actions.</summary>
internal static class MachineEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var buyer = api.MapGroup("/machines").RequireAuthorization(Roles.Buyer).WithTags("Machines");
        buyer.MapPost("", async (RegisterRequest r, ClaimsPrincipal u, MachineService s) =>
            (await s.RegisterAsync(u.Name(), r)).ToResult(m => Results.Created($"/api/v1/machines/{m.Id}", m.ToResponse(MachineReach.None)))).WithSummary("Register a machine")
            .WithName("registerMachine").Produces<MachineResponse>(StatusCodes.Status201Created)
            .Refuses(E.UnknownConfiguration, E.BelowImageMinimum, E.InsufficientFunds, E.NotFound, E.SubnetFull);
        buyer.MapGet("", async (ClaimsPrincipal u, MachineService s) => Results.Ok(await s.DescribeAllAsync(u.Name()))).WithSummary("My machines")
            .WithName("listMachines").Produces<IReadOnlyList<MachineResponse>>();
        buyer.MapGet("/{id:guid}", async (Guid id, ClaimsPrincipal u, MachineService s) => await MachineAsync(s, await s.FindAsync(u.Name(), id)))
            .WithSummary("One of my machines").WithName("getMachine").Produces<MachineResponse>().Refuses(E.NotFound);
        buyer.MapPatch("/{id:guid}", async (Guid id, EditMachineRequest r, ClaimsPrincipal u, MachineService s) => await MachineAsync(s, await s.EditAsync(u.Name(), id, r))).WithSummary("Edit a registered machine")
            .WithName("editMachine").Produces<MachineResponse>().Refuses(E.NotFound, E.BelowImageMinimum, E.InvalidState, E.Busy, E.Conflict, E.SubnetFull);
        buyer.MapDelete("/{id:guid}", async (Guid id, ClaimsPrincipal u, MachineService s) => await s.DeleteAsync(u.Name(), id) is { } f ? f.ToResult() : Results.NoContent())
            .WithSummary("Delete a machine (not while running or migrating): its host frees the disk").WithName("deleteMachine")
            .Produces(StatusCodes.Status204NoContent).Refuses(AgentCall);
        buyer.MapGet("/{id:guid}/search", async (Guid id, string? hours, string? limit, ClaimsPrincipal u, MachineService s, HttpContext http) =>
            {
                var parsed = MachineService.ParseHours(hours);
                if (parsed.Failure is { } bad) return bad.ToResult();
                var most = MachineService.ParseLimit(limit);
                if (most.Failure is { } badLimit) return badLimit.ToResult();
                var search = await s.SearchAsync(u.Name(), id, parsed.Value, most.Value);
                if (search.Failure is { } refused) return refused.ToResult();
                http.Response.Headers["X-Total-Count"] = search.Value!.Ranked.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return Results.Ok(search.Value.Results);
            })
            .WithSummary("Hosts for a registered machine, matching ones first, cheapest monthly total first for ?hours= a month (default 730), others with reasons; " +
                "the best ?limit= (default 100, at most 1000), with the number of hosts ranked in X-Total-Count")
            .WithName("searchHosts").Produces<IReadOnlyList<SearchResult>>().Refuses(E.InvalidHours, E.InvalidLimit, E.NotFound, E.InvalidState);
        buyer.MapGet("/{id:guid}/forfeit", async (Guid id, ClaimsPrincipal u, MachineService s) => (await s.ForfeitAsync(u.Name(), id)).ToResult())
            .WithSummary("What deleting the machine now gives up: paid storage not yet used and prepaid running time")
            .WithName("getForfeit").Produces<ForfeitResponse>().Refuses(E.NotFound);
        buyer.MapPost("/{id:guid}/store", async (Guid id, StoreRequest r, ClaimsPrincipal u, MachineService s) => (string.IsNullOrWhiteSpace(r.Host) ? Http.Failure.Validation("give the host to store on: {\"host\": \"NAME\"}").ToResult() : await MachineAsync(s, await s.StoreAsync(u.Name(), id, r.Host)))).WithSummary("Store on a host")
            .WithName("storeMachine").Produces<MachineResponse>().Refuses([.. AgentCall, E.NoRoom, E.OverBid, E.InsufficientFunds]);
        buyer.MapPost("/{id:guid}/start", async (Guid id, ClaimsPrincipal u, MachineService s) => await MachineAsync(s, await s.StartAsync(u.Name(), id)))
            .WithSummary("Start a stored machine on its host").WithName("startMachine").Produces<MachineResponse>().Refuses(Runs);
        buyer.MapPost("/{id:guid}/stop", async (Guid id, ClaimsPrincipal u, MachineService s) => await MachineAsync(s, await s.StopAsync(u.Name(), id)))
            .WithSummary("Stop a running or suspended machine: it stays stored").WithName("stopMachine").Produces<MachineResponse>().Refuses(AgentCall);
        buyer.MapPost("/{id:guid}/suspend", async (Guid id, ClaimsPrincipal u, MachineService s) => await MachineAsync(s, await s.SuspendAsync(u.Name(), id)))
            .WithSummary("Suspend a running machine (its memory is kept)").WithName("suspendMachine").Produces<MachineResponse>().Refuses(AgentCall);
        buyer.MapPost("/{id:guid}/resume", async (Guid id, ClaimsPrincipal u, MachineService s) => await MachineAsync(s, await s.ResumeAsync(u.Name(), id)))
            .WithSummary("Resume a suspended machine").WithName("resumeMachine").Produces<MachineResponse>().Refuses(Runs);
        buyer.MapPost("/{id:guid}/ports", async (Guid id, PortRequest r, ClaimsPrincipal u, MachineService s) => await MachineAsync(s, await s.AddPortAsync(u.Name(), id, r.Port)))
            .WithSummary("Forward a guest port too (at most 5 besides SSH), from the next start or resume")
            .WithName("addPort").Produces<MachineResponse>().Refuses(E.NotFound, E.TooManyPorts, E.NoPorts, E.Busy, E.Conflict);
        buyer.MapDelete("/{id:guid}/ports/{port:int}", async (Guid id, int port, ClaimsPrincipal u, MachineService s) => await MachineAsync(s, await s.RemovePortAsync(u.Name(), id, port)))
            .WithSummary("Stop forwarding a guest port, from the next start or resume")
            .WithName("removePort").Produces<MachineResponse>().Refuses(E.Validation, E.NotFound, E.Busy, E.Conflict);
        // Migration's routes hang under a machine, so they join this group; mapped here, before serial, so that
        // /openapi/v1.json lists the paths in the same order as before the split.
        MigrationEndpoints.Map(buyer);
        buyer.MapGet("/{id:guid}/serial", async (Guid id, ClaimsPrincipal u, MachineService s) =>
            (await s.SerialAsync(u.Name(), id)).ToResult(text => Results.Text(text, "text/plain"))).WithSummary("The serial console log so far")
            .WithName("getSerial").Produces<string>(StatusCodes.Status200OK, "text/plain").Refuses(E.NotFound, E.InvalidState, E.AgentFailed);
    }

    /// <summary>What an action that asks the machine's agent can be refused with (issue 20: documented per operation).</summary>
    internal static readonly string[] AgentCall = [E.NotFound, E.InvalidState, E.Busy, E.Conflict, E.MigrationInProgress, E.HostOffline, E.AgentFailed, E.VersionMismatch];
    /// <summary>What starting or resuming can be refused with: an agent call that charges and forwards ports.</summary>
    internal static readonly string[] Runs = [.. AgentCall, E.InsufficientFunds, E.NegativeBalance, E.NoPorts];

    private static async Task<IResult> MachineAsync(MachineService s, Http.Outcome<MachineRow> o) =>
        o.Value is { } m ? Results.Ok(await s.DescribeAsync(m)) : o.ToResult();
}
