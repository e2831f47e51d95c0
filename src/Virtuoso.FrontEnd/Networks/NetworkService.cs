using System.Data.Common;
using System.Text.RegularExpressions;
using Dapper;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Networks;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Http;

namespace Virtuoso.FrontEnd.Networks;

/// <summary>A row of <c>networks</c>.</summary>
internal sealed class NetworkRow
{
    public long Id { get; init; }
    public string Owner { get; init; } = "";
    public string Name { get; init; } = "";
    public string Subnet { get; init; } = "";
    public long Vni { get; init; }
    public DateTimeOffset CreatedAt { get; init; }

    public const string Columns = "id, owner, name, subnet, vni, created_at";

    /// <summary>The subnet, as validated when the row was written.</summary>
    public Subnet Parsed => Core.Networks.Subnet.Parse(Subnet).Subnet ?? throw new InvalidOperationException($"network {Id}: bad subnet '{Subnet}' in the database");
}

/// <summary>Where a machine is on its network: the network's row and the machine's address.</summary>
internal sealed record Attachment(NetworkRow Network, string Address);

/// <summary>
/// A buyer's private networks (issue 16, design §9) and the machines' places on them. Every buyer has <c>default</c>
/// (10.128.0.0/24), created when first needed by whichever request or replica gets there first (INSERT .. ON CONFLICT DO
/// NOTHING on the (owner, name) key); a network's VNI is the highest VNI + 1, taken under the same statement and retried
/// when another replica took it meanwhile. Addresses are given under the network row's lock (FOR UPDATE on PostgreSQL,
/// SQLite's single writer), so two registrations never pick the same one and a delete never misses a machine attached
/// meanwhile; the unique index on (network, private_address) is the last word.
/// </summary>
internal sealed partial class NetworkService(Database db, EventLog events, TimeProvider clock)
{
    public const string DefaultName = "default";
    /// <summary>The largest VXLAN network identifier (24 bits).</summary>
    public const long MaxVni = 16_777_215;

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}\z")] private static partial Regex NameRx();

    /// <summary>Why a network name is not acceptable, or null.</summary>
    public static string? CheckName(string? name) => name is not null && NameRx().IsMatch(name) ? null
        : "network name must be 1–32 characters: letters, digits, '-' or '_', starting with a letter or digit";

    /// <summary>The owner's networks, oldest first, with the names of the machines attached; <c>default</c> is created if missing.</summary>
    public async Task<IReadOnlyList<NetworkResponse>> ListAsync(string owner)
    {
        await EnsureDefaultAsync(owner);
        return await db.ReadAsync(async c =>
        {
            var rows = (await c.QueryAsync<NetworkRow>($"SELECT {NetworkRow.Columns} FROM networks WHERE owner = @owner ORDER BY id", new { owner })).ToList();
            var attached = (await c.QueryAsync<(long Network, string Name)>(
                "SELECT network, name FROM machines WHERE owner = @owner AND network IS NOT NULL ORDER BY name", new { owner })).ToLookup(a => a.Network, a => a.Name);
            return (IReadOnlyList<NetworkResponse>)rows.Select(r => ToResponse(r, attached[r.Id].ToList())).ToList();
        });
    }

    /// <summary>One of the owner's networks, or not found (another buyer's network answers the same).</summary>
    public async Task<Outcome<NetworkResponse>> GetAsync(string owner, string name)
    {
        if (name == DefaultName) await EnsureDefaultAsync(owner);
        return await db.ReadAsync<Outcome<NetworkResponse>>(async c =>
        {
            var row = await c.QuerySingleOrDefaultAsync<NetworkRow>($"SELECT {NetworkRow.Columns} FROM networks WHERE owner = @owner AND name = @name", new { owner, name });
            if (row is null) return NoSuchNetwork(name);
            return ToResponse(row, (await c.QueryAsync<string>("SELECT name FROM machines WHERE network = @Id ORDER BY name", new { row.Id })).ToList());
        });
    }

    public async Task<Outcome<NetworkResponse>> CreateAsync(string owner, CreateNetworkRequest r)
    {
        if (CheckName(r.Name) is { } badName) return Failure.Validation(badName);
        var (subnet, why) = Subnet.Parse(r.Subnet ?? Subnet.Default.ToString());
        if (subnet is not { } s) return new Failure(ErrorCodes.InvalidSubnet, why!);
        // default first, so that it is always the buyer's oldest network.
        if (r.Name != DefaultName) await EnsureDefaultAsync(owner);
        return await db.WriteAsync<Outcome<NetworkResponse>>(async (c, tx) =>
        {
            var row = await InsertAsync(c, tx, owner, r.Name, s);
            if (row is null) return new Failure(ErrorCodes.NetworkNameTaken, $"you already have a network named '{r.Name}'; delete it first or choose another name");
            await events.AppendAsync(c, tx, "network-created", null, owner, $"network {row.Name} created: {row.Subnet}, VNI {row.Vni}");
            return ToResponse(row, []);
        }, o => o.Ok);
    }

    /// <summary>Deletes one of the owner's networks; refused while machines are attached (<c>default</c> too; it comes back when next needed).</summary>
    public Task<Failure?> DeleteAsync(string owner, string name) => db.WriteAsync<Failure?>(async (c, tx) =>
    {
        var row = await LockAsync(c, tx, owner, name);
        if (row is null) return NoSuchNetwork(name);
        // A new statement after the lock: under READ COMMITTED it sees an attachment that committed while this waited.
        var machines = (await c.QueryAsync<string>("SELECT name FROM machines WHERE network = @Id ORDER BY name", new { row.Id }, tx)).ToList();
        if (machines.Count > 0)
            return new Failure(ErrorCodes.NetworkInUse, $"network {name} has {(machines.Count == 1 ? "machine" : "machines")} {string.Join(", ", machines)} attached: " +
                "move them to another network (edit --network) or delete them first");
        await c.ExecuteAsync("DELETE FROM networks WHERE id = @Id", new { row.Id }, tx);
        await events.AppendAsync(c, tx, "network-deleted", null, owner, $"network {name} deleted ({row.Subnet})");
        return null;
    }, f => f is null);

    /// <summary>The owner's <c>default</c> network, created if missing (in its own transaction, so that it never holds a caller's up).</summary>
    public Task<NetworkRow> EnsureDefaultAsync(string owner) => db.WriteAsync(async (c, tx) => (await EnsureAsync(c, tx, owner, DefaultName))!);

    /// <summary>
    /// Gives the machine the lowest free address of the owner's network <paramref name="name"/> (null: <c>default</c>, created
    /// if missing), with the network's row locked until the caller's commit. Not found or subnet-full otherwise. The
    /// caller writes the machine's row in the same transaction.
    /// </summary>
    public async Task<Outcome<Attachment>> AllocateAsync(DbConnection c, DbTransaction tx, string owner, string? name)
    {
        var network = name is null or DefaultName ? await EnsureAsync(c, tx, owner, DefaultName) : await LockAsync(c, tx, owner, name);
        if (network is null) return NoSuchNetwork(name!);
        var taken = await c.QueryAsync<string?>("SELECT private_address FROM machines WHERE network = @Id", new { network.Id }, tx);
        var subnet = network.Parsed;
        return subnet.LowestFree(taken) is { } address
            ? new Attachment(network, address)
            : new Failure(ErrorCodes.SubnetFull, $"network {network.Name} ({network.Subnet}) is full: all its {subnet.Capacity} addresses are taken; " +
                "delete a machine of it, move one elsewhere, or use another network");
    }

    /// <summary>
    /// A machine registered before networks existed (network NULL) is attached to its owner's <c>default</c> network now;
    /// race-safe: the write is guarded by "still NULL", and a machine attached meanwhile keeps that attachment.
    /// </summary>
    public async Task AttachUnattachedAsync(Guid machine)
    {
        var owner = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<string>(
            "SELECT owner FROM machines WHERE id = @machine AND (network IS NULL OR private_address IS NULL)", new { machine }));
        if (owner is null) return;
        await db.WriteAsync(async (c, tx) =>
        {
            var got = await AllocateAsync(c, tx, owner, null);
            if (got.Value is not { } a) return 0; // the default network is full: the machine runs without a private NIC
            var n = await c.ExecuteAsync("UPDATE machines SET network = @network, private_address = @address WHERE id = @machine AND (network IS NULL OR private_address IS NULL)",
                new { network = a.Network.Id, address = a.Address, machine }, tx);
            if (n > 0) await events.AppendAsync(c, tx, "network-attached", machine, owner, $"attached to network {a.Network.Name} as {a.Address}");
            return n;
        });
    }

    /// <summary>The machine's network and address, or null when it has none (yet).</summary>
    public static Task<Attachment?> OfAsync(DbConnection c, Guid machine, DbTransaction? tx = null) => OfAsyncCore(c, machine, tx);

    private static async Task<Attachment?> OfAsyncCore(DbConnection c, Guid machine, DbTransaction? tx)
    {
        var row = await c.QuerySingleOrDefaultAsync<NetworkRow>(
            $"SELECT n.id, n.owner, n.name, n.subnet, n.vni, n.created_at FROM machines m JOIN networks n ON n.id = m.network WHERE m.id = @machine", new { machine }, tx);
        if (row is null) return null;
        var address = await c.QuerySingleOrDefaultAsync<string?>("SELECT private_address FROM machines WHERE id = @machine", new { machine }, tx);
        return address is null ? null : new Attachment(row, address);
    }

    /// <summary>The network name and address of each of the owner's machines that has them.</summary>
    public static async Task<IReadOnlyDictionary<Guid, (string Network, string Address)>> OfOwnerAsync(DbConnection c, string owner) =>
        (await c.QueryAsync<(string Machine, string Network, string Address)>(
            "SELECT m.id, n.name, m.private_address FROM machines m JOIN networks n ON n.id = m.network WHERE m.owner = @owner AND m.private_address IS NOT NULL", new { owner }))
        .ToDictionary(r => Guid.Parse(r.Machine), r => (r.Network, r.Address));

    /// <summary>
    /// What a start or resume command tells the agent (issue 16): the network's VNI, the machine's address and prefix, and the
    /// peers (the underlay addresses of the other hosts holding machines of the network); null when the machine has no network.
    /// </summary>
    public async Task<PrivateNetwork?> CommandAsync(Guid machine, string host, Underlay underlay)
    {
        var (attachment, memberships) = await db.ReadAsync<(Attachment?, IReadOnlyList<Membership>)>(async c =>
        {
            var a = await OfAsync(c, machine);
            return a is null ? (null, []) : (a, await MembershipsAsync(c, a.Network.Id));
        });
        if (attachment is null) return null;
        var addresses = await underlay.AddressesAsync();
        var vni = (int)attachment.Network.Vni;
        return new PrivateNetwork(vni, attachment.Address, attachment.Network.Parsed.PrefixLength, NetworkPlan.PeersOf(vni, host, memberships, addresses));
    }

    /// <summary>Where the machines of every network (or of <paramref name="network"/> only) are stored.</summary>
    public static async Task<IReadOnlyList<Membership>> MembershipsAsync(DbConnection c, long? network = null) =>
        (await c.QueryAsync<(long Vni, string Host)>("SELECT DISTINCT n.vni, m.host FROM machines m JOIN networks n ON n.id = m.network " +
            "WHERE m.host IS NOT NULL" + (network is null ? "" : " AND n.id = @network"), new { network }))
        .Select(r => new Membership((int)r.Vni, r.Host)).ToList();

    /// <summary>The owner's network <paramref name="name"/>, its row locked until the commit; null when there is none.</summary>
    internal async Task<NetworkRow?> LockAsync(DbConnection c, DbTransaction tx, string owner, string name) =>
        await c.QuerySingleOrDefaultAsync<NetworkRow>($"SELECT {NetworkRow.Columns} FROM networks WHERE owner = @owner AND name = @name{db.ForUpdate}", new { owner, name }, tx);

    internal static Failure NoSuchNetwork(string name) => new(ErrorCodes.NotFound, $"you have no network named '{name}' (see GET /api/v1/networks)");

    // ---- helpers ----

    /// <summary>The owner's network <paramref name="name"/>, locked; created with the default subnet when missing.</summary>
    private async Task<NetworkRow?> EnsureAsync(DbConnection c, DbTransaction tx, string owner, string name)
    {
        if (await LockAsync(c, tx, owner, name) is { } existing) return existing;
        if (await InsertAsync(c, tx, owner, name, Subnet.Default) is { } created)
        {
            await events.AppendAsync(c, tx, "network-created", null, owner, $"network {created.Name} created: {created.Subnet}, VNI {created.Vni}");
            return created;
        }
        // Another request created it meanwhile: a new statement sees its commit.
        return await LockAsync(c, tx, owner, name);
    }

    /// <summary>
    /// Inserts a network with the next VNI; null when the owner has one of that name already. Another replica taking the
    /// same VNI at the same moment makes the insert do nothing (its row waits for that one's commit, then conflicts): the
    /// next attempt, a new statement, sees it and takes the next VNI.
    /// </summary>
    private async Task<NetworkRow?> InsertAsync(DbConnection c, DbTransaction tx, string owner, string name, Subnet subnet)
    {
        var now = clock.GetUtcNow();
        for (var attempt = 0; attempt < 20; attempt++)
        {
            // "WHERE true": SQLite's parser needs a WHERE before ON CONFLICT after INSERT .. SELECT.
            var n = await c.ExecuteAsync("INSERT INTO networks (owner, name, subnet, vni, created_at) " +
                "SELECT @owner, @name, @subnet, COALESCE(MAX(vni), 0) + 1, @now FROM networks WHERE true ON CONFLICT DO NOTHING",
                new { owner, name, subnet = subnet.ToString(), now }, tx);
            var row = await LockAsync(c, tx, owner, name);
            if (n == 1)
            {
                if (row!.Vni > MaxVni) throw new InvalidOperationException($"no VXLAN network identifier left (the highest is {MaxVni})");
                return row;
            }
            if (row is not null) return null; // the name is taken
        }
        throw new InvalidOperationException($"could not allocate a VNI for network {name} of {owner}: other replicas kept taking them");
    }

    private static NetworkResponse ToResponse(NetworkRow r, IReadOnlyList<string> machines) => new(r.Name, r.Subnet, machines, r.CreatedAt);
}
