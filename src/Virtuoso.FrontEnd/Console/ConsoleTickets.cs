using System.Security.Cryptography;
using Dapper;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Data;

namespace Virtuoso.FrontEnd.Console;

/// <summary>What a console ticket was issued for.</summary>
internal sealed record TicketGrant(Guid Machine, string Owner, string Host, string AgentSession, DateTimeOffset ExpiresAt);

/// <summary>Why a ticket was not accepted.</summary>
internal enum TicketRefusal { Unknown, Expired }

/// <summary>
/// One-time console tickets in the database (table <c>console_tickets</c>), so that any replica can accept a ticket
/// another one issued, and none can accept it twice: a ticket is a random 256-bit string handed to the browser once;
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
            await c.ExecuteAsync("INSERT INTO console_tickets (ticket_hash, machine_id, owner, host, agent_session, created_at, expires_at) " +
                "VALUES (@hash, @machine, @owner, @host, @session, @created, @expires)",
                new
                {
                    hash = PasswordHasher.TokenHash(ticket), machine = grant.Machine, owner = grant.Owner, host = grant.Host,
                    session = grant.AgentSession, created = now, expires = grant.ExpiresAt,
                }, tx);
            return 0;
        });
        return ticket;
    }

    /// <summary>Uses <paramref name="ticket"/> up: returns what it grants if it was issued and is fresh; either way it cannot be used again.</summary>
    public async Task<(TicketGrant? Grant, TicketRefusal Refusal)> ConsumeAsync(string ticket)
    {
        var hash = PasswordHasher.TokenHash(ticket);
        var row = await db.WriteAsync((c, tx) => c.QuerySingleOrDefaultAsync<(Guid MachineId, string Owner, string Host, string AgentSession, DateTimeOffset ExpiresAt)?>(
            "DELETE FROM console_tickets WHERE ticket_hash = @hash RETURNING machine_id, owner, host, agent_session, expires_at", new { hash }, tx));
        if (row is not { } r)
            return (null, TicketRefusal.Unknown);
        var expires = r.ExpiresAt;
        if (clock.GetUtcNow() >= expires)
            return (null, TicketRefusal.Expired);
        return (new TicketGrant(r.MachineId, r.Owner, r.Host, r.AgentSession, expires), TicketRefusal.Unknown);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
