using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Migration.Methods;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Migration.Origin;

/// <summary>The origin's routes (<see cref="MigrationRoutes"/>, <see cref="TransferRoutes"/>): exports, retirement, and the token-guarded transfer routes.</summary>
internal static class OriginEndpoints
{
    public static void MapOrigin(this IEndpointRouteBuilder app)
    {
        app.MapPut("/v1/exports/{id}", async (string id, HttpRequest request, OriginService origin, CancellationToken ct) =>
        {
            var parsed = MachineValidation.ParseId(id);
            if (parsed.Error is { } badId)
                return MachineEndpoints.Problem(badId);
            var body = await MachineEndpoints.ReadBodyAsync<ExportRequest>(request, ct);
            if (body.Error is { } badBody)
                return MachineEndpoints.Problem(badBody);
            if (body.Value is null)
                return MachineEndpoints.Problem(AgentError.Validation("an ExportRequest body is required"));
            var exported = await origin.ExportAsync(parsed.Value, body.Value, ct);
            return exported.Error is { } error ? MachineEndpoints.Problem(error) : Results.Ok(exported.Value);
        });
        app.MapDelete("/v1/exports/{id}", async (string id, OriginService origin, CancellationToken ct) =>
        {
            var parsed = MachineValidation.ParseId(id);
            if (parsed.Error is { } badId)
                return MachineEndpoints.Problem(badId);
            await origin.UnexportAsync(parsed.Value, ct);
            return Results.NoContent();
        });
        app.MapPost("/v1/machines/{id}/retire", async (string id, HttpRequest request, OriginService origin, CancellationToken ct) =>
        {
            var parsed = MachineValidation.ParseId(id);
            if (parsed.Error is { } badId)
                return MachineEndpoints.Problem(badId);
            var body = await MachineEndpoints.ReadBodyAsync<RetireRequest>(request, ct);
            if (body.Error is { } badBody)
                return MachineEndpoints.Problem(badBody);
            if (body.Value is null)
                return MachineEndpoints.Problem(AgentError.Validation("a RetireRequest body is required"));
            var retired = await origin.RetireAsync(parsed.Value, body.Value, ct);
            return retired.Error is { } error ? MachineEndpoints.Problem(error) : Results.NoContent();
        });

        // Reached only through TransferAuthentication, which put the export of {id} into the request's items.
        var transfer = app.MapGroup("/v1/transfer/{id}");
        transfer.MapGet("/manifest", (HttpContext context) => Results.Ok(Export(context).Manifest));
        transfer.MapGet("/files/{name}", (string name, HttpContext context) =>
        {
            var export = Export(context);
            // Only names of the manifest are served, so no path can reach outside the machine's directory.
            return export.Manifest.Files.FirstOrDefault(f => f.Name == name) is { } file
                ? Results.File(export.PathOf(file), "application/octet-stream", enableRangeProcessing: true)
                : MachineEndpoints.Problem(new AgentError(Contracts.Api.ErrorCodes.NotFound,
                    $"machine {export.MachineId:D} exports no file '{name}'", StatusCodes.Status404NotFound));
        });
        foreach (var method in app.ServiceProvider.GetServices<ITransferMethod>())
            method.MapOriginRoutes(app.MapGroup($"/v1/transfer/{{id}}/{method.Name.ToLowerInvariant()}"));
    }

    private static ExportContext Export(HttpContext context) =>
        context.Items[ExportContext.ItemKey] as ExportContext
        ?? throw new InvalidOperationException("a transfer route ran without TransferAuthentication");
}
