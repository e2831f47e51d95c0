using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Virtuoso.Agent.Machines;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Console;

/// <summary>
/// The console part of the control API (<see cref="AgentRoutes.Console"/>): open a session, connect its WebSocket,
/// end it. Behind <see cref="Security.SecretAuthentication"/> like every call: only the front-end, which checks the
/// machine's owner and a one-time ticket, reaches these.
/// </summary>
internal static class ConsoleEndpoints
{
    public static void MapConsole(this IEndpointRouteBuilder app)
    {
        var machines = app.MapGroup(AgentRoutes.Machines);
        machines.MapPost("/{id}/console", OpenAsync);
        machines.MapGet("/{id}/console/{sessionId}", ConnectAsync);
        machines.MapDelete("/{id}/console/{sessionId}", EndAsync);
    }

    private static async Task<IResult> OpenAsync(string id, ConsoleService consoles, CancellationToken ct)
    {
        var parsed = MachineValidation.ParseId(id);
        if (parsed.Error is { } badId)
            return MachineEndpoints.Problem(badId);
        var opened = await consoles.OpenAsync(parsed.Value, ct);
        return opened.Error is { } error ? MachineEndpoints.Problem(error) : Results.Ok(opened.Value);
    }

    private static async Task<IResult> ConnectAsync(string id, string sessionId, HttpContext context, ConsoleService consoles)
    {
        var parsed = MachineValidation.ParseId(id);
        if (parsed.Error is { } badId)
            return MachineEndpoints.Problem(badId);
        if (!context.WebSockets.IsWebSocketRequest)
            return MachineEndpoints.Problem(AgentError.Validation("the console is a WebSocket: connect with an Upgrade: websocket request"));
        var connected = await consoles.ConnectAsync(parsed.Value, sessionId, context.RequestAborted);
        if (connected.Error is { } error)
            return MachineEndpoints.Problem(error);
        using var viewer = await context.WebSockets.AcceptWebSocketAsync();
        await connected.Value!(viewer);
        return Results.Empty;
    }

    private static async Task<IResult> EndAsync(string id, string sessionId, ConsoleService consoles, CancellationToken ct)
    {
        var parsed = MachineValidation.ParseId(id);
        if (parsed.Error is { } badId)
            return MachineEndpoints.Problem(badId);
        var ended = await consoles.EndAsync(parsed.Value, sessionId, ct);
        return ended.Error is { } error ? MachineEndpoints.Problem(error) : Results.NoContent();
    }
}
