namespace Virtuoso.Core.Market;

/// <summary>
/// A <see cref="MismatchReason"/> in the two forms it is shown in (issue 18): the stable code the API, the CLI and a
/// page's <c>title</c> carry, and a sentence a buyer understands, with the figures that make the host unsuitable.
/// </summary>
public static class MismatchText
{
    /// <summary>The stable code: offline, not-enough-speed, not-enough-memory, not-enough-storage, over-storage-bid, over-running-bid.</summary>
    public static string Code(MismatchReason reason) => reason switch
    {
        MismatchReason.Offline => "offline",
        MismatchReason.NotEnoughSpeed => "not-enough-speed",
        MismatchReason.NotEnoughMemory => "not-enough-memory",
        MismatchReason.NotEnoughStorage => "not-enough-storage",
        MismatchReason.OverStorageBid => "over-storage-bid",
        MismatchReason.OverRunningBid => "over-running-bid",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };

    /// <summary>
    /// Why <paramref name="match"/>'s host cannot take a machine of <paramref name="spec"/> at <paramref name="bids"/>, as
    /// one sentence: "Your storage bid ($3/month) is below this host's price ($30/month)." Money exact, with its currency.
    /// </summary>
    public static string Sentence(MismatchReason reason, HostMatch match, MachineSpec spec, Bids bids)
    {
        var free = match.Host.Capacity.Free;
        return reason switch
        {
            MismatchReason.Offline => "This host is offline: its provider's agent has not answered lately.",
            MismatchReason.NotEnoughSpeed =>
                $"This host has {Math.Max(0, free.Speed.Value)} bogomips of processor speed free; the machine needs {spec.Speed.Value}.",
            MismatchReason.NotEnoughMemory =>
                $"This host has {Math.Max(0, free.Memory.Value)} MB of memory free; the machine needs {spec.Memory.Value} MB.",
            MismatchReason.NotEnoughStorage =>
                $"This host has {Math.Max(0, free.Disk.Value)} MB of disk free; the machine needs {spec.Disk.Value} MB.",
            MismatchReason.OverStorageBid =>
                $"Your storage bid ({Dollars(bids.StoragePerMonth)}/month) is below this host's price ({Dollars(match.StorageRatePerMonth)}/month).",
            MismatchReason.OverRunningBid =>
                $"Your running bid ({Dollars(bids.RunningPerHour)}/hour) is below this host's price ({Dollars(match.RunningRatePerHour)}/hour).",
            _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
        };
    }

    private static string Dollars(Money m) => "$" + Money.Format(m.Dollars);
}
