using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.FrontEnd.Tests.Support;

/// <summary>The fake agent's tunnels (design §10): the "guest" greets with its port, echoes, and says bye when its input ends.</summary>
internal sealed partial class FakeAgent
{
    private void MapTunnel(WebApplication app)
    {
        app.MapGet("/v1/machines/{id:guid}/tunnel/{port:int}", async (Guid id, int port, HttpContext context) =>
        {
            if (context.Request.Headers.Authorization.ToString() != $"Bearer {Secret}") return Problem(401, ErrorCodes.Unauthenticated, "missing or wrong host secret");
            if (!context.WebSockets.IsWebSocketRequest) return Problem(400, ErrorCodes.Validation, "not a WebSocket request");
            if (port is < 1 or > 65535) return Problem(400, ErrorCodes.Validation, "not a port");
            if (!_machines.TryGetValue(id, out var m)) return Problem(404, ErrorCodes.NotFound, $"no machine {id}");
            if (m.State != AgentStates.Running) return Problem(409, ErrorCodes.InvalidState, $"cannot open a tunnel to machine {id:D}: it is {m.State}");
            using var ws = await context.WebSockets.AcceptWebSocketAsync();
            _calls.Enqueue($"tunnel {id:D} {port}");
            await ws.SendAsync(Encoding.ASCII.GetBytes($"guest port {port}\n"), WebSocketMessageType.Binary, true, CancellationToken.None);
            var buffer = new byte[4096];
            try
            {
                while (true)
                {
                    var r = await ws.ReceiveAsync(buffer, CancellationToken.None);
                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        // The client's input ended: the guest still answers, then closes.
                        await ws.SendAsync("bye\n"u8.ToArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
                        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "the guest closed the connection", CancellationToken.None);
                        break;
                    }
                    await ws.SendAsync(buffer.AsMemory(0, r.Count), WebSocketMessageType.Binary, true, CancellationToken.None);
                }
            }
            catch (WebSocketException)
            {
                // The front-end went away.
            }
            return Results.Empty;
        });
    }
}
