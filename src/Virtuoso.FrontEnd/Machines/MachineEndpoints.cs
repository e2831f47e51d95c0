using System.Security.Claims;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Migration;

namespace Virtuoso.FrontEnd.Machines;

/// <summary>The buyer's part of <see cref="Api"/>, /machines: register, edit, find a host, store and the machine's actions.</summary>
internal static class MachineEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var buyer = api.MapGroup("/machines").RequireAuthorization(Roles.Buyer).WithTags("Machines");
        buyer.MapPost("", async (RegisterRequest r, ClaimsPrincipal u, MachineService s) =>
            (await s.RegisterAsync(u.Name(), r)).ToResult(m => Results.Created($"/api/v1/machines/{m.Id}", m.ToResponse(MachineReach.None)))).WithSummary("Register a machine");
        buyer.MapGet("", async (ClaimsPrincipal u, MachineService s) => Results.Ok(await s.DescribeAllAsync(u.Name()))).WithSummary("My machines");
        buyer.MapGet("/{id:guid}", async (Guid id, ClaimsPrincipal u, MachineService s) => await MachineAsync(s, await s.FindAsync(u.Name(), id)));
        buyer.MapPatch("/{id:guid}", async (Guid id, EditMachineRequest r, ClaimsPrincipal u, MachineService s) => await MachineAsync(s, await s.EditAsync(u.Name(), id, r))).WithSummary("Edit a registered machine");
        buyer.MapDelete("/{id:guid}", async (Guid id, ClaimsPrincipal u, MachineService s) => await s.DeleteAsync(u.Name(), id) is { } f ? f.ToResult() : Results.NoContent());
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
                "the best ?limit= (default 100, at most 1000), with the number of hosts ranked in X-Total-Count");
        buyer.MapGet("/{id:guid}/forfeit", async (Guid id, ClaimsPrincipal u, MachineService s) => (await s.ForfeitAsync(u.Name(), id)).ToResult())
            .WithSummary("What deleting the machine now gives up: paid storage not yet used and prepaid running time");
        buyer.MapPost("/{id:guid}/store", async (Guid id, StoreRequest r, ClaimsPrincipal u, MachineService s) => (string.IsNullOrWhiteSpace(r.Host) ? Http.Failure.Validation("give the host to store on: {\"host\": \"NAME\"}").ToResult() : await MachineAsync(s, await s.StoreAsync(u.Name(), id, r.Host)))).WithSummary("Store on a host");
        buyer.MapPost("/{id:guid}/start", async (Guid id, ClaimsPrincipal u, MachineService s) => await MachineAsync(s, await s.StartAsync(u.Name(), id)));
        buyer.MapPost("/{id:guid}/stop", async (Guid id, ClaimsPrincipal u, MachineService s) => await MachineAsync(s, await s.StopAsync(u.Name(), id)));
        buyer.MapPost("/{id:guid}/suspend", async (Guid id, ClaimsPrincipal u, MachineService s) => await MachineAsync(s, await s.SuspendAsync(u.Name(), id)));
        buyer.MapPost("/{id:guid}/resume", async (Guid id, ClaimsPrincipal u, MachineService s) => await MachineAsync(s, await s.ResumeAsync(u.Name(), id)));
        buyer.MapPost("/{id:guid}/ports", async (Guid id, PortRequest r, ClaimsPrincipal u, MachineService s) => await MachineAsync(s, await s.AddPortAsync(u.Name(), id, r.Port)))
            .WithSummary("Forward a guest port too (at most 5 besides SSH), from the next start or resume");
        buyer.MapDelete("/{id:guid}/ports/{port:int}", async (Guid id, int port, ClaimsPrincipal u, MachineService s) => await MachineAsync(s, await s.RemovePortAsync(u.Name(), id, port)))
            .WithSummary("Stop forwarding a guest port, from the next start or resume");
        // Migration's routes hang under a machine, so they join this group; mapped here, before serial, so that
        // /openapi/v1.json lists the paths in the same order as before the split.
        MigrationEndpoints.Map(buyer);
        buyer.MapGet("/{id:guid}/serial", async (Guid id, ClaimsPrincipal u, MachineService s) =>
            (await s.SerialAsync(u.Name(), id)).ToResult(text => Results.Text(text, "text/plain"))).WithSummary("The serial console log so far");
    }

    private static async Task<IResult> MachineAsync(MachineService s, Http.Outcome<MachineRow> o) =>
        o.Value is { } m ? Results.Ok(await s.DescribeAsync(m)) : o.ToResult();
}
