using System.Net.WebSockets;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Machines;
using Virtuoso.FrontEnd.Agents;
using Virtuoso.FrontEnd.Console;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Hosts;
using Virtuoso.FrontEnd.Http;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Tunnel;

/// <summary>A tunnel the proxy may carry: the agent's side, already connected to the guest's port.</summary>
internal sealed record TunnelLink(TicketGrant Grant, HostRow Host, WebSocket Agent);

/// <summary>
/// Tunnels to a TCP port of a running machine's guest through the front-end (design §10, issue 14: for hosts buyers
/// cannot reach, as <c>gcloud compute ssh --tunnel-through-iap</c>). Authorised exactly like the console (design §7):
/// a one-time ticket of the console's kind (<see cref="ConsoleTickets"/>), issued only to the machine's owner (another
/// buyer's machine answers like a missing one) while it runs, and checked again when used. The agent relays to the
/// guest's own address only, so the tunnel reaches no port of the host.
/// </summary>
internal sealed class TunnelService(
    MachineService machines, ConsoleTickets tickets, AgentClient agents, EventLog events, Database db, TimeProvider clock,
    IOptions<ConsoleOptions> options)
{
    public async Task<Outcome<TunnelTicketResponse>> TicketAsync(string owner, Guid id, TunnelRequest? request)
    {
        // Ownership first: another buyer learns nothing about a machine, not even that a port was wrong.
        var found = await machines.FindAsync(owner, id);
        if (found.Value is not { } row) return found.Failure!;
        if (request is not { Port: >= 1 and <= 65535 } asked)
            return new Failure(ErrorCodes.InvalidPort, $"give the guest's TCP port, 1 to 65535, as {{\"port\": 22}}{(request is null ? "" : $", not {request.Port}")}");
        if (Refuse(row) is { } refused) return refused;
        var expires = clock.GetUtcNow() + options.Value.TicketLifetime;
        var ticket = await tickets.IssueAsync(new TicketGrant(id, owner, row.Host!, "", expires, TicketKind.Tunnel, asked.Port));
        return new TunnelTicketResponse(id, asked.Port, ticket, $"{TunnelEndpoints.WebSocketPath}?ticket={Uri.EscapeDataString(ticket)}", expires);
    }

    /// <summary>Uses a ticket up and connects the agent's side of its tunnel.</summary>
    public async Task<Outcome<TunnelLink>> ConnectAsync(string? ticket, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(ticket))
            return new Failure(ErrorCodes.Unauthenticated, "a tunnel needs a ticket: POST /api/v1/machines/{id}/tunnel, then open its webSocketPath");
        var (grant, refusal) = await tickets.ConsumeAsync(ticket, TicketKind.Tunnel);
        if (grant is null)
            return refusal == TicketRefusal.Expired
                ? new Failure(ErrorCodes.ExpiredTicket, $"the tunnel ticket expired (tickets last {options.Value.TicketSeconds:0.#} s): ask for a new one")
                : new Failure(ErrorCodes.InvalidTicket, "unknown tunnel ticket, or one used already: each ticket opens one connection");
        // The machine may have stopped, moved or changed hands since the ticket was issued.
        var found = await machines.FindAsync(grant.Owner, grant.Machine);
        if (found.Value is not { } row) return found.Failure!;
        if (Refuse(row) is { } refused) return refused;
        if (row.Host != grant.Host)
            return new Failure(ErrorCodes.Conflict, $"the machine moved from {grant.Host} to {row.Host} since the ticket was issued: ask for a new one");
        var host = await db.ReadAsync(c => HostQueries.ByNameAsync(c, grant.Host));
        if (host is null) return Failure.NotFound($"host '{grant.Host}'");
        var agent = await agents.ConnectTunnelAsync(host, grant.Machine, grant.GuestPort!.Value, ct);
        if (agent.Value is not { } ws)
        {
            await events.AppendAsync("error", grant.Machine, grant.Owner, $"tunnel to guest port {grant.GuestPort} failed: {agent.Failure!.Message}");
            return agent.Failure!;
        }
        await events.AppendAsync("tunnel", grant.Machine, grant.Owner, $"tunnel to guest port {grant.GuestPort} opened on {host.Name}");
        return new TunnelLink(grant, host, ws);
    }

    // A tunnel is allowed exactly when the console is (design §10: "exactly like the console"): while the machine runs.
    private static Failure? Refuse(MachineRow row) =>
        StateTable.Decide(row.State, MachineAction.Console) is null
            ? new Failure(ErrorCodes.InvalidState,
                $"cannot open a tunnel to a machine that is {row.StoredState}: only a running machine's guest answers; allowed: {string.Join(", ", MachineRow.OfferedActions(row.State))}")
            : null;
}
