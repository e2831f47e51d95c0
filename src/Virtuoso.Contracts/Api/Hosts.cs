namespace Virtuoso.Contracts.Api;

/// <summary>
/// POST /api/v1/hosts: a provider adds a host (report §5.2.2, Figure 27). Speed, memory and storage totals
/// are locked afterwards. Prices: speed and memory dollars per second per chunk, storage dollars per day per
/// chunk. <paramref name="Secret"/> is the agent's control secret; when omitted the front-end makes one and
/// returns it once.
/// </summary>
/// <param name="PublicAddress">Where buyers reach the ports forwarded to guests (IPv4 address or DNS name); default 127.0.0.1.</param>
/// <param name="Ports">The host's TCP ports forwarded to guests, "FIRST-LAST" within 1024–65535; default 40000-40999.</param>
public sealed record AddHostRequest(
    string Name, string Address, int Port, string Processor,
    long Speed, long SpeedUnit, decimal SpeedPrice,
    long Memory, long MemoryUnit, decimal MemoryPrice,
    long RunningPeriod,
    long Storage, long StorageUnit, decimal StoragePrice, long StoragePeriod,
    string ConnectSpeed, string? Secret, string? PublicAddress = null, string? Ports = null);

/// <summary>
/// PATCH /api/v1/hosts/{name}: the fields that stay editable (units, prices, periods, addresses, forwarded ports). A new
/// port range applies to the starts that follow; machines running keep the ports they hold until they stop.
/// </summary>
public sealed record EditHostRequest(
    long? SpeedUnit, decimal? SpeedPrice, long? MemoryUnit, decimal? MemoryPrice, long? RunningPeriod,
    long? StorageUnit, decimal? StoragePrice, long? StoragePeriod, string? Address, int? Port, string? ConnectSpeed,
    string? PublicAddress = null, string? Ports = null);

/// <summary>A host with its prices, capacity and (for its owner) the machines on it.</summary>
/// <param name="VmmpPort">The TCP port of its agent's VMMP server (design §6.1), as the agent last reported; null if unknown.</param>
/// <param name="Methods">The migration methods its agent advertises, as last reported; null if unknown.</param>
/// <param name="PublicAddress">Where buyers reach the ports forwarded to its guests.</param>
/// <param name="Ports">Its TCP ports forwarded to guests, "FIRST-LAST".</param>
public sealed record HostResponse(
    string Name, string Owner, string Address, int Port, string Processor,
    long Speed, long SpeedUnit, decimal SpeedPrice,
    long Memory, long MemoryUnit, decimal MemoryPrice,
    long RunningPeriod,
    long Storage, long StorageUnit, decimal StoragePrice, long StoragePeriod,
    string ConnectSpeed, bool Online,
    long ReservedSpeed, long ReservedMemory, long ReservedStorage,
    IReadOnlyList<HostMachine>? Machines, string? Secret, int? VmmpPort = null, IReadOnlyList<string>? Methods = null,
    string PublicAddress = "127.0.0.1", string Ports = "40000-40999");

/// <summary>A machine stored on a host, as the host's owner sees it; <paramref name="CpuShare"/> and <paramref name="CpuUsed"/>
/// in cores as on <see cref="MachineResponse"/> (issue 17).</summary>
/// <param name="Forfeit">Issue 18: what its owner gives up if the host is deleted now (the eviction first charges the
/// periods begun; nothing already charged is refunded, the provider keeps it).</param>
public sealed record HostMachine(Guid Id, string Name, string Owner, string State, long Version, long Speed, long Memory, long Disk,
    decimal StoragePrice, long StoragePeriodDays, decimal RunningPrice, long RunningPeriodSeconds,
    decimal? CpuShare = null, decimal? CpuUsed = null, ForfeitResponse? Forfeit = null);
