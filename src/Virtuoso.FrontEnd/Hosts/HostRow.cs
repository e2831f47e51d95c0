using Virtuoso.Contracts.Api;
using Virtuoso.Core;
using Virtuoso.Core.Market;
using Virtuoso.Core.Accounts;
using Virtuoso.Core.Machines;

namespace Virtuoso.FrontEnd.Hosts;

/// <summary>A row of <c>hosts</c> (the report's pmseller, §6.1.6).</summary>
internal sealed class HostRow
{
    public string Name { get; set; } = "";
    public AccountName Owner { get; set; }
    public string Address { get; set; } = "";
    public long Port { get; set; }
    public string Processor { get; set; } = "";
    public long Speed { get; set; }
    public long SpeedUnit { get; set; }
    public Money SpeedPrice { get; set; }
    public long Memory { get; set; }
    public long MemoryUnit { get; set; }
    public Money MemoryPrice { get; set; }
    public long RunningPeriod { get; set; }
    public long Storage { get; set; }
    public long StorageUnit { get; set; }
    public Money StoragePrice { get; set; }
    public long StoragePeriod { get; set; }
    public string ConnectSpeed { get; set; } = "";
    public string Secret { get; set; } = "";
    public DateTimeOffset? LastSeen { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>The agent's VMMP port, learned from its /v1/health (design §6.1).</summary>
    public long? VmmpPort { get; set; }
    /// <summary>The migration methods the agent advertises, space-separated.</summary>
    public string? Methods { get; set; }
    /// <summary>1 while its provider's delete evicts its machines: nothing new is stored on it, it is not offered.</summary>
    public long Deleting { get; set; }
    /// <summary>Where buyers reach the ports forwarded to its guests (issue 14).</summary>
    public string PublicAddress { get; set; } = "127.0.0.1";
    public long FirstPort { get; set; } = PortRange.Default.First;
    public long LastPort { get; set; } = PortRange.Default.Last;
    /// <summary>Issue 18: the code (<see cref="ConnectionCodes"/>) of the monitor's last failed check since the agent last answered.</summary>
    public string? LastFailure { get; set; }
    public string? LastFailureMessage { get; set; }
    public DateTimeOffset? LastFailureAt { get; set; }
    /// <summary>The bogomips the agent measures, as it last reported.</summary>
    public long? Bogomips { get; set; }
    /// <summary>When the monitor declared it offline and told its provider and buyers; null while it answers.</summary>
    public DateTimeOffset? OutageSince { get; set; }
    /// <summary>Issue 19: until when its join token works, while its agent has not joined (<see cref="HostJoins"/>); null otherwise.</summary>
    public DateTimeOffset? JoinExpiresAt { get; set; }
    /// <summary>Issue 20: the serial (lower-case hex) of its agent's current certificate from the marketplace's authority; null: none
    /// yet. The front-end calls the agent over TLS when it has one and accepts only that very certificate.</summary>
    public string? CertSerial { get; set; }
    /// <summary>Issue 20: when that certificate expires.</summary>
    public DateTimeOffset? CertExpiresAt { get; set; }

    /// <summary>Its TCP ports that may be forwarded to guests.</summary>
    public PortRange Ports => new((int)FirstPort, (int)LastPort);

    /// <summary>The methods as stored: valid VMMP method names only, space-separated; null when none are known.</summary>
    public static string? MethodsText(IReadOnlyList<string>? methods) =>
        methods?.Where(Contracts.Vmmp.VmmpWire.IsMethod).ToList() is { Count: > 0 } valid ? string.Join(' ', valid) : null;

    public IReadOnlyList<string>? MethodList => Methods?.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    // Filled by HostQueries from the machines stored on the host, and those migrating to it (design §6.2: a machine
    // on its way holds room on both hosts until the migration ends, so the destination cannot be filled meanwhile).
    public long ReservedSpeed { get; set; }
    public long ReservedMemory { get; set; }
    public long ReservedStorage { get; set; }

    public HostPricing Pricing => new(SpeedUnit, SpeedPrice.Dollars, MemoryUnit, MemoryPrice.Dollars,
        RunningPeriod, StorageUnit, StoragePrice.Dollars, StoragePeriod);

    public MachineSpec Total => new(new Bogomips(Speed), new Megabytes(Memory), new Megabytes(Storage));
    public MachineSpec Reserved => new(new Bogomips(ReservedSpeed), new Megabytes(ReservedMemory), new Megabytes(ReservedStorage));

    /// <summary>Online when the host monitor reached its agent recently.</summary>
    public bool IsOnline(DateTimeOffset now, TimeSpan window) => LastSeen is { } t && now - t <= window;

    public HostOffer Offer(DateTimeOffset now, TimeSpan window) => new(Name, IsOnline(now, window), new HostCapacity(Total, Reserved), Pricing);

    public HostResponse ToResponse(bool online, IReadOnlyList<HostMachine>? machines, string? secret = null) => new(
        Name, Owner, Address, (int)Port, Processor,
        Speed, SpeedUnit, SpeedPrice.Dollars,
        Memory, MemoryUnit, MemoryPrice.Dollars,
        RunningPeriod, Storage, StorageUnit, StoragePrice.Dollars, StoragePeriod,
        ConnectSpeed, online, ReservedSpeed, ReservedMemory, ReservedStorage, machines, secret, (int?)VmmpPort, MethodList,
        PublicAddress, Ports.ToString(), LastSeen,
        // A failure's sentence names the agent's address and what is wrong with it: for its owner's eyes only (machines are listed only for them).
        machines is null ? null : LastFailure, machines is null ? null : LastFailureMessage, machines is null ? null : LastFailureAt, Bogomips,
        machines is null ? null : JoinExpiresAt);

    private const string OwnColumns = "h.name, h.owner, h.address, h.port, h.processor, h.speed, h.speed_unit, h.speed_price, h.memory, h.memory_unit, " +
        "h.memory_price, h.running_period, h.storage, h.storage_unit, h.storage_price, h.storage_period, h.connect_speed, h.secret, h.last_seen, h.created_at, h.vmmp_port, h.methods, h.deleting, " +
        "h.public_address, h.first_port, h.last_port, h.last_failure, h.last_failure_message, h.last_failure_at, h.bogomips, h.outage_since, h.join_expires_at, h.cert_serial, h.cert_expires_at";

    /// <summary>The columns of one host or a few (<c>FROM hosts h</c>, lockable with FOR UPDATE): the room taken counted per host.</summary>
    public static readonly string Columns = OwnColumns + ", " + ReservedSum("speed") + ", " + ReservedSum("memory") + ", " + ReservedSum("disk", "storage");

    /// <summary>
    /// Every host at once (issue 19, bench/scale.sh): the columns and the FROM clause, with the room taken summed in one pass
    /// over the machines, grouped by host, instead of nine subqueries per host (about 3× less time at 1,000 hosts). The
    /// same three sources as <see cref="Columns"/>. Not lockable (FOR UPDATE does not go with GROUP BY).
    /// </summary>
    public static readonly string AllColumnsFrom = OwnColumns + ", COALESCE(r.speed, 0) AS reserved_speed, COALESCE(r.memory, 0) AS reserved_memory, " +
        "COALESCE(r.disk, 0) AS reserved_storage FROM hosts h LEFT JOIN (SELECT host, SUM(speed) AS speed, SUM(memory) AS memory, SUM(disk) AS disk FROM (" +
        "SELECT m.host AS host, m.speed, m.memory, m.disk FROM machines m WHERE m.host IS NOT NULL " +
        "UNION ALL SELECT g.destination, m.speed, m.memory, m.disk FROM migrations g JOIN machines m ON m.id = g.machine WHERE g.phase = 'open' " +
        "UNION ALL SELECT i.host, m.speed, m.memory, m.disk FROM machine_intents i JOIN machines m ON m.id = i.machine WHERE i.action = 'store' AND m.host IS NULL" +
        ") u GROUP BY host) r ON r.host = h.name";

    private static string ReservedSum(string column, string? name = null) =>
        $"COALESCE((SELECT SUM(m.{column}) FROM machines m WHERE m.host = h.name), 0) + " +
        $"COALESCE((SELECT SUM(m.{column}) FROM migrations g JOIN machines m ON m.id = g.machine WHERE g.destination = h.name AND g.phase = 'open'), 0) + " +
        // a store under way holds its room from the claim (issue 13), so two stores cannot both take the last of it
        $"COALESCE((SELECT SUM(m.{column}) FROM machine_intents i JOIN machines m ON m.id = i.machine WHERE i.host = h.name AND i.action = 'store' AND m.host IS NULL), 0) " +
        $"AS reserved_{name ?? column}";
}
