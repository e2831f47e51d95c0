using System.Security.Claims;
using Dapper;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Accounts;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Http;

namespace Virtuoso.FrontEnd.Accounts;

/// <summary>
/// API keys (issue 20 point 2; table <c>api_keys</c>): made, listed and revoked by their owner, and turned into the owner's
/// principal when a call carries one (<see cref="BearerAuthentication"/>). The rules are <see cref="ApiKeys"/>'; a key is
/// <see cref="ApiKeys.Prefix"/> and 256 random bits, and only its SHA-256 is stored: it is shown once, at creation.
/// </summary>
internal sealed class ApiKeyService(Database db, EventLog events, TimeProvider clock)
{
    /// <summary>How stale <c>last_used_at</c> may get before a call writes it again: a key's every call is not a write.</summary>
    public static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    private sealed class Row
    {
        public required string Name { get; init; }
        public required string Scope { get; init; }
        public DateTimeOffset CreatedAt { get; init; }
        public DateTimeOffset? ExpiresAt { get; init; }
        public DateTimeOffset? LastUsedAt { get; init; }
    }

    private sealed class KeyOwner
    {
        public long Id { get; init; }
        public required string Owner { get; init; }
        public required string Type { get; init; }
        public required string Name { get; init; }
        public required string Scope { get; init; }
        public DateTimeOffset? ExpiresAt { get; init; }
        public DateTimeOffset? LastUsedAt { get; init; }
    }

    public async Task<IReadOnlyList<ApiKeyResponse>> ListAsync(string owner)
    {
        var now = clock.GetUtcNow();
        var rows = await db.ReadAsync(c => c.QueryAsync<Row>(
            "SELECT name, scope, created_at, expires_at, last_used_at FROM api_keys WHERE owner = @owner ORDER BY id", new { owner }));
        return rows.Select(r => new ApiKeyResponse(r.Name, r.Scope, r.CreatedAt, r.ExpiresAt, r.LastUsedAt, ApiKeys.Expired(r.ExpiresAt, now))).ToList();
    }

    public async Task<Outcome<NewApiKeyResponse>> CreateAsync(string owner, CreateApiKeyRequest r)
    {
        if (ApiKeys.NameError(r.Name) is { } badName) return Failure.Validation(badName);
        if (ApiKeys.ParseScope(r.Scope) is not { } scope)
            return new Failure(ErrorCodes.InvalidScope, $"scope must be 'read' (GET and HEAD only) or 'write', not '{r.Scope}'");
        if (!ApiKeys.ParseLifetime(r.Expires, out var lifetime, out var badExpiry)) return new Failure(ErrorCodes.InvalidExpiry, badExpiry!);

        var key = ApiKeys.Prefix + PasswordHasher.NewToken();
        // To the millisecond, as stored: the answer says what the list will say.
        var now = DateTimeOffset.FromUnixTimeMilliseconds(clock.GetUtcNow().ToUnixTimeMilliseconds());
        var expiresAt = lifetime is { } l ? now + l : (DateTimeOffset?)null;
        return await db.WriteAsync<Outcome<NewApiKeyResponse>>(async (c, tx) =>
        {
            // The account's row serializes its key writers (PostgreSQL replicas too), so the count below stays true until the commit.
            await c.ExecuteAsync($"SELECT username FROM accounts WHERE username = @owner{db.ForUpdate}", new { owner }, tx);
            if (await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM api_keys WHERE owner = @owner", new { owner }, tx) >= ApiKeys.MaxPerAccount)
                return new Failure(ErrorCodes.TooManyKeys, $"an account holds at most {ApiKeys.MaxPerAccount} API keys; revoke one first");
            var added = await c.ExecuteAsync(
                "INSERT INTO api_keys (owner, name, scope, key_hash, created_at, expires_at) VALUES (@owner, @name, @scope, @hash, @now, @expiresAt) " +
                "ON CONFLICT (owner, name) DO NOTHING",
                new { owner, name = r.Name, scope = scope.Text(), hash = PasswordHasher.TokenHash(key), now, expiresAt }, tx);
            if (added == 0)
                return new Failure(ErrorCodes.ApiKeyNameTaken, $"you already have an API key named '{r.Name}'; revoke it first or choose another name");
            await events.AppendAsync(c, tx, "api-key-created", null, owner,
                $"API key {r.Name} made: {scope.Text()}, {(expiresAt is { } e ? $"expires {e:yyyy-MM-dd HH:mm} UTC" : "never expires")}");
            return new NewApiKeyResponse(r.Name, scope.Text(), now, expiresAt, key);
        }, o => o.Ok);
    }

    public async Task<Failure?> RevokeAsync(string owner, string name) => await db.WriteAsync<Failure?>(async (c, tx) =>
    {
        var scope = await c.QuerySingleOrDefaultAsync<string>(
            "DELETE FROM api_keys WHERE owner = @owner AND name = @name RETURNING scope", new { owner, name }, tx);
        if (scope is null) return Failure.NotFound($"API key '{name}'");
        await events.AppendAsync(c, tx, "api-key-revoked", null, owner, $"API key {name} revoked ({scope}): calls with it are refused from now on");
        return null;
    }, f => f is null);

    /// <summary>
    /// The principal of the live key <paramref name="key"/>, or why it is refused (expired); null when no key has that hash
    /// (never made, revoked, or a session token that happens to begin like a key). Records when it was last used, to the minute.
    /// </summary>
    public async Task<(ClaimsPrincipal? Principal, Failure? Refused)?> AuthenticateAsync(string key, string scheme)
    {
        var hash = PasswordHasher.TokenHash(key);
        var row = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<KeyOwner>(
            "SELECT k.id, k.owner, a.type, k.name, k.scope, k.expires_at, k.last_used_at FROM api_keys k JOIN accounts a ON a.username = k.owner " +
            "WHERE k.key_hash = @hash", new { hash }));
        if (row is null) return null;
        var now = clock.GetUtcNow();
        if (ApiKeys.Expired(row.ExpiresAt, now))
            return (null, new Failure(ErrorCodes.ExpiredApiKey, $"the API key '{row.Name}' expired on {row.ExpiresAt:yyyy-MM-dd HH:mm} UTC; make a new one"));
        if (row.LastUsedAt is not { } last || now - last >= LastUsedResolution)
            await db.WriteAsync((c, tx) => c.ExecuteAsync("UPDATE api_keys SET last_used_at = @now WHERE id = @Id", new { now, row.Id }, tx));
        var principal = Sessions.Principal(row.Owner, row.Type, scheme);
        ((ClaimsIdentity)principal.Identity!).AddClaims([new Claim(ApiKeyClaims.Name, row.Name), new Claim(ApiKeyClaims.Scope, row.Scope)]);
        return (principal, null);
    }
}

/// <summary>The claims that mark a principal authenticated by an API key rather than a session.</summary>
internal static class ApiKeyClaims
{
    public const string Name = "virtuoso:api-key";
    /// <summary><c>read</c> or <c>write</c>.</summary>
    public const string Scope = "virtuoso:api-key-scope";

    /// <summary>The scope of the key the call came with, or null when it came with a session.</summary>
    public static ApiKeyScope? KeyScope(this ClaimsPrincipal user) => user.FindFirst(Scope) is { } c ? ApiKeys.ParseScope(c.Value) : null;

    /// <summary>Whether the call came with an API key.</summary>
    public static bool ByApiKey(this ClaimsPrincipal user) => user.HasClaim(c => c.Type == Scope);
}
