namespace Virtuoso.Core.Market;

/// <summary>
/// How a host sells its resources (report §5.2.2, §6.1.6 table pmseller; design §3.1): whole chunks of
/// speed and memory at dollars per second per chunk, charged every <see cref="RunningPeriodSeconds"/>;
/// whole chunks of storage at dollars per day per chunk, charged every <see cref="StoragePeriodDays"/>.
/// </summary>
public sealed record HostPricing(
    long SpeedUnit, decimal SpeedPrice,
    long MemoryUnit, decimal MemoryPrice,
    long RunningPeriodSeconds,
    long StorageUnit, decimal StoragePrice,
    long StoragePeriodDays)
{
    public const int SecondsPerHour = 3600;
    public const int DaysPerMonth = 30;

    /// <summary>Charge for one running period: (ceil(s/speedUnit)·speedPrice + ceil(m/memUnit)·memPrice)·period.</summary>
    public Money RunningCharge(MachineSpec spec) =>
        new((Chunks(spec.Speed.Value, SpeedUnit) * SpeedPrice + Chunks(spec.Memory.Value, MemoryUnit) * MemoryPrice) * RunningPeriodSeconds);

    /// <summary>Charge for one storage period: ceil(d/storageUnit)·storagePrice·period.</summary>
    public Money StorageCharge(MachineSpec spec) =>
        new(Chunks(spec.Disk.Value, StorageUnit) * StoragePrice * StoragePeriodDays);

    /// <summary>The running charge scaled to dollars per hour, the unit buyers bid in.</summary>
    public Money RunningRatePerHour(MachineSpec spec) =>
        new(RunningCharge(spec).Dollars * SecondsPerHour / RunningPeriodSeconds);

    /// <summary>The storage charge scaled to dollars per month (30 days), the unit buyers bid in.</summary>
    public Money StorageRatePerMonth(MachineSpec spec) =>
        new(StorageCharge(spec).Dollars * DaysPerMonth / StoragePeriodDays);

    /// <summary>Whole chunks needed to cover <paramref name="amount"/>: a host sells only whole chunks.</summary>
    public static long Chunks(long amount, long unit) => (amount + unit - 1) / unit;
}
