using System.Security.Claims;
using Dapper;
using Virtuoso.FrontEnd.Data;

namespace Virtuoso.FrontEnd.Accounts;

/// <summary>
/// Server-side sessions (table <c>sessions</c>), shared by the API's bearer tokens and the web's cookie: a session is a
/// random token whose SHA-256 is stored; both schemes turn a live token into the same principal (name and role claims).
/// </summary>
internal static class Sessions
{
    /// <summary>The principal of a live session, or null when the token is unknown or expired.</summary>
    public static async Task<ClaimsPrincipal?> PrincipalAsync(Database db, TimeProvider clock, string token, string scheme)
    {
        var hash = PasswordHasher.TokenHash(token);
        var now = clock.GetUtcNow();
        var row = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<(string Username, string Type)?>(
            "SELECT a.username, a.type FROM sessions s JOIN accounts a ON a.username = s.username WHERE s.token_hash = @hash AND s.expires_at > @now",
            new { hash, now }));
        return row is { } r ? Principal(r.Username, r.Type, scheme) : null;
    }

    /// <summary>The one shape of an authenticated user: <see cref="ClaimTypes.Name"/> and <see cref="ClaimTypes.Role"/> (buyer, provider or operator).</summary>
    public static ClaimsPrincipal Principal(string username, string type, string scheme) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, username), new Claim(ClaimTypes.Role, type)], scheme));
}
