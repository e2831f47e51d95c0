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
internal sealed class HostJoins(Database db, EventLog events, ImageCatalogue catalogue, TimeProvider clock, IOptions<MarketOptions> options,
    Agents.MarketTrust trust)
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

    /// <summary>
    /// POST /api/v1/agents/join: the install script presents the token, the secret the host made and (issue 20) a certificate
    /// request for the agent's key; the answer carries the host's certificate and the authority.
    /// </summary>
    public async Task<Outcome<JoinResponse>> JoinAsync(JoinRequest r)
    {
        if (r.Token is not { Length: > 0 and <= 200 } || !r.Token.StartsWith(Prefix, StringComparison.Ordinal))
            return new Failure(ErrorCodes.InvalidJoinToken, "that is not a join token: they start with vj_ and come from the install command");
        if (r.Secret is null) return Failure.Validation("secret is required: the agent's secret, made on the host by the install script");
        if (HostService.CheckSecret(r.Secret) is { } badSecret) return Failure.Validation(badSecret);
        if (KeyOf(r.Csr) is not { } key) return BadRequest(r.Csr);
        var hash = PasswordHasher.TokenHash(r.Token);
        return await db.WriteAsync<Outcome<JoinResponse>>(async (c, tx) =>
        {
            var h = await c.QuerySingleOrDefaultAsync<Pending>(
                "SELECT name, port, owner, join_expires_at, first_port, last_port FROM hosts WHERE join_token_hash = @hash", new { hash }, tx);
            if (h is null)
                return new Failure(ErrorCodes.InvalidJoinToken, "this join token is unknown: already used, replaced by a newer one, or its host deleted; make a new install command on My hosts");
            var now = clock.GetUtcNow();
            if (h.JoinExpiresAt <= now)
                return new Failure(ErrorCodes.ExpiredJoinToken, $"this join token expired at {h.JoinExpiresAt:yyyy-MM-dd HH:mm} UTC; make a new install command on My hosts");
            using var certificate = trust.IssueForHost(key, h.Name);
            // The token is spent in the same statement that stores the secret and the certificate's serial: of two joins racing
            // (two replicas), one changes the row. A host joining again gets a new serial: its old certificate is refused from now on.
            if (await c.ExecuteAsync("UPDATE hosts SET secret = @secret, join_token_hash = NULL, join_expires_at = NULL, last_failure = NULL, " +
                    "last_failure_message = NULL, last_failure_at = NULL, cert_serial = @serial, cert_expires_at = @expires WHERE name = @name AND join_token_hash = @hash",
                    new { secret = r.Secret, name = h.Name, hash, serial = Virtuoso.Contracts.Agent.MarketCertificates.SerialOf(certificate), expires = Expiry(certificate) }, tx) == 0)
                return new Failure(ErrorCodes.InvalidJoinToken, "this join token was just used");
            await events.AppendAsync(c, tx, "host-joined", null, h.Owner, $"host {h.Name}: its agent joined with the install command; the marketplace calls it from now on");
            return Answer(h, certificate);
        }, o => o.Ok);
    }

    /// <summary>
    /// POST /api/v1/agents/certificate (issue 20): the agent of a host added with a secret gets a certificate (or renews it) by
    /// proving the host's secret. The new serial replaces the old one in the same statement that checks the secret.
    /// </summary>
    public async Task<Outcome<JoinResponse>> EnrollAsync(EnrollRequest r)
    {
        const string refused = "no host of that name has that secret: give the host's name and the agent's secret as the marketplace stores them";
        if (r.Name is not { Length: > 0 and <= 200 } || r.Secret is not { Length: > 0 and <= 1000 })
            return new Failure(ErrorCodes.InvalidHostSecret, refused);
        if (KeyOf(r.Csr) is not { } key) return BadRequest(r.Csr);
        return await db.WriteAsync<Outcome<JoinResponse>>(async (c, tx) =>
        {
            var h = await c.QuerySingleOrDefaultAsync<Enrolling>("SELECT name, port, owner, secret, first_port, last_port FROM hosts WHERE name = @name", new { name = r.Name }, tx);
            // Digests compared in fixed time, as the agent compares the front-end's; an unknown host is compared against nothing alike.
            var expected = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(h?.Secret ?? "\0no host"));
            var given = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(r.Secret));
            if (!System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(expected, given) || h is null || string.IsNullOrEmpty(h.Secret))
                return new Failure(ErrorCodes.InvalidHostSecret, refused);
            using var certificate = trust.IssueForHost(key, h.Name);
            if (await c.ExecuteAsync("UPDATE hosts SET cert_serial = @serial, cert_expires_at = @expires WHERE name = @name AND secret = @secret",
                    new { serial = Virtuoso.Contracts.Agent.MarketCertificates.SerialOf(certificate), expires = Expiry(certificate), name = h.Name, secret = r.Secret }, tx) == 0)
                return new Failure(ErrorCodes.InvalidHostSecret, refused);
            await events.AppendAsync(c, tx, "host-certificate", null, h.Owner,
                $"host {h.Name}: its agent got a certificate from the marketplace's authority, valid until {certificate.NotAfter:yyyy-MM-dd} UTC; its previous one is refused from now on");
            return Answer(h, certificate);
        }, o => o.Ok);
    }

    private JoinResponse Answer(Joining h, System.Security.Cryptography.X509Certificates.X509Certificate2 certificate) =>
        new(h.Name, (int)h.Port, certificate.ExportCertificatePem(), trust.AuthorityPem, Expiry(certificate),
            new Core.Machines.PortRange((int)h.FirstPort, (int)h.LastPort).ToString());

    // To the second, as the certificate says it.
    private static DateTimeOffset Expiry(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate) =>
        new(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);

    private static System.Security.Cryptography.X509Certificates.PublicKey? KeyOf(string? csr) =>
        csr is { Length: > 0 and <= 16_000 } ? Virtuoso.Contracts.Agent.MarketCertificates.KeyOfRequest(csr, out _) : null;

    private static Failure BadRequest(string? csr)
    {
        string? error = null;
        if (csr is { Length: > 0 and <= 16_000 }) Virtuoso.Contracts.Agent.MarketCertificates.KeyOfRequest(csr, out error);
        return new Failure(ErrorCodes.InvalidCertificateRequest, csr switch
        {
            null or "" => "csr is required: a PEM certificate request for the agent's key (virtuoso-agent join and enroll make one)",
            { Length: > 16_000 } => "csr is too long for a certificate request",
            _ => error ?? "csr is not a usable certificate request",
        });
    }

    /// <summary>What a join or enrollment answers of the host's row.</summary>
    private abstract class Joining
    {
        public string Name { get; set; } = "";
        public long Port { get; set; }
        public string Owner { get; set; } = "";
        public long FirstPort { get; set; }
        public long LastPort { get; set; }
    }

    private sealed class Enrolling : Joining
    {
        public string Secret { get; set; } = "";
    }

    private sealed class Pending : Joining
    {
        public DateTimeOffset JoinExpiresAt { get; set; }
    }

    /// <summary>The one command a provider runs as root on the host.</summary>
    public string Command(string token) => $"curl -fsSL {catalogue.AgentFacingUrl()}{InstallEndpoints.ScriptPath} | bash -s -- --join {token}";
}
