namespace Virtuoso.Core.Market;

/// <summary>Capacity of a host: totals locked at add time, and what stored machines reserve (running or not).</summary>
public sealed record HostCapacity(MachineSpec Total, MachineSpec Reserved)
{
    public MachineSpec Free => new(
        new Bogomips(Total.Speed.Value - Reserved.Speed.Value),
        new Megabytes(Total.Memory.Value - Reserved.Memory.Value),
        new Megabytes(Total.Disk.Value - Reserved.Disk.Value));

    public HostCapacity Reserve(MachineSpec m) => this with { Reserved = Add(Reserved, m, +1) };
    public HostCapacity Release(MachineSpec m) => this with { Reserved = Add(Reserved, m, -1) };

    private static MachineSpec Add(MachineSpec a, MachineSpec b, int sign) => new(
        new Bogomips(a.Speed.Value + sign * b.Speed.Value),
        new Megabytes(a.Memory.Value + sign * b.Memory.Value),
        new Megabytes(a.Disk.Value + sign * b.Disk.Value));
}

/// <summary>A host as the market sees it when matching.</summary>
public sealed record HostOffer(string Name, bool Online, HostCapacity Capacity, HostPricing Pricing);

/// <summary>What a buyer is willing to pay: storage dollars per month, running dollars per hour.</summary>
public sealed record Bids(Money StoragePerMonth, Money RunningPerHour);

/// <summary>Why a host cannot take a machine.</summary>
public enum MismatchReason
{
    Offline,
    NotEnoughSpeed,
    NotEnoughMemory,
    NotEnoughStorage,
    OverStorageBid,
    OverRunningBid,
}

/// <summary>The verdict on one host: its rates for the machine and, if it does not match, every reason.</summary>
public sealed record HostMatch(HostOffer Host, Money StorageRatePerMonth, Money RunningRatePerHour,
    Money StorageCharge, Money RunningCharge, IReadOnlyList<MismatchReason> Reasons)
{
    public bool Matches => Reasons.Count == 0;
}

/// <summary>Matching of machines to hosts (report §5.1.3 and footnote 15; design §3.2).</summary>
public static class Matching
{
    /// <summary>Reasons a host can't hold the machine at all, bids aside: offline or short of room.</summary>
    public static List<MismatchReason> RoomReasons(HostOffer host, MachineSpec spec)
    {
        var reasons = new List<MismatchReason>();
        if (!host.Online) reasons.Add(MismatchReason.Offline);
        var free = host.Capacity.Free;
        if (free.Speed.Value < spec.Speed.Value) reasons.Add(MismatchReason.NotEnoughSpeed);
        if (free.Memory.Value < spec.Memory.Value) reasons.Add(MismatchReason.NotEnoughMemory);
        if (free.Disk.Value < spec.Disk.Value) reasons.Add(MismatchReason.NotEnoughStorage);
        return reasons;
    }

    /// <summary>Judges one host for a registered machine with bids.</summary>
    public static HostMatch Judge(HostOffer host, MachineSpec spec, Bids bids)
    {
        var reasons = RoomReasons(host, spec);
        var storageRate = host.Pricing.StorageRatePerMonth(spec);
        var runningRate = host.Pricing.RunningRatePerHour(spec);
        if (storageRate > bids.StoragePerMonth) reasons.Add(MismatchReason.OverStorageBid);
        if (runningRate > bids.RunningPerHour) reasons.Add(MismatchReason.OverRunningBid);
        return new HostMatch(host, storageRate, runningRate, host.Pricing.StorageCharge(spec), host.Pricing.RunningCharge(spec), reasons);
    }

    /// <summary>
    /// Every host judged: matching hosts first, cheapest first for a machine that runs <paramref name="hoursPerMonth"/>
    /// hours a month (<see cref="UsageCost.Monthly"/>; ties by storage rate, then running rate, then name), then the
    /// others with their reasons in the same order.
    /// </summary>
    public static IReadOnlyList<HostMatch> Search(IEnumerable<HostOffer> hosts, MachineSpec spec, Bids bids, decimal hoursPerMonth) =>
        Order(hosts.Select(h => Judge(h, spec, bids)), hoursPerMonth).ToList();

    /// <summary>Search's order (a stable sort: hosts equal in every key keep their order); <see cref="HostRanking"/> uses it too.</summary>
    internal static IOrderedEnumerable<HostMatch> Order(IEnumerable<HostMatch> matches, decimal hoursPerMonth) =>
        matches.OrderBy(m => m.Matches ? 0 : 1)
            .ThenBy(m => UsageCost.Monthly(m.StorageRatePerMonth, m.RunningRatePerHour, hoursPerMonth).Dollars)
            .ThenBy(m => m.StorageRatePerMonth.Dollars)
            .ThenBy(m => m.RunningRatePerHour.Dollars)
            .ThenBy(m => m.Host.Name, StringComparer.Ordinal);

    /// <summary>
    /// Market estimate of a configuration (§6.1.9): the mean storage and running rates over hosts with room;
    /// null when no host has room (the caller keeps the stale price).
    /// </summary>
    public static (Money StoragePerMonth, Money RunningPerHour)? Estimate(IEnumerable<HostOffer> hosts, MachineSpec spec)
    {
        var withRoom = hosts.Where(h => RoomReasons(h, spec).Count == 0).ToList();
        if (withRoom.Count == 0) return null;
        return (new Money(withRoom.Average(h => h.Pricing.StorageRatePerMonth(spec).Dollars)),
                new Money(withRoom.Average(h => h.Pricing.RunningRatePerHour(spec).Dollars)));
    }
}
