using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Http;
using Virtuoso.FrontEnd.Images;

namespace Virtuoso.FrontEnd.Hosts;

/// <summary>
/// Issue 19 point 2: a host's agent joins the marketplace with a one-time token, so that a provider runs one printed command on
/// the host (report §3.5: the provider installs the agent; §5.2.2: then adds the host) instead of copying a secret by hand.
/// Adding a host without a secret makes a token; the install script (<c>/install/agent.sh</c>, <see cref="InstallEndpoints"/>)
/// makes the agent's secret on the host and presents it with the token; the join keeps the secret and forgets the token.
/// Only the token's SHA-256 is stored. A token works once (a conditional UPDATE: replicas racing cannot both use it) and
/// until it expires; a newer one replaces it; deleting the host deletes it.
/// </summary>
internal sealed class HostJoins(Database db, EventLog events, ImageCatalogue catalogue, TimeProvider clock, IOptions<MarketOptions> options)
{
    /// <summary>What every join token starts with, so that a leaked one is recognisable (as API keys' <c>vk_</c>).</summary>
    public const string Prefix = "vj_";

    /// <summary>A fresh token for a host (already locked or just inserted, in <paramref name="tx"/>): stores its hash and expiry.</summary>
    public async Task<HostJoin> IssueAsync(System.Data.Common.DbConnection c, System.Data.Common.DbTransaction tx, string host)
    {
        var token = Prefix + PasswordHasher.NewToken();
        // To the second: what is stored (milliseconds) and what is shown must be the same instant.
        var expires = DateTimeOffset.FromUnixTimeSeconds((clock.GetUtcNow() + TimeSpan.FromHours(options.Value.JoinTokenHours)).ToUnixTimeSeconds());
        await c.ExecuteAsync("UPDATE hosts SET join_token_hash = @hash, join_expires_at = @expires WHERE name = @host",
            new { hash = PasswordHasher.TokenHash(token), expires, host }, tx);
        return new HostJoin(token, expires, Command(token));
    }

    /// <summary>POST /api/v1/hosts/{name}/join: a new token for one of the owner's hosts (the old one stops working).</summary>
    public async Task<Outcome<HostResponse>> RenewAsync(string owner, string name)
    {
        var host = await db.ReadAsync(c => HostQueries.ByNameAsync(c, name));
        if (host is null || host.Owner != owner) return Failure.NotFound($"host '{name}'");
        var join = await db.WriteAsync(async (c, tx) =>
        {
            var j = await IssueAsync(c, tx, name);
            await events.AppendAsync(c, tx, "host-join-token", null, owner, $"host {name}: a new install command was made; it works once, until {j.ExpiresAt:yyyy-MM-dd HH:mm} UTC");
            return j;
        });
        var fresh = await db.ReadAsync(c => HostQueries.ByNameAsync(c, name));
        return fresh!.ToResponse(fresh.IsOnline(clock.GetUtcNow(), options.Value.OnlineWindow), []) with { Join = join };
    }

    /// <summary>POST /api/v1/agents/join: the install script presents the token and the secret the host made.</summary>
    public async Task<Outcome<JoinResponse>> JoinAsync(JoinRequest r)
    {
        if (r.Token is not { Length: > 0 and <= 200 } || !r.Token.StartsWith(Prefix, StringComparison.Ordinal))
            return new Failure(ErrorCodes.InvalidJoinToken, "that is not a join token: they start with vj_ and come from the install command");
        if (r.Secret is null) return Failure.Validation("secret is required: the agent's secret, made on the host by the install script");
        if (HostService.CheckSecret(r.Secret) is { } badSecret) return Failure.Validation(badSecret);
        var hash = PasswordHasher.TokenHash(r.Token);
        return await db.WriteAsync<Outcome<JoinResponse>>(async (c, tx) =>
        {
            var h = await c.QuerySingleOrDefaultAsync<Pending>(
                "SELECT name, port, owner, join_expires_at FROM hosts WHERE join_token_hash = @hash", new { hash }, tx);
            if (h is null)
                return new Failure(ErrorCodes.InvalidJoinToken, "this join token is unknown: already used, replaced by a newer one, or its host deleted; make a new install command on My hosts");
            var now = clock.GetUtcNow();
            if (h.JoinExpiresAt <= now)
                return new Failure(ErrorCodes.ExpiredJoinToken, $"this join token expired at {h.JoinExpiresAt:yyyy-MM-dd HH:mm} UTC; make a new install command on My hosts");
            // The token is spent in the same statement that stores the secret: of two joins racing (two replicas), one changes the row.
            if (await c.ExecuteAsync("UPDATE hosts SET secret = @secret, join_token_hash = NULL, join_expires_at = NULL, last_failure = NULL, " +
                    "last_failure_message = NULL, last_failure_at = NULL WHERE name = @name AND join_token_hash = @hash",
                    new { secret = r.Secret, name = h.Name, hash }, tx) == 0)
                return new Failure(ErrorCodes.InvalidJoinToken, "this join token was just used");
            await events.AppendAsync(c, tx, "host-joined", null, h.Owner, $"host {h.Name}: its agent joined with the install command; the marketplace calls it from now on");
            return new JoinResponse(h.Name, (int)h.Port);
        }, o => o.Ok);
    }

    private sealed class Pending
    {
        public string Name { get; set; } = "";
        public long Port { get; set; }
        public string Owner { get; set; } = "";
        public DateTimeOffset JoinExpiresAt { get; set; }
    }

    /// <summary>The one command a provider runs as root on the host.</summary>
    public string Command(string token) => $"curl -fsSL {catalogue.AgentFacingUrl()}{InstallEndpoints.ScriptPath} | bash -s -- --join {token}";
}
