namespace Virtuoso.Contracts.Api;

/// <summary>
/// POST /api/v1/tokens: make an API key for automation (issue 20 point 2). Needs a logged-in session: a key cannot make
/// or revoke keys.
/// </summary>
/// <param name="Name">The key's name on the account: 1–63 letters, digits, '.', '_' or '-', starting with a letter or digit.</param>
/// <param name="Scope"><c>read</c> (GET and HEAD only) or <c>write</c> (everything its owner may do, except managing keys).</param>
/// <param name="Expires">How long the key lives: <c>12h</c>, <c>30d</c> (1 hour to 365 days); null or <c>never</c>: no expiry.</param>
public sealed record CreateApiKeyRequest(string Name, string Scope, string? Expires = null);

/// <summary>An API key as listed: never the key itself, which only its creation answer carries.</summary>
/// <param name="Scope"><c>read</c> or <c>write</c>.</param>
/// <param name="ExpiresAt">Null: never expires.</param>
/// <param name="LastUsedAt">The last call it authenticated, to the minute; null: never used.</param>
/// <param name="Expired">Whether it has expired (it is listed until revoked, and refused with <c>expired-api-key</c>).</param>
public sealed record ApiKeyResponse(string Name, string Scope, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? LastUsedAt, bool Expired);

/// <summary>
/// The answer to POST /api/v1/tokens: the key, shown this once (only its SHA-256 is stored). Send it as
/// <c>Authorization: Bearer {Key}</c> on the API.
/// </summary>
public sealed record NewApiKeyResponse(string Name, string Scope, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, string Key);
