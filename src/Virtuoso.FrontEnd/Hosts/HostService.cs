using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.Core;
using Virtuoso.Core.Hosts;
using Virtuoso.Core.Machines;
using Virtuoso.FrontEnd.Agents;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Http;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Hosts;

/// <summary>
/// A provider's hosts (report §5.2.2–§5.2.3): add (totals locked from then on), edit prices, chunks and
/// periods (never retroactive: stored machines keep the prices they were stored at), delete.
/// </summary>
internal sealed class HostService(Database db, EventLog events, ConnectionTester tester, MachineActions actions, HostJoins joins, TimeProvider clock, IOptions<MarketOptions> options)
{
    public async Task<Outcome<HostResponse>> AddAsync(string owner, AddHostRequest r)
    {
        if (Validate.First(
                Validate.HostName(r.Name), HostAddress.Check(r.Address, options.Value.AllowPrivateHostAddresses), Validate.Port(r.Port),
                Validate.Label("processor", r.Processor), Validate.Label("connect speed", r.ConnectSpeed),
                Validate.Range("speed", r.Speed, 1, Validate.MaxSpeed), Validate.Range("memory", r.Memory, 1, Validate.MaxMemory),
                Validate.Range("storage", r.Storage, 1, Validate.MaxDisk),
                CheckSecret(r.Secret),
                Units(r.SpeedUnit, r.SpeedPrice, r.MemoryUnit, r.MemoryPrice, r.RunningPeriod, r.StorageUnit, r.StoragePrice, r.StoragePeriod),
                r.PublicAddress is null ? null : PortForwarding.CheckPublicAddress(r.PublicAddress)) is { } bad)
            return bad;
        var (ports, badPorts) = r.Ports is null ? (PortRange.Default, null) : PortRange.Parse(r.Ports);
        if (badPorts is not null) return Failure.Validation(badPorts);
        // Without a secret the agent joins (issue 19): until then the host holds a random one nobody knows, and is not checked.
        var secret = r.Secret ?? Accounts.PasswordHasher.NewToken();
        var row = new HostRow
        {
            Name = r.Name, Owner = new(owner), Address = r.Address, Port = r.Port, Processor = r.Processor,
            Speed = r.Speed, SpeedUnit = r.SpeedUnit, SpeedPrice = new Money(r.SpeedPrice),
            Memory = r.Memory, MemoryUnit = r.MemoryUnit, MemoryPrice = new Money(r.MemoryPrice), RunningPeriod = r.RunningPeriod,
            Storage = r.Storage, StorageUnit = r.StorageUnit, StoragePrice = new Money(r.StoragePrice), StoragePeriod = r.StoragePeriod,
            ConnectSpeed = r.ConnectSpeed, Secret = secret, CreatedAt = clock.GetUtcNow(),
            PublicAddress = r.PublicAddress ?? "127.0.0.1", FirstPort = ports!.Value.First, LastPort = ports.Value.Last,
        };
        // Test the agent now so that a fresh host is searchable at once; one that fails the test is simply offline, with the
        // reason recorded for its provider (issue 18).
        var test = r.Secret is null ? null : await tester.TestAsync(row);
        if (test is { Ok: true, Health: { } health })
        {
            row.LastSeen = clock.GetUtcNow();
            row.VmmpPort = health.VmmpPort;
            row.Methods = HostRow.MethodsText(health.Methods);
            row.Bogomips = health.Bogomips;
        }
        else if (test is not null)
            (row.LastFailure, row.LastFailureMessage, row.LastFailureAt) = (test.Answer.Code, test.Answer.Message, clock.GetUtcNow());
        HostJoin? join = null;
        var added = await db.WriteAsync<Outcome<HostRow>>(async (c, tx) =>
        {
            var n = await c.ExecuteAsync("INSERT INTO hosts (name, owner, address, port, processor, speed, speed_unit, speed_price, memory, memory_unit, memory_price, " +
                "running_period, storage, storage_unit, storage_price, storage_period, connect_speed, secret, last_seen, created_at, vmmp_port, methods, " +
                "public_address, first_port, last_port, bogomips, last_failure, last_failure_message, last_failure_at) VALUES (@Name, @Owner, @Address, " +
                "@Port, @Processor, @Speed, @SpeedUnit, @SpeedPrice, @Memory, @MemoryUnit, @MemoryPrice, @RunningPeriod, @Storage, @StorageUnit, @StoragePrice, " +
                "@StoragePeriod, @ConnectSpeed, @Secret, @LastSeen, @CreatedAt, @VmmpPort, @Methods, @PublicAddress, @FirstPort, @LastPort, " +
                "@Bogomips, @LastFailure, @LastFailureMessage, @LastFailureAt) ON CONFLICT (name) DO NOTHING", row, tx);
            if (n == 0) return new Failure(ErrorCodes.HostNameTaken, $"a host named '{r.Name}' already exists");
            if (r.Secret is null)
            {
                join = await joins.IssueAsync(c, tx, r.Name);
                row.JoinExpiresAt = join.ExpiresAt;
            }
            await events.AppendAsync(c, tx, "host-added", null, owner, $"host {r.Name} added at {r.Address}:{r.Port}; forwarded ports {row.Ports} on {row.PublicAddress}" +
                (join is not null ? " (waiting for its agent to join with the install command)" : row.LastSeen is null ? " (agent not reachable yet: offline)" : ""));
            return row;
        }, o => o.Ok);
        if (added.Failure is { } f) return f;
        return row.ToResponse(row.LastSeen is not null, [], r.Secret) with { Join = join };
    }

    /// <summary>
    /// Issue 18: tests the connection to one of the owner's hosts now (<see cref="ConnectionTester"/>). The answer is the
    /// test's, failed or not; only an unknown host, or another provider's, is a failure. A passing test also counts as the
    /// agent being seen, so a host whose secret was just fixed comes online at once.
    /// </summary>
    public async Task<Outcome<HostTestResponse>> TestAsync(string owner, string name, CancellationToken ct = default)
    {
        var host = await db.ReadAsync(c => HostQueries.ByNameAsync(c, name));
        if (host is null || host.Owner != owner) return Failure.NotFound($"host '{name}'");
        var test = await tester.TestAsync(host, ct);
        var answer = test.Answer;
        var now = clock.GetUtcNow();
        if (test.Ok && test.Health is { } health)
            await db.ReadAsync(c => c.ExecuteAsync("UPDATE hosts SET last_seen = @now, vmmp_port = @port, methods = @methods, bogomips = @bogomips, " +
                "last_failure = NULL, last_failure_message = NULL, last_failure_at = NULL WHERE name = @name",
                new { now, port = health.VmmpPort, methods = HostRow.MethodsText(health.Methods), bogomips = health.Bogomips, name }));
        else
            await db.ReadAsync(c => c.ExecuteAsync("UPDATE hosts SET last_failure = @Code, last_failure_message = @Message, last_failure_at = @now WHERE name = @name",
                new { answer.Code, answer.Message, now, name }));
        return answer;
    }

    /// <summary>Issue 18: tests an agent before it is added (the Add host form): its address, port and secret as typed.</summary>
    public async Task<Outcome<HostTestResponse>> TestAgentAsync(TestAgentRequest r, CancellationToken ct = default)
    {
        // The same address rules as adding the host: without them this call probes any address and port the front-end
        // can reach (a scanner of the operator's own network, found by hand before this stop).
        if (Validate.First(HostAddress.Check(r.Address, options.Value.AllowPrivateHostAddresses), Validate.Port(r.Port), CheckSecret(r.Secret)) is { } bad) return bad;
        return (await tester.TestAsync(r.Address, r.Port, r.Secret, ct)).Answer;
    }

    internal static string? CheckSecret(string? secret) =>
        secret is null ? null : secret.Length is >= 16 and <= 256 && secret.All(c => c > ' ' && c < 127) ? null : "secret must be 16–256 printable ASCII characters";

    public async Task<Outcome<HostResponse>> EditAsync(string owner, string name, EditHostRequest r)
    {
        var host = await db.ReadAsync(c => HostQueries.ByNameAsync(c, name));
        if (host is null || host.Owner != owner) return Failure.NotFound($"host '{name}'");
        var p = host.Pricing;
        var speedUnit = r.SpeedUnit ?? p.SpeedUnit; var speedPrice = r.SpeedPrice ?? p.SpeedPrice;
        var memoryUnit = r.MemoryUnit ?? p.MemoryUnit; var memoryPrice = r.MemoryPrice ?? p.MemoryPrice;
        var runningPeriod = r.RunningPeriod ?? p.RunningPeriodSeconds;
        var storageUnit = r.StorageUnit ?? p.StorageUnit; var storagePrice = r.StoragePrice ?? p.StoragePrice; var storagePeriod = r.StoragePeriod ?? p.StoragePeriodDays;
        if (Validate.First(
                r.Address is null ? null : HostAddress.Check(r.Address, options.Value.AllowPrivateHostAddresses), r.Port is { } port ? Validate.Port(port) : null,
                r.ConnectSpeed is null ? null : Validate.Label("connect speed", r.ConnectSpeed),
                Units(speedUnit, speedPrice, memoryUnit, memoryPrice, runningPeriod, storageUnit, storagePrice, storagePeriod),
                r.PublicAddress is null ? null : PortForwarding.CheckPublicAddress(r.PublicAddress), CheckSecret(r.Secret)) is { } bad)
            return bad;
        var (ports, badPorts) = r.Ports is null ? (host.Ports, null) : PortRange.Parse(r.Ports);
        if (badPorts is not null) return Failure.Validation(badPorts);
        await db.WriteAsync(async (c, tx) =>
        {
            await c.ExecuteAsync("UPDATE hosts SET speed_unit=@speedUnit, speed_price=@sp, memory_unit=@memoryUnit, memory_price=@mp, running_period=@runningPeriod, " +
                "storage_unit=@storageUnit, storage_price=@stp, storage_period=@storagePeriod, address=@address, port=@port, connect_speed=@connect, " +
                "public_address=@publicAddress, first_port=@first, last_port=@last, secret=@secret" +
                // a secret typed by hand means the agent was set up by hand: the install command's token is void
                (r.Secret is null ? "" : ", join_token_hash = NULL, join_expires_at = NULL") + " WHERE name=@name",
                new { speedUnit, sp = speedPrice, memoryUnit, mp = memoryPrice, runningPeriod, storageUnit,
                      stp = storagePrice, storagePeriod, address = r.Address ?? host.Address, port = r.Port ?? (int)host.Port,
                      connect = r.ConnectSpeed ?? host.ConnectSpeed, publicAddress = r.PublicAddress ?? host.PublicAddress,
                      first = (long)ports!.Value.First, last = (long)ports.Value.Last, secret = r.Secret ?? host.Secret, name }, tx);
            await events.AppendAsync(c, tx, "host-edited", null, owner, $"host {name} edited; machines already stored keep their prices" +
                (r.Ports is null ? "" : $"; forwarded ports {ports} from the next start (running machines keep theirs until they stop)") +
                (r.Secret is null ? "" : "; its agent secret replaced"));
            return 0;
        });
        return await GetAsync(owner, name);
    }

    public async Task<Outcome<HostResponse>> GetAsync(string owner, string name)
    {
        var hosts = await ListAsync(owner);
        return hosts.FirstOrDefault(h => h.Name == name) is { } h ? h : Failure.NotFound($"host '{name}'");
    }

    public async Task<IReadOnlyList<HostResponse>> ListAsync(string owner)
    {
        var now = clock.GetUtcNow();
        return await db.ReadAsync(async c =>
        {
            var hosts = (await HostQueries.OwnedByAsync(c, owner)).ToList();
            var machines = (await c.QueryAsync<MachineRow>($"SELECT {MachineRow.Columns} FROM machines WHERE host IN (SELECT name FROM hosts WHERE owner = @owner) ORDER BY created_at",
                new { owner })).ToLookup(m => m.Host);
            return (IReadOnlyList<HostResponse>)hosts.Select(h => h.ToResponse(h.IsOnline(now, options.Value.OnlineWindow),
                machines[h.Name].Select(m => new HostMachine(m.Id, m.Name, m.Owner, MachineRow.StateText(m.State), m.Version, m.Speed, m.Memory, m.Disk,
                    m.StoragePrice!.Value.Dollars, m.StoragePeriodDays!.Value, m.RunningPrice!.Value.Dollars, m.RunningPeriodSeconds!.Value,
                    m.CpuMillicores / 1000m, m.State == MachineState.Running && m.HostOfflineSince is null ? m.CpuUsedMillicores / 1000m : null,
                    MachineService.ForfeitOf(m, now, Core.Billing.Departure.Leave))).ToList())).ToList();
        });
    }

    /// <summary>The provider marketplace (§5.2.5, Figure 33): every host, without secrets or machines.</summary>
    public async Task<IReadOnlyList<HostResponse>> MarketAsync()
    {
        var now = clock.GetUtcNow();
        var hosts = await db.ReadAsync(c => HostQueries.AllAsync(c));
        return hosts.Select(h => h.ToResponse(h.IsOnline(now, options.Value.OnlineWindow), null)).ToList();
    }

    /// <summary>
    /// Deleting a host (§6.1.1 deletemachineprovider.pl, documented in docs/operations.md): every machine on it
    /// is stopped, its disk removed from the agent (when the agent answers), and the machine goes back to
    /// <c>registered</c> (version + 1) with its bids, so its owner can search and store it elsewhere; the
    /// owner gets an event. Charges already made are not refunded.
    /// </summary>
    public async Task<Failure?> DeleteAsync(string owner, string name)
    {
        var host = await db.ReadAsync(c => HostQueries.ByNameAsync(c, name));
        if (host is null || host.Owner != owner) return Failure.NotFound($"host '{name}'");
        // A migration to or from the host must end first (design §6.2): its machine is on one of the two hosts until then.
        if (await db.ReadAsync(c => c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM migrations WHERE (origin = @name OR destination = @name) AND phase IN ('open', 'committed')", new { name })) > 0)
            return new Failure(ErrorCodes.MigrationInProgress, $"a migration to or from {name} is in progress; delete the host when it has ended");
        // Issue 13: the host is marked deleting (nothing new is stored on it) and every machine on it is claimed for an
        // eviction in one transaction; each eviction stops and deletes the machine on the agent, then registers it again.
        // A store on its way in ends first and is evicted after. An agent that does not answer does not hold the deletion
        // up (its disks are lost with it); what a crash interrupts, the reconciler ends.
        if (!await actions.EvictAllAsync(name, TimeSpan.FromSeconds(30)))
            return new Failure(ErrorCodes.Busy, $"host {name} is being deleted: some of its machines are still leaving it; the deletion finishes by itself");
        return null;
    }

    private static string? Units(long speedUnit, decimal speedPrice, long memoryUnit, decimal memoryPrice, long runningPeriod,
        long storageUnit, decimal storagePrice, long storagePeriod) =>
        Validate.Range("speed unit", speedUnit, 1, Validate.MaxSpeed) ?? Validate.Price("speed price", speedPrice, Validate.MaxPrice)
        ?? Validate.Range("memory unit", memoryUnit, 1, Validate.MaxMemory) ?? Validate.Price("memory price", memoryPrice, Validate.MaxPrice)
        ?? Validate.Range("running period", runningPeriod, 1, Validate.MaxRunningPeriod)
        ?? Validate.Range("storage unit", storageUnit, 1, Validate.MaxDisk) ?? Validate.Price("storage price", storagePrice, Validate.MaxPrice)
        ?? Validate.Range("storage period", storagePeriod, 1, Validate.MaxStoragePeriod);
}
