using System.Data.Common;
using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Accounts;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Http;

namespace Virtuoso.FrontEnd.Accounts;

/// <summary>
/// The SSH public keys of an account (issue 14, design §10): buyers' and providers' alike. Parsing and fingerprints are
/// <see cref="SshPublicKey"/>'s; this stores them, one owner's only, within <see cref="MarketOptions.MaxKeysPerAccount"/>.
/// </summary>
internal sealed class SshKeys(Database db, EventLog events, TimeProvider clock, IOptions<MarketOptions> options)
{
    private const string Columns = "name, type, bits, fingerprint, public_key, created_at";

    private sealed class Row
    {
        public required string Name { get; init; }
        public required string Type { get; init; }
        public long Bits { get; init; }
        public required string Fingerprint { get; init; }
        public required string PublicKey { get; init; }
        public DateTimeOffset CreatedAt { get; init; }

        public KeyResponse ToResponse() => new(Name, Type, (int)Bits, Fingerprint, PublicKey, CreatedAt);
    }

    public async Task<IReadOnlyList<KeyResponse>> ListAsync(string owner) => await db.ReadAsync(async c =>
        (await c.QueryAsync<Row>($"SELECT {Columns} FROM ssh_keys WHERE owner = @owner ORDER BY seq", new { owner })).Select(r => r.ToResponse()).ToList());

    /// <summary>
    /// The public key lines of <paramref name="owner"/>, oldest first, as a machine's seed gives them to the guest
    /// (<c>ssh_authorized_keys</c>): read at each start, so a key added or deleted applies from the next start.
    /// </summary>
    public static async Task<IReadOnlyList<string>> LinesAsync(DbConnection c, string owner, DbTransaction? tx) =>
        (await c.QueryAsync<string>("SELECT public_key FROM ssh_keys WHERE owner = @owner ORDER BY seq", new { owner }, tx)).ToList();

    public async Task<Outcome<KeyResponse>> AddAsync(string owner, AddKeyRequest r)
    {
        if (Validate.First(Validate.KeyName(r.Name)) is { } bad) return bad;
        if (!SshPublicKey.TryParse(r.PublicKey, out var key, out var why)) return new Failure(ErrorCodes.InvalidKey, why);
        var row = new Row
        {
            Name = r.Name, Type = key.Type, Bits = key.Bits, Fingerprint = key.Fingerprint, PublicKey = key.Line,
            CreatedAt = clock.GetUtcNow(),
        };
        return await db.WriteAsync<Outcome<KeyResponse>>(async (c, tx) =>
        {
            // The account's row serializes its key writers (PostgreSQL replicas too), so the count below stays true until the commit.
            await c.ExecuteAsync($"SELECT username FROM accounts WHERE username = @owner{db.ForUpdate}", new { owner }, tx);
            var max = options.Value.MaxKeysPerAccount;
            if (await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ssh_keys WHERE owner = @owner", new { owner }, tx) >= max)
                return new Failure(ErrorCodes.TooManyKeys, $"an account holds at most {max} keys; delete one first");
            var added = await c.ExecuteAsync("INSERT INTO ssh_keys (owner, name, type, bits, fingerprint, public_key, created_at) " +
                "VALUES (@owner, @Name, @Type, @Bits, @Fingerprint, @PublicKey, @CreatedAt) ON CONFLICT DO NOTHING",
                new { owner, row.Name, row.Type, row.Bits, row.Fingerprint, row.PublicKey, row.CreatedAt }, tx);
            if (added == 0)
            {
                // Which unique key refused it: the name, or the same key under another name.
                var holder = await c.QuerySingleAsync<string>("SELECT name FROM ssh_keys WHERE owner = @owner AND (name = @Name OR fingerprint = @Fingerprint) " +
                    "ORDER BY CASE WHEN name = @Name THEN 0 ELSE 1 END LIMIT 1", new { owner, row.Name, row.Fingerprint }, tx);
                return holder == r.Name
                    ? new Failure(ErrorCodes.KeyNameTaken, $"you already have a key named '{r.Name}'; delete it first or choose another name")
                    : new Failure(ErrorCodes.KeyExists, $"this key ({key.Fingerprint}) is already on your account as '{holder}'");
            }
            await events.AppendAsync(c, tx, "key-added", null, owner, $"SSH key {r.Name} added: {key.Type} {key.Fingerprint}");
            return row.ToResponse();
        }, o => o.Ok);
    }

    public async Task<Failure?> DeleteAsync(string owner, string name) => await db.WriteAsync<Failure?>(async (c, tx) =>
    {
        var fingerprint = await c.QuerySingleOrDefaultAsync<string>(
            "DELETE FROM ssh_keys WHERE owner = @owner AND name = @name RETURNING fingerprint", new { owner, name }, tx);
        if (fingerprint is null) return Failure.NotFound($"key '{name}'");
        await events.AppendAsync(c, tx, "key-deleted", null, owner, $"SSH key {name} deleted: {fingerprint}; machines started from now on no longer get it");
        return null;
    }, f => f is null);
}
