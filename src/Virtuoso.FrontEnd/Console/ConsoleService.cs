using System.Net.WebSockets;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Machines;
using Virtuoso.FrontEnd.Agents;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Hosts;
using Virtuoso.FrontEnd.Http;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Console;

/// <summary>A console connection the proxy may carry: the agent's side, already connected.</summary>
internal sealed record ConsoleLink(TicketGrant Grant, HostRow Host, WebSocket Agent);

/// <summary>
/// The machine's console in the browser (design §7; report §6.1.8, §6.2.4). A ticket is issued only to the machine's
/// owner (another buyer's machine answers exactly like a missing one, §6.1.4) in a state whose Console action the core's
/// state table allows; the agent then sets a fresh random VNC password. Using the ticket checks it again: one use,
/// fresh, and the machine still the owner's, still running on the same host.
/// </summary>
internal sealed class ConsoleService(
    MachineService machines, ConsoleTickets tickets, AgentClient agents, EventLog events, Database db, TimeProvider clock,
    IOptions<ConsoleOptions> options)
{
    public async Task<Outcome<ConsoleTicketResponse>> TicketAsync(string owner, Guid id)
    {
        var found = await machines.FindAsync(owner, id);
        if (found.Value is not { } row) return found.Failure!;
        if (Refuse(row) is { } refused) return refused;
        var host = await db.ReadAsync(c => HostQueries.ByNameAsync(c, row.Host!));
        if (host is null) return Failure.NotFound($"host '{row.Host}'");
        var session = await agents.OpenConsoleAsync(host, id);
        if (session.Value is not { } s)
        {
            await events.AppendAsync("error", id, owner, $"console failed: {session.Failure!.Message}");
            return session.Failure!;
        }
        var expires = clock.GetUtcNow() + options.Value.TicketLifetime;
        var ticket = await tickets.IssueAsync(new TicketGrant(id, owner, host.Name, s.SessionId, expires));
        await events.AppendAsync("console", id, owner, $"console session opened on {host.Name}");
        return new ConsoleTicketResponse(id, ticket, s.Password, $"{ConsoleEndpoints.WebSocketPath}?ticket={Uri.EscapeDataString(ticket)}", expires);
    }

    /// <summary>Uses a ticket up and connects the agent's side of its session.</summary>
    public async Task<Outcome<ConsoleLink>> ConnectAsync(string? ticket, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(ticket))
            return new Failure(ErrorCodes.Unauthenticated, "the console needs a ticket: POST /api/v1/machines/{id}/console, then open its webSocketPath");
        var (grant, refusal) = await tickets.ConsumeAsync(ticket);
        if (grant is null)
            return refusal == TicketRefusal.Expired
                ? new Failure(ErrorCodes.ExpiredTicket, $"the console ticket expired (tickets last {options.Value.TicketSeconds:0.#} s): ask for a new one")
                : new Failure(ErrorCodes.InvalidTicket, "unknown console ticket, or one used already: each ticket opens one connection");
        // The machine may have stopped, moved or changed hands since the ticket was issued.
        var found = await machines.FindAsync(grant.Owner, grant.Machine);
        if (found.Value is not { } row) return found.Failure!;
        if (Refuse(row) is { } refused) return refused;
        if (row.Host != grant.Host)
            return new Failure(ErrorCodes.Conflict, $"the machine moved from {grant.Host} to {row.Host} since the ticket was issued: ask for a new one");
        var host = await db.ReadAsync(c => HostQueries.ByNameAsync(c, grant.Host));
        if (host is null) return Failure.NotFound($"host '{grant.Host}'");
        var agent = await agents.ConnectConsoleAsync(host, grant.Machine, grant.AgentSession, ct);
        if (agent.Value is not { } ws) return agent.Failure!;
        return new ConsoleLink(grant, host, ws);
    }

    /// <summary>Ends the agent's session once the browser is gone (design §7: closing the page ends the session).</summary>
    public async Task EndAsync(ConsoleLink link)
    {
        if (await agents.EndConsoleAsync(link.Host, link.Grant.Machine, link.Grant.AgentSession) is { } failure)
            await events.AppendAsync("error", link.Grant.Machine, link.Grant.Owner, $"ending the console session failed: {failure.Message}");
    }

    private static Failure? Refuse(MachineRow row) =>
        StateTable.Decide(row.State, MachineAction.Console) is null
            ? new Failure(ErrorCodes.InvalidState,
                $"cannot open the console of a machine that is {row.StoredState}; allowed: {string.Join(", ", MachineRow.OfferedActions(row.State))}")
            : null;
}
