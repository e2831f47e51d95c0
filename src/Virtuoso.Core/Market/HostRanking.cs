namespace Virtuoso.Core.Market;

/// <summary>
/// Search over a large marketplace (issue 19, docs/benchmarks.md): the hosts read once, with what matching needs of each
/// (room left, prices per chunk) in one compact array, so that a search finds its best few without judging every host in
/// <see cref="decimal"/>. <see cref="Best"/> answers exactly the first hosts of <see cref="Matching.Search"/>: the same
/// hosts, in the same order, with the same figures. A first pass in <see cref="double"/> bounds each host's monthly cost
/// and keeps the <c>limit</c> smallest bounds in a heap; every host whose lowest possible cost is above them cannot be
/// among the best, and only the others are judged exactly and sorted by Search's own order. Immutable: built once per
/// snapshot of the hosts and shared by the searches that read it.
/// </summary>
public sealed class HostRanking
{
    // A double carries about 16 significant digits and the first pass makes a few operations on it; decimal rounds at
    // 28. A billionth of the figures' size is far more than both errors can add up to, so a figure ± Slack·its size
    // always holds the exact one. The price of a wide margin is only a few more exact judgements of near-ties.
    private const double Slack = 1e-9;

    private readonly HostOffer[] _hosts;
    private readonly Row[] _rows;

    /// <summary>What the first pass reads of a host: online, its room left, and its units and prices per chunk.</summary>
    private readonly record struct Row(bool Online, long FreeSpeed, long FreeMemory, long FreeDisk,
        long SpeedUnit, double SpeedPrice, long MemoryUnit, double MemoryPrice, long StorageUnit, double StoragePrice);

    public HostRanking(IEnumerable<HostOffer> hosts)
    {
        _hosts = hosts.ToArray();
        _rows = Array.ConvertAll(_hosts, h =>
        {
            var free = h.Capacity.Free;
            var p = h.Pricing;
            return new Row(h.Online, free.Speed.Value, free.Memory.Value, free.Disk.Value,
                p.SpeedUnit, (double)p.SpeedPrice, p.MemoryUnit, (double)p.MemoryPrice, p.StorageUnit, (double)p.StoragePrice);
        });
    }

    /// <summary>How many hosts a search ranks.</summary>
    public int Count => _hosts.Length;

    /// <summary>The first <paramref name="limit"/> hosts of <see cref="Matching.Search"/> for the same hosts and arguments.</summary>
    public IReadOnlyList<HostMatch> Best(MachineSpec spec, Bids bids, decimal hoursPerMonth, int limit)
    {
        if (limit <= 0) return [];
        var (storageBid, runningBid, hours) = ((double)bids.StoragePerMonth.Dollars, (double)bids.RunningPerHour.Dollars, (double)hoursPerMonth);
        // The limit smallest upper bounds of (group, cost) seen so far; the root is the largest of them.
        var bounds = new PriorityQueue<int, (int Group, double Cost)>(limit + 1, Largest);
        for (var i = 0; i < _rows.Length; i++)
        {
            var (group, cost, slack) = Approximate(i, spec, bids, storageBid, runningBid, hours);
            if (bounds.Count < limit) bounds.Enqueue(i, (group, cost + slack));
            else bounds.EnqueueDequeue(i, (group, cost + slack)); // keeps the smaller: returns the new one at once when it is larger
        }
        // At least limit hosts cost at most the largest kept bound, so the best limit do too: a host whose lowest possible
        // cost is above it is not among them. With fewer hosts than limit, every host is.
        var candidates = new List<HostMatch>();
        var top = (Group: int.MaxValue, Cost: double.PositiveInfinity);
        var full = bounds.Count == limit && bounds.TryPeek(out _, out top);
        for (var i = 0; i < _rows.Length; i++)
        {
            if (full)
            {
                var (group, cost, slack) = Approximate(i, spec, bids, storageBid, runningBid, hours);
                if (Largest.Compare((group, cost - slack), top) < 0) continue; // its lowest (group, cost) is above the bound
            }
            candidates.Add(Matching.Judge(_hosts[i], spec, bids));
        }
        return Matching.Order(candidates, hoursPerMonth).Take(limit).ToList();
    }

    /// <summary>
    /// Host <paramref name="i"/>'s Search keys, approximately: its group (0 matches, 1 does not: exact) and its monthly cost
    /// for <paramref name="hours"/> within ± slack of the exact one. The bids and hours come as doubles too.
    /// </summary>
    private (int Group, double Cost, double Slack) Approximate(int i, MachineSpec spec, Bids bids, double storageBid, double runningBid, double hours)
    {
        ref readonly var r = ref _rows[i];
        // HostPricing's rates with the periods cancelled out: per month chunks·price·30, per hour chunks·price·3600.
        var storage = HostPricing.Chunks(spec.Disk.Value, r.StorageUnit) * r.StoragePrice * HostPricing.DaysPerMonth;
        var running = (HostPricing.Chunks(spec.Speed.Value, r.SpeedUnit) * r.SpeedPrice
            + HostPricing.Chunks(spec.Memory.Value, r.MemoryUnit) * r.MemoryPrice) * HostPricing.SecondsPerHour;
        var room = r.Online && r.FreeSpeed >= spec.Speed.Value && r.FreeMemory >= spec.Memory.Value && r.FreeDisk >= spec.Disk.Value;
        var group =
            !room || Over(storage, storageBid) || Over(running, runningBid) ? 1
            : Under(storage, storageBid) && Under(running, runningBid) ? 0
            : Matching.Judge(_hosts[i], spec, bids).Matches ? 0 : 1; // a rate within a hair of its bid: decided exactly
        return (group, storage + running * hours, Slack * (Math.Abs(storage) + Math.Abs(running) * Math.Abs(hours)));
    }

    private static bool Over(double rate, double bid) => rate - bid > Slack * (Math.Abs(rate) + Math.Abs(bid));
    private static bool Under(double rate, double bid) => bid - rate > Slack * (Math.Abs(rate) + Math.Abs(bid));

    private static readonly Comparer<(int Group, double Cost)> Largest = Comparer<(int Group, double Cost)>.Create((a, b) => b.CompareTo(a));
}
