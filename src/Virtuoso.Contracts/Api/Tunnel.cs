namespace Virtuoso.Contracts.Api;

/// <summary>POST /api/v1/machines/{id}/tunnel: which TCP port of the guest to reach (design §10).</summary>
/// <param name="Port">1 to 65535; 22 for the guest's SSH server.</param>
public sealed record TunnelRequest(int Port);

/// <summary>
/// A tunnel to a TCP port of a running machine's guest, through the front-end (design §10, for hosts buyers cannot
/// reach). Open <paramref name="WebSocketPath"/> on the front-end before <paramref name="ExpiresAt"/>: binary frames
/// sent are bytes to the guest's port, bytes from it arrive as binary frames. Closing the WebSocket's sending side
/// ends the guest's input; the guest closing its connection closes the WebSocket. The ticket works once.
/// </summary>
/// <param name="Ticket">One-time, short-lived; only its hash is stored (the console's tickets, design §7).</param>
/// <param name="WebSocketPath">The front-end's tunnel WebSocket with the ticket, e.g. <c>/tunnel/ws?ticket=...</c>.</param>
public sealed record TunnelTicketResponse(Guid Machine, int Port, string Ticket, string WebSocketPath, DateTimeOffset ExpiresAt);
