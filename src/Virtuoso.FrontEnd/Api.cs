using System.Security.Claims;
using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Hosts;
using Virtuoso.FrontEnd.Machines;
using Virtuoso.FrontEnd.Market;
using Virtuoso.FrontEnd.Migration;

namespace Virtuoso.FrontEnd;

/// <summary>
/// The versioned REST API, /api/v1 (documented at /openapi/v1.json). Thin: each endpoint checks the role,
/// calls one service method, and maps its outcome. Ownership and state are checked by the services.
/// </summary>
internal static class Api
{
    public static void Map(WebApplication app)
    {
        var api = app.MapGroup("/api/v1");

        api.MapPost("/accounts", async (SignupRequest r, AccountService s) =>
            (await s.SignupAsync(r)).ToResult(v => Results.Created("/api/v1/account", v))).WithTags("Accounts").WithSummary("Sign up as a buyer or provider");
        api.MapPost("/sessions", async (LoginRequest r, AccountService s) => (await s.LoginAsync(r)).ToResult()).WithTags("Accounts").WithSummary("Log in: returns a bearer token");
        api.MapDelete("/sessions/current", async (HttpContext ctx, AccountService s) =>
        {
            await s.LogoutAsync(ctx.Request.Headers.Authorization.ToString()["Bearer ".Length..].Trim());
            return Results.NoContent();
        }).RequireAuthorization().WithTags("Accounts").WithSummary("Log out");
        api.MapGet("/account", async (ClaimsPrincipal u, AccountService s) => Results.Ok(await s.ViewAsync(u.Name())))
            .RequireAuthorization().WithTags("Accounts").WithSummary("Balance, per-machine prices and next debits; income per host for providers");
        api.MapGet("/events", async (ClaimsPrincipal u, EventLog e, Guid? machine) => Results.Ok(await e.ForAccountAsync(u.Name(), machine)))
            .RequireAuthorization().WithTags("Accounts").WithSummary("My events, oldest first");
        api.MapGet("/ledger", async (ClaimsPrincipal u, LedgerView l, Guid? machine) => (await l.ForAccountAsync(u.Name(), machine)).ToResult())
            .RequireAuthorization().WithTags("Accounts").WithSummary("My ledger transfers (from or to me), oldest first; one machine's with ?machine=ID");
        api.MapGet("/statements/{month}", async (string month, ClaimsPrincipal u, LedgerView l, HttpContext ctx) =>
            (await l.StatementAsync(u.Name(), month)).ToResult(csv =>
            {
                ctx.Response.Headers.ContentDisposition = $"attachment; filename=\"virtuoso-{u.Name()}-{month}.csv\"";
                return Results.Text(csv, Statement.ContentType);
            }))
            .RequireAuthorization().WithTags("Accounts").WithSummary("My statement of a calendar month (YYYY-MM, UTC) as CSV, with opening and closing balance")
            .Produces<string>(StatusCodes.Status200OK, "text/csv");
        api.MapPost("/deposits", async (DepositRequest r, DepositService s) =>
            (await s.DepositAsync(r)).ToResult(d => d.Repeated ? Results.Ok(d) : Results.Created((string?)null, d)))
            .RequireAuthorization(Roles.Operator).WithTags("Accounts").WithSummary("Operator: credit an account from the deposit source; a repeated reference is not credited twice");

        api.MapGet("/configurations", async (ConfigurationService s) => Results.Ok(await s.ListAsync())).WithTags("Market").WithSummary("Standard and preconfigured configurations with market estimates");
        api.MapGet("/configurations/{name}/history", async (string name, DateTimeOffset? since, ConfigurationService s) => (await s.HistoryAsync(name, since)).ToResult())
            .WithTags("Market").WithSummary("A configuration's market estimate over time, oldest first, for the price chart");
        api.MapGet("/market", async (HostService s) => Results.Ok(await s.MarketAsync())).WithTags("Market").WithSummary("The provider marketplace: every host");

        var buyer = api.MapGroup("/machines").RequireAuthorization(Roles.Buyer).WithTags("Machines");
        buyer.MapPost("", async (RegisterRequest r, ClaimsPrincipal u, MachineService s) =>
            (await s.RegisterAsync(u.Name(), r)).ToResult(m => Results.Created($"/api/v1/machines/{m.Id}", m.ToResponse()))).WithSummary("Register a machine");
        buyer.MapGet("", async (ClaimsPrincipal u, MachineService s) => Results.Ok((await s.ListAsync(u.Name())).Select(m => m.ToResponse()))).WithSummary("My machines");
        buyer.MapGet("/{id:guid}", async (Guid id, ClaimsPrincipal u, MachineService s) => Machine(await s.FindAsync(u.Name(), id)));
        buyer.MapPatch("/{id:guid}", async (Guid id, EditMachineRequest r, ClaimsPrincipal u, MachineService s) => Machine(await s.EditAsync(u.Name(), id, r))).WithSummary("Edit a registered machine");
        buyer.MapDelete("/{id:guid}", async (Guid id, ClaimsPrincipal u, MachineService s) => await s.DeleteAsync(u.Name(), id) is { } f ? f.ToResult() : Results.NoContent());
        buyer.MapGet("/{id:guid}/search", async (Guid id, ClaimsPrincipal u, MachineService s) => (await s.SearchAsync(u.Name(), id)).ToResult())
            .WithSummary("Hosts for a registered machine, matching ones first, cheapest first, others with reasons");
        buyer.MapPost("/{id:guid}/store", async (Guid id, StoreRequest r, ClaimsPrincipal u, MachineService s) => (string.IsNullOrWhiteSpace(r.Host) ? Http.Failure.Validation("give the host to store on: {\"host\": \"NAME\"}").ToResult() : Machine(await s.StoreAsync(u.Name(), id, r.Host)))).WithSummary("Store on a host");
        buyer.MapPost("/{id:guid}/start", async (Guid id, ClaimsPrincipal u, MachineService s) => Machine(await s.StartAsync(u.Name(), id)));
        buyer.MapPost("/{id:guid}/stop", async (Guid id, ClaimsPrincipal u, MachineService s) => Machine(await s.StopAsync(u.Name(), id)));
        buyer.MapPost("/{id:guid}/suspend", async (Guid id, ClaimsPrincipal u, MachineService s) => Machine(await s.SuspendAsync(u.Name(), id)));
        buyer.MapPost("/{id:guid}/resume", async (Guid id, ClaimsPrincipal u, MachineService s) => Machine(await s.ResumeAsync(u.Name(), id)));
        buyer.MapPost("/{id:guid}/migrate", async (Guid id, MigrateRequest r, ClaimsPrincipal u, MigrationService s, CancellationToken ct) =>
            (await s.StartAsync(u.Name(), id, r, ct)).ToResult(m => Results.Accepted($"/api/v1/machines/{id}/migration", m)))
            .WithSummary("Migrate a stored, stopped or suspended machine to another host with a method it offers; 202 with the migration");
        buyer.MapGet("/{id:guid}/migration", async (Guid id, ClaimsPrincipal u, MigrationService s, CancellationToken ct) => (await s.StatusAsync(u.Name(), id, ct)).ToResult())
            .WithSummary("The machine's latest migration: phase, progress, rate and estimated arrival while open, else its outcome");
        buyer.MapGet("/{id:guid}/migration-targets", async (Guid id, ClaimsPrincipal u, MigrationService s) => (await s.TargetsAsync(u.Name(), id)).ToResult())
            .WithSummary("Every other host with room for the machine, its prices, methods and the charge on arrival");
        buyer.MapGet("/{id:guid}/serial", async (Guid id, ClaimsPrincipal u, MachineService s) =>
            (await s.SerialAsync(u.Name(), id)).ToResult(text => Results.Text(text, "text/plain"))).WithSummary("The serial console log so far");

        var provider = api.MapGroup("/hosts").RequireAuthorization(Roles.Provider).WithTags("Hosts");
        provider.MapGet("", async (ClaimsPrincipal u, HostService s) => Results.Ok(await s.ListAsync(u.Name()))).WithSummary("My hosts with the machines on them");
        provider.MapPost("", async (AddHostRequest r, ClaimsPrincipal u, HostService s) =>
            (await s.AddAsync(u.Name(), r)).ToResult(h => Results.Created($"/api/v1/hosts/{h.Name}", h))).WithSummary("Add a host (totals are locked afterwards)");
        provider.MapGet("/{name}", async (string name, ClaimsPrincipal u, HostService s) => (await s.GetAsync(u.Name(), name)).ToResult());
        provider.MapPatch("/{name}", async (string name, EditHostRequest r, ClaimsPrincipal u, HostService s) => (await s.EditAsync(u.Name(), name, r)).ToResult())
            .WithSummary("Edit units, prices and periods (never retroactive)");
        provider.MapDelete("/{name}", async (string name, ClaimsPrincipal u, HostService s) => await s.DeleteAsync(u.Name(), name) is { } f ? f.ToResult() : Results.NoContent())
            .WithSummary("Delete a host: its machines go back to registered and their owners are told");
    }

    private static IResult Machine(Http.Outcome<MachineRow> o) => o.ToResult(m => Results.Ok(m.ToResponse()));
}
