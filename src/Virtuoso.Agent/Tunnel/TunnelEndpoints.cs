using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Virtuoso.Agent.Machines;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Tunnel;

/// <summary>
/// The tunnel part of the control API (<see cref="AgentRoutes.Tunnel"/>): a WebSocket to a TCP port of a running
/// machine's guest. Behind <see cref="Security.SecretAuthentication"/> like every call: only the front-end, which checks
/// the machine's owner and a one-time ticket, reaches it.
/// </summary>
internal static class TunnelEndpoints
{
    public static void MapTunnel(this IEndpointRouteBuilder app) =>
        app.MapGroup(AgentRoutes.Machines).MapGet("/{id}/tunnel/{port}", ConnectAsync);

    private static async Task<IResult> ConnectAsync(string id, string port, HttpContext context, TunnelService tunnels)
    {
        var parsed = MachineValidation.ParseId(id);
        if (parsed.Error is { } badId)
            return MachineEndpoints.Problem(badId);
        var guestPort = GuestPort.Parse(port);
        if (guestPort.Error is { } badPort)
            return MachineEndpoints.Problem(badPort);
        if (!context.WebSockets.IsWebSocketRequest)
            return MachineEndpoints.Problem(AgentError.Validation("the tunnel is a WebSocket: connect with an Upgrade: websocket request"));
        var connected = await tunnels.ConnectAsync(parsed.Value, guestPort.Value, context.RequestAborted);
        if (connected.Error is { } error)
            return MachineEndpoints.Problem(error);
        await using var tunnel = connected.Value!;
        using var client = await context.WebSockets.AcceptWebSocketAsync();
        await tunnel.RunAsync(client);
        return Results.Empty;
    }
}
