using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Agent.Machines;

/// <summary>The control API of <see cref="AgentRoutes"/>: parse and validate, call <see cref="MachineService"/>, map errors once.</summary>
internal static class MachineEndpoints
{
    public static void MapMachines(this IEndpointRouteBuilder app)
    {
        // Ids are taken as strings and parsed here, so a malformed id is a 400 validation error, not an unmatched route.
        var machines = app.MapGroup(AgentRoutes.Machines);
        machines.MapGet("", (MachineService service) => Results.Ok(service.List()));
        machines.MapGet("/{id}", Get);
        machines.MapPut("/{id}", CreateAsync);
        machines.MapDelete("/{id}", DeleteAsync);
        machines.MapGet("/{id}/serial", Serial);
        foreach (var verb in Enum.GetValues<MachineVerb>())
            machines.MapPost($"/{{id}}/{verb.ToString().ToLowerInvariant()}",
                (string id, HttpRequest request, MachineService service, Telemetry.AgentMetrics metrics, CancellationToken ct) => CommandAsync(id, verb, request, service, metrics, ct));
    }

    // ?settled=true: what the machine is once a command under way on it has ended (the front-end's reconciler decides on it).
    private static async Task<IResult> Get(string id, bool? settled, MachineService service, CancellationToken ct)
    {
        var parsed = MachineValidation.ParseId(id);
        if (parsed.Error is { } badId) return Problem(badId);
        return Reply(settled == true ? await service.GetSettledAsync(parsed.Value, ct) : service.Get(parsed.Value));
    }

    private static async Task<IResult> CreateAsync(string id, HttpRequest request, MachineService service, Telemetry.AgentMetrics metrics, CancellationToken ct)
    {
        var parsed = MachineValidation.ParseId(id);
        if (parsed.Error is { } badId)
            return Problem(badId);
        var body = await ReadBodyAsync<CreateMachineRequest>(request, ct);
        if (body.Error is { } badBody)
            return Problem(badBody);
        var valid = MachineValidation.Create(parsed.Value, body.Value);
        if (valid.Error is { } invalid)
            return Problem(invalid);
        return Reply(await CountedAsync(metrics, "create", () => service.CreateAsync(valid.Value!, ct)));
    }

    private static async Task<IResult> CommandAsync(string id, MachineVerb verb, HttpRequest request, MachineService service, Telemetry.AgentMetrics metrics, CancellationToken ct)
    {
        var parsed = MachineValidation.ParseId(id);
        if (parsed.Error is { } badId)
            return Problem(badId);
        var body = await ReadBodyAsync<MachineCommand>(request, ct);
        if (body.Error is { } badBody)
            return Problem(badBody);
        var command = MachineValidation.Command(body.Value);
        if (command.Error is { } invalid)
            return Problem(invalid);
        return Reply(await CountedAsync(metrics, verb.ToString().ToLowerInvariant(), () => service.CommandAsync(parsed.Value, verb, command.Value!, ct)));
    }

    private static async Task<IResult> DeleteAsync(string id, MachineService service, Telemetry.AgentMetrics metrics, CancellationToken ct)
    {
        var parsed = MachineValidation.ParseId(id);
        if (parsed.Error is { } badId)
            return Problem(badId);
        var deleted = await CountedAsync(metrics, "delete", () => service.DeleteAsync(parsed.Value, ct));
        return deleted.Error is { } error ? Problem(error) : Results.NoContent();
    }

    private static IResult Serial(string id, MachineService service)
    {
        var parsed = MachineValidation.ParseId(id);
        if (parsed.Error is { } badId)
            return Problem(badId);
        var log = service.SerialLog(parsed.Value);
        if (log.Error is { } error)
            return Problem(error);
        const string text = "text/plain; charset=utf-8";
        // Read whole, once: QEMU appends to the log while it is served, and a file result that takes the length
        // first and the bytes after failed now and then (HTTP 500 in the tests, while a guest was printing).
        return log.Value is { } path ? Results.Bytes(ReadGrowing(path), text) : Results.Text("", text);
    }

    private static byte[] ReadGrowing(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        file.CopyTo(copy);
        return copy.ToArray();
    }

    internal static async Task<Outcome<T?>> ReadBodyAsync<T>(HttpRequest request, CancellationToken ct) where T : class
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(request.Body, JsonSerializerOptions.Web, ct);
        }
        catch (JsonException e)
        {
            return AgentError.Validation($"the body is not a valid {typeof(T).Name}: {e.Message}");
        }
    }

    // A command that reached the service, counted in virtuoso.agent.machine.actions (requests refused as malformed are not).
    private static async Task<Outcome<T>> CountedAsync<T>(Telemetry.AgentMetrics metrics, string action, Func<Task<Outcome<T>>> act)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var outcome = await act();
        metrics.ActionEnded(action, outcome.Error?.Code ?? "ok", System.Diagnostics.Stopwatch.GetElapsedTime(started));
        return outcome;
    }

    private static IResult Reply(Outcome<AgentMachine> outcome) =>
        outcome.Error is { } error ? Problem(error) : Results.Ok(outcome.Value);

    /// <summary>The one mapping of an <see cref="AgentError"/> to HTTP problem details with its stable code.</summary>
    public static IResult Problem(AgentError error) =>
        Results.Problem(
            title: error.Code switch
            {
                ErrorCodes.Validation => "Invalid request",
                ErrorCodes.NotFound => "Not found",
                ErrorCodes.InvalidState => "Not allowed in this state",
                ErrorCodes.VersionMismatch => "Version mismatch",
                ErrorCodes.Conflict => "Conflict",
                ErrorCodes.InvalidCursor => "Invalid cursor",
                _ => "Agent failed",
            },
            detail: error.Message,
            statusCode: error.Status,
            extensions: new Dictionary<string, object?> { ["code"] = error.Code });
}
