using System.Security.Claims;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Http;
using E = Virtuoso.Contracts.Api.ErrorCodes;

namespace Virtuoso.FrontEnd.Migration;

/// <summary>The migration part of <see cref="Api"/>: start one, follow it, and list where a machine could go.</summary>
internal static class MigrationEndpoints
{
    /// <param name="buyer">The buyer's /machines group of <see cref="Machines.MachineEndpoints"/>, with its role and tag.</param>
    public static void Map(RouteGroupBuilder buyer)
    {
        buyer.MapPost("/{id:guid}/migrate", async (Guid id, MigrateRequest r, ClaimsPrincipal u, MigrationService s, CancellationToken ct) =>
            (await s.StartAsync(u.Name(), id, r, ct)).ToResult(m => Results.Accepted($"/api/v1/machines/{id}/migration", m)))
            .WithSummary("Migrate a stored, stopped or suspended machine to another host with a method it offers; 202 with the migration")
            .WithName("migrateMachine").Produces<MigrationResponse>(StatusCodes.Status202Accepted)
            .Refuses([.. Machines.MachineEndpoints.AgentCall, E.NoRoom, E.SameHost, E.MethodUnsupported, E.NegativeBalance, E.InsufficientFunds]);
        buyer.MapGet("/{id:guid}/migration", async (Guid id, ClaimsPrincipal u, MigrationService s, CancellationToken ct) => (await s.StatusAsync(u.Name(), id, ct)).ToResult())
            .WithSummary("The machine's latest migration: phase, progress, rate and estimated arrival while open, else its outcome")
            .WithName("getMigration").Produces<MigrationResponse>().Refuses(E.NotFound);
        buyer.MapGet("/{id:guid}/migration-targets", async (Guid id, string? hours, ClaimsPrincipal u, MigrationService s) =>
            {
                var parsed = Machines.MachineService.ParseHours(hours);
                return parsed.Failure is { } bad ? bad.ToResult() : (await s.TargetsAsync(u.Name(), id, parsed.Value)).ToResult();
            })
            .WithSummary("Every other host with room for the machine, cheapest monthly total first for ?hours= a month (default 730), its prices, methods, the charge on arrival, and what leaving the origin gives up")
            .WithName("listMigrationTargets").Produces<MigrationTargetsResponse>().Refuses(E.InvalidHours, E.NotFound, E.InvalidState);
    }
}
