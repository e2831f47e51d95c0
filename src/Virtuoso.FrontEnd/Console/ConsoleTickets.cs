using System.Security.Cryptography;
using Dapper;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Data;

namespace Virtuoso.FrontEnd.Console;

/// <summary>What a ticket was issued for: the console (<paramref name="AgentSession"/>) or a tunnel (<paramref name="GuestPort"/>).</summary>
internal sealed record TicketGrant(Guid Machine, string Owner, string Host, string AgentSession, DateTimeOffset ExpiresAt,
    TicketKind Kind = TicketKind.Console, int? GuestPort = null);

/// <summary>Which WebSocket a ticket opens; a ticket of one kind never opens the other.</summary>
internal enum TicketKind { Console, Tunnel }

/// <summary>Why a ticket was not accepted.</summary>
internal enum TicketRefusal { Unknown, Expired }

/// <summary>
/// One-time console and tunnel tickets in the database (table <c>console_tickets</c>), so that any replica can accept a
/// ticket another one issued, and none can accept it twice: a ticket is a random 256-bit string handed to the browser once;
/// only its SHA-256 is stored, and using it deletes the row in the same statement that reads it.
/// </summary>
internal sealed class ConsoleTickets(Database db, TimeProvider clock)
{
    // Rows of tickets that expired unused are kept a while, so that a late use is told "expired", not "unknown".
    private static readonly TimeSpan KeepExpired = TimeSpan.FromMinutes(10);

    /// <summary>Stores a new ticket for <paramref name="grant"/> and returns it (the only time it exists in clear).</summary>
    public async Task<string> IssueAsync(TicketGrant grant)
    {
        var ticket = Base64Url(RandomNumberGenerator.GetBytes(32));
        var now = clock.GetUtcNow();
        await db.WriteAsync(async (c, tx) =>
        {
            await c.ExecuteAsync("DELETE FROM console_tickets WHERE expires_at < @old", new { old = now - KeepExpired }, tx);
            await c.ExecuteAsync("INSERT INTO console_tickets (ticket_hash, machine_id, owner, host, agent_session, created_at, expires_at, kind, guest_port) " +
                "VALUES (@hash, @machine, @owner, @host, @session, @created, @expires, @kind, @port)",
                new
                {
                    hash = PasswordHasher.TokenHash(ticket), machine = grant.Machine, owner = grant.Owner, host = grant.Host,
                    session = grant.AgentSession, created = now, expires = grant.ExpiresAt, kind = KindText(grant.Kind), port = grant.GuestPort,
                }, tx);
            return 0;
        });
        return ticket;
    }

    /// <summary>
    /// Uses <paramref name="ticket"/> up: returns what it grants if it was issued for <paramref name="kind"/> and is fresh;
    /// either way it cannot be used again. A ticket of the other kind is unknown here, and left alone.
    /// </summary>
    public async Task<(TicketGrant? Grant, TicketRefusal Refusal)> ConsumeAsync(string ticket, TicketKind kind = TicketKind.Console)
    {
        var hash = PasswordHasher.TokenHash(ticket);
        var row = await db.WriteAsync((c, tx) => c.QuerySingleOrDefaultAsync<(Guid MachineId, string Owner, string Host, string AgentSession, DateTimeOffset ExpiresAt, int? GuestPort)?>(
            "DELETE FROM console_tickets WHERE ticket_hash = @hash AND kind = @kind RETURNING machine_id, owner, host, agent_session, expires_at, guest_port",
            new { hash, kind = KindText(kind) }, tx));
        if (row is not { } r)
            return (null, TicketRefusal.Unknown);
        var expires = r.ExpiresAt;
        if (clock.GetUtcNow() >= expires)
            return (null, TicketRefusal.Expired);
        return (new TicketGrant(r.MachineId, r.Owner, r.Host, r.AgentSession, expires, kind, r.GuestPort), TicketRefusal.Unknown);
    }

    private static string KindText(TicketKind kind) => kind switch
    {
        TicketKind.Console => "console",
        TicketKind.Tunnel => "tunnel",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
