using System.Data.Common;
using Dapper;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Accounts;
using Virtuoso.Core.Machines;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Http;

namespace Virtuoso.FrontEnd.Machines;

/// <summary>How a machine is reached from outside (issue 14): the forwards it holds, its host's public address, and the ports its owner asked for.</summary>
internal sealed record MachineReach(string? PublicAddress, IReadOnlyList<Forward> Forwards, IReadOnlyList<int> ExtraPorts)
{
    public static readonly MachineReach None = new(null, [], []);
}

/// <summary>
/// Forwarded ports (issue 14 item 3, design §10). A start or resume allocates, in the transaction that claims it
/// (<see cref="MachineWriter.ClaimAsync"/>), a port of the host's range for the guest's SSH port and for each extra
/// guest port the owner asked for (<see cref="PortForwarding.Allocate"/>); the agent gets them in its command and has
/// QEMU forward them. The machine holds them while it runs: <see cref="MachineWriter"/> gives them back when it stops,
/// suspends, is found powered off or stopped after an outage, is evicted or deleted, and when a start or resume does not
/// happen. Allocations on one host are serialized by the host's row lock; the primary key (host, host port) is the guarantee
/// that no two machines share a port.
/// </summary>
internal sealed class PortForwards(Database db, EventLog events)
{
    /// <summary>
    /// Gives <paramref name="machine"/> its forwards on <paramref name="hostName"/>, inside the caller's claim transaction:
    /// all of them, or a <see cref="ErrorCodes.NoPorts"/> refusal (the caller rolls back: nothing changes).
    /// </summary>
    /// <paramref name="avoid"/>: ports the host's agent found held by another program at an earlier attempt (<see cref="ErrorCodes.PortBusy"/>).
    public async Task<Failure?> AllocateAsync(DbConnection c, DbTransaction tx, MachineId machine, string hostName, IReadOnlySet<int>? avoid = null)
    {
        // Lock the host's row, then read it in a new statement (PostgreSQL's READ COMMITTED: see HostService.DeleteAsync).
        await c.ExecuteAsync("SELECT name FROM hosts WHERE name = @hostName" + db.ForUpdate, new { hostName }, tx);
        var host = await c.QuerySingleOrDefaultAsync<RangeRow>("SELECT first_port, last_port FROM hosts WHERE name = @hostName", new { hostName }, tx);
        if (host is null) return Failure.NotFound($"host '{hostName}'");
        var range = new PortRange((int)host.FirstPort, (int)host.LastPort);
        await ReleaseAsync(c, tx, machine); // a leftover of its own (none is expected) is given anew
        var taken = (await c.QueryAsync<long>("SELECT host_port FROM port_forwards WHERE host = @hostName", new { hostName }, tx)).Select(p => (int)p).ToHashSet();
        taken.UnionWith(avoid ?? new HashSet<int>());
        var guestPorts = PortForwarding.GuestPorts(await ExtraPortsAsync(c, tx, machine));
        var (forwards, refusal) = PortForwarding.Allocate(range, taken, guestPorts);
        if (refusal is not null)
            return new Failure(ErrorCodes.NoPorts,
                $"host {hostName} has no free port to forward to this machine: it needs {guestPorts.Count} (SSH" +
                (guestPorts.Count > 1 ? $" and guest ports {string.Join(", ", guestPorts.Skip(1))}" : "") +
                $") and {PortForwarding.Free(range, taken)} of the host's range {range} are free; try again when another machine stops, or store it on another host");
        foreach (var f in forwards)
            await c.ExecuteAsync("INSERT INTO port_forwards (host, host_port, machine, guest_port) VALUES (@hostName, @HostPort, @machine, @GuestPort)",
                new { hostName, HostPort = (long)f.HostPort, machine, GuestPort = (long)f.GuestPort }, tx);
        return null;
    }

    /// <summary>The machine no longer runs: its host ports are free for others.</summary>
    public static Task ReleaseAsync(DbConnection c, DbTransaction tx, MachineId machine) =>
        c.ExecuteAsync("DELETE FROM port_forwards WHERE machine = @machine", new { machine }, tx);

    /// <summary>The forwards the agent is to set up for the machine (its start or resume command).</summary>
    public static async Task<IReadOnlyList<PortForward>> OfAsync(DbConnection c, MachineId machine) =>
        (await c.QueryAsync<ForwardRow>("SELECT machine, host_port, guest_port FROM port_forwards WHERE machine = @machine ORDER BY guest_port",
            new { machine })).Select(f => new PortForward((int)f.HostPort, (int)f.GuestPort)).ToList();

    private static async Task<IReadOnlyList<int>> ExtraPortsAsync(DbConnection c, DbTransaction? tx, MachineId machine) =>
        (await c.QueryAsync<long>("SELECT guest_port FROM machine_ports WHERE machine = @machine ORDER BY guest_port", new { machine }, tx)).Select(p => (int)p).ToList();

    /// <summary>How the machine is reached (<see cref="MachineRow.ToResponse"/>).</summary>
    public async Task<MachineReach> ReachAsync(MachineId machine) =>
        (await ReachAsync("f.machine = @machine", "machine = @machine", new { machine })).GetValueOrDefault(machine) ?? MachineReach.None;

    /// <summary>How each of the owner's machines is reached.</summary>
    public Task<IReadOnlyDictionary<MachineId, MachineReach>> ReachOfOwnerAsync(AccountName owner) =>
        ReachAsync("f.machine IN (SELECT id FROM machines WHERE owner = @owner)", "machine IN (SELECT id FROM machines WHERE owner = @owner)", new { owner });

    private Task<IReadOnlyDictionary<MachineId, MachineReach>> ReachAsync(string forwardsWhere, string portsWhere, object args) => db.ReadAsync(async c =>
    {
        var forwards = (await c.QueryAsync<ForwardRow>(
            $"SELECT f.machine, f.host_port, f.guest_port, h.public_address AS address FROM port_forwards f JOIN hosts h ON h.name = f.host WHERE {forwardsWhere} ORDER BY f.guest_port", args))
            .ToLookup(f => f.Machine);
        var extra = (await c.QueryAsync<ForwardRow>($"SELECT machine, guest_port FROM machine_ports WHERE {portsWhere} ORDER BY guest_port", args))
            .ToLookup(p => p.Machine);
        return (IReadOnlyDictionary<MachineId, MachineReach>)forwards.Select(g => g.Key).Union(extra.Select(g => g.Key)).ToDictionary(m => m, m => new MachineReach(
            forwards[m].Select(f => f.Address).FirstOrDefault(),
            forwards[m].Select(f => new Forward((int)f.HostPort, (int)f.GuestPort)).ToList(),
            extra[m].Select(p => (int)p.GuestPort).ToList()));
    });

    /// <summary>A row of <c>port_forwards</c> (or of <c>machine_ports</c>: no host port), with the host's public address when joined.</summary>
    private sealed class ForwardRow
    {
        public MachineId Machine { get; set; }
        public long HostPort { get; set; }
        public long GuestPort { get; set; }
        public string? Address { get; set; }
    }

    private sealed class RangeRow
    {
        public long FirstPort { get; set; }
        public long LastPort { get; set; }
    }

    /// <summary>
    /// The owner asks for <paramref name="port"/> of the guest to be forwarded too, from the machine's next start or resume
    /// (any state; a running machine keeps its forwards until then). At most <see cref="PortForwarding.MaxExtra"/>; asking
    /// again for one already asked changes nothing.
    /// </summary>
    public async Task<Failure?> AddAsync(MachineRow row, int port)
    {
        if (PortForwarding.CheckGuestPort(port) is { } bad) return Failure.Validation(bad);
        return await db.WriteAsync(async (c, tx) =>
        {
            // The machine's row lock orders two requests of its owner, so the cap holds without a check-then-insert race.
            if (await c.QuerySingleOrDefaultAsync<string>($"SELECT id FROM machines WHERE id = @Id{db.ForUpdate}", new { row.Id }, tx) is null)
                return Failure.MachineNotFound;
            var (tooMany, error) = PortForwarding.CheckAdd(await ExtraPortsAsync(c, tx, row.Id), port);
            if (error is not null) return new Failure(tooMany ? ErrorCodes.TooManyPorts : ErrorCodes.Validation, error);
            if (await c.ExecuteAsync("INSERT INTO machine_ports (machine, guest_port) VALUES (@Id, @port) ON CONFLICT DO NOTHING", new { row.Id, port = (long)port }, tx) > 0)
                await events.AppendAsync(c, tx, "port-added", row.Id, row.Owner, $"guest port {port} is forwarded from the next start or resume");
            return (Failure?)null;
        }, f => f is null);
    }

    /// <summary>The owner no longer wants <paramref name="port"/> forwarded, from the next start or resume.</summary>
    public Task<Failure?> RemoveAsync(MachineRow row, int port) => db.WriteAsync(async (c, tx) =>
    {
        if (await c.ExecuteAsync("DELETE FROM machine_ports WHERE machine = @Id AND guest_port = @port", new { row.Id, port = (long)port }, tx) == 0)
            return port == PortForwarding.Ssh
                ? Failure.Validation($"guest port {PortForwarding.Ssh} is always forwarded (for SSH)")
                : Failure.NotFound($"forwarded guest port {port}");
        await events.AppendAsync(c, tx, "port-removed", row.Id, row.Owner, $"guest port {port} is no longer forwarded from the next start or resume");
        return (Failure?)null;
    }, f => f is null);
}
