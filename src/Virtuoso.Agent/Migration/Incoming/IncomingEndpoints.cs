using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Virtuoso.Agent.Machines;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Migration.Incoming;

/// <summary>The destination's routes (<see cref="MigrationRoutes"/>): announce, watch, cancel and activate an incoming migration.</summary>
internal static class IncomingEndpoints
{
    public static void MapIncoming(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/migrations");
        group.MapPut("/{id}", async (string id, HttpRequest request, IncomingMigrations incoming, CancellationToken ct) =>
        {
            var parsed = MachineValidation.ParseId(id);
            if (parsed.Error is { } badId)
                return MachineEndpoints.Problem(badId);
            var body = await MachineEndpoints.ReadBodyAsync<IncomingMigration>(request, ct);
            if (body.Error is { } badBody)
                return MachineEndpoints.Problem(badBody);
            if (body.Value is not { } announced)
                return MachineEndpoints.Problem(AgentError.Validation("an IncomingMigration body is required"));
            // The machine's spec is checked exactly like a create request's.
            var spec = MachineValidation.Create(parsed.Value, new CreateMachineRequest(
                parsed.Value, announced.Mac, announced.SpeedBogomips, announced.MemoryMb, announced.DiskMb, announced.Image, announced.Version));
            if (spec.Error is { } badSpec)
                return MachineEndpoints.Problem(badSpec);
            if (MachineValidation.CheckCpu(announced.CpuMillicores, announced.Vcpus) is { } badCpu)
                return MachineEndpoints.Problem(badCpu);
            return Reply(await incoming.AnnounceAsync(parsed.Value, announced with { Mac = spec.Value!.Mac }, ct));
        });
        group.MapGet("/{id}", (string id, IncomingMigrations incoming) =>
        {
            var parsed = MachineValidation.ParseId(id);
            return parsed.Error is { } badId ? MachineEndpoints.Problem(badId) : Reply(incoming.Progress(parsed.Value));
        });
        group.MapDelete("/{id}", async (string id, IncomingMigrations incoming, CancellationToken ct) =>
        {
            var parsed = MachineValidation.ParseId(id);
            if (parsed.Error is { } badId)
                return MachineEndpoints.Problem(badId);
            var cancelled = await incoming.CancelAsync(parsed.Value, ct);
            return cancelled.Error is { } error ? MachineEndpoints.Problem(error) : Results.NoContent();
        });
        group.MapPost("/{id}/activate", async (string id, HttpRequest request, IncomingMigrations incoming, CancellationToken ct) =>
        {
            var parsed = MachineValidation.ParseId(id);
            if (parsed.Error is { } badId)
                return MachineEndpoints.Problem(badId);
            var body = await MachineEndpoints.ReadBodyAsync<ActivateRequest>(request, ct);
            if (body.Error is { } badBody)
                return MachineEndpoints.Problem(badBody);
            if (body.Value is null)
                return MachineEndpoints.Problem(AgentError.Validation("an ActivateRequest body is required"));
            var activated = await incoming.ActivateAsync(parsed.Value, body.Value, ct);
            return activated.Error is { } error ? MachineEndpoints.Problem(error) : Results.Ok(activated.Value);
        });
    }

    private static IResult Reply(Outcome<MigrationProgress> outcome) =>
        outcome.Error is { } error ? MachineEndpoints.Problem(error) : Results.Ok(outcome.Value);
}
