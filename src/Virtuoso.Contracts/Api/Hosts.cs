namespace Virtuoso.Contracts.Api;

/// <summary>
/// POST /api/v1/hosts: a provider adds a host (report §5.2.2, Figure 27). Speed, memory and storage totals
/// are locked afterwards. Prices: speed and memory dollars per second per chunk, storage dollars per day per
/// chunk. <paramref name="Secret"/> is the agent's control secret; when omitted the front-end makes one and
/// returns it once.
/// </summary>
public sealed record AddHostRequest(
    string Name, string Address, int Port, string Processor,
    long Speed, long SpeedUnit, decimal SpeedPrice,
    long Memory, long MemoryUnit, decimal MemoryPrice,
    long RunningPeriod,
    long Storage, long StorageUnit, decimal StoragePrice, long StoragePeriod,
    string ConnectSpeed, string? Secret);

/// <summary>PATCH /api/v1/hosts/{name}: the fields that stay editable (units, prices, periods, address).</summary>
public sealed record EditHostRequest(
    long? SpeedUnit, decimal? SpeedPrice, long? MemoryUnit, decimal? MemoryPrice, long? RunningPeriod,
    long? StorageUnit, decimal? StoragePrice, long? StoragePeriod, string? Address, int? Port, string? ConnectSpeed);

/// <summary>A host with its prices, capacity and (for its owner) the machines on it.</summary>
/// <param name="VmmpPort">The TCP port of its agent's VMMP server (design §6.1), as the agent last reported; null if unknown.</param>
/// <param name="Methods">The migration methods its agent advertises, as last reported; null if unknown.</param>
public sealed record HostResponse(
    string Name, string Owner, string Address, int Port, string Processor,
    long Speed, long SpeedUnit, decimal SpeedPrice,
    long Memory, long MemoryUnit, decimal MemoryPrice,
    long RunningPeriod,
    long Storage, long StorageUnit, decimal StoragePrice, long StoragePeriod,
    string ConnectSpeed, bool Online,
    long ReservedSpeed, long ReservedMemory, long ReservedStorage,
    IReadOnlyList<HostMachine>? Machines, string? Secret, int? VmmpPort = null, IReadOnlyList<string>? Methods = null);

/// <summary>A machine stored on a host, as the host's owner sees it.</summary>
public sealed record HostMachine(Guid Id, string Name, string Owner, string State, long Version, long Speed, long Memory, long Disk,
    decimal StoragePrice, long StoragePeriodDays, decimal RunningPrice, long RunningPeriodSeconds);
