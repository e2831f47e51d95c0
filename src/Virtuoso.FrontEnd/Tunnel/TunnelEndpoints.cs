using System.Security.Claims;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Console;
using Virtuoso.FrontEnd.Http;
using E = Virtuoso.Contracts.Api.ErrorCodes;

namespace Virtuoso.FrontEnd.Tunnel;

/// <summary>
/// Tunnels to a guest's port (design §10): the ticket call of the API, and the WebSocket the client opens with the
/// ticket, relayed to the agent's tunnel WebSocket by the console's proxy. <c>./virtuoso tunnel</c> and
/// <c>./virtuoso ssh</c> are its clients.
/// </summary>
internal static partial class TunnelEndpoints
{
    public const string WebSocketPath = "/tunnel/ws";

    /// <summary>
    /// After one side's close, how long the other may take to close too: after the client's end of input the guest may
    /// still be answering (the agent allows it two minutes).
    /// </summary>
    private static readonly TimeSpan OtherCloses = TimeSpan.FromMinutes(2.5);

    public static void MapTunnel(this WebApplication app)
    {
        app.MapPost("/api/v1/machines/{id:guid}/tunnel", async (Guid id, TunnelRequest? request, ClaimsPrincipal user, TunnelService tunnels) =>
                (await tunnels.TicketAsync(user.Name(), id, request)).ToResult())
            .RequireAuthorization(Roles.Buyer).WithTags("Machines")
            .WithSummary("Open a tunnel to a TCP port of a running machine's guest: a one-time ticket for the tunnel WebSocket, valid for seconds")
            .WithName("openTunnel").Produces<TunnelTicketResponse>().Refuses(E.InvalidPort, E.NotFound, E.InvalidState, E.AgentFailed);

        app.MapGet(WebSocketPath, ConnectAsync).ExcludeFromDescription();
    }

    private static async Task<IResult> ConnectAsync(HttpContext context, TunnelService tunnels, ILoggerFactory logs)
    {
        if (!context.WebSockets.IsWebSocketRequest)
            return Failure.Validation($"{WebSocketPath} is a WebSocket: open it with the webSocketPath of a tunnel ticket").ToResult();
        // As the console's: a page of another site may not open it with the user's cookies (CSWSH); the CLI sends no Origin.
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length > 0 && !ConsoleEndpoints.SameOrigin(origin, context.Request))
            return new Failure(ErrorCodes.ForbiddenOrigin, $"the tunnel WebSocket may be opened only from this site's pages, not from {origin}").ToResult();

        var link = await tunnels.ConnectAsync(context.Request.Query["ticket"].ToString(), context.RequestAborted);
        if (link.Value is not { } l)
            return link.Failure!.ToResult();
        var log = logs.CreateLogger("Virtuoso.FrontEnd.Tunnel");
        Started(log, l.Grant.Machine, l.Grant.GuestPort ?? 0, l.Grant.Owner, l.Host.Name);
        try
        {
            using var client = await context.WebSockets.AcceptWebSocketAsync();
            await ConsoleProxy.RunAsync(client, l.Agent, "tunnel", OtherCloses);
        }
        finally
        {
            l.Agent.Dispose();
            Ended(log, l.Grant.Machine, l.Grant.GuestPort ?? 0);
        }
        return Results.Empty;
    }

    [LoggerMessage(6101, LogLevel.Information, "Tunnel to port {Port} of machine {Machine} for {Owner}: relaying to host {Host}")]
    private static partial void Started(ILogger logger, Guid machine, int port, string owner, string host);

    [LoggerMessage(6102, LogLevel.Information, "Tunnel to port {Port} of machine {Machine}: closed")]
    private static partial void Ended(ILogger logger, Guid machine, int port);
}
