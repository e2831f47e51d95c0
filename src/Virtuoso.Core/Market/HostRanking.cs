using System.Buffers;

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
        var keys = ArrayPool<Key>.Shared.Rent(_rows.Length);
        try
        {
            var matching = 0;
            for (var i = 0; i < _rows.Length; i++)
            {
                keys[i] = Approximate(i, spec, bids, storageBid, runningBid, hours);
                if (keys[i].Matches) matching++;
            }
            // Matching hosts come first: the limit-th best is a matching host when there are enough of them, else it is
            // the (limit - matching)-th best of the others. At least that many hosts of its group cost at most the
            // largest of their upper bounds, so the best limit do too: a host of that group whose lowest possible cost is
            // above it is not among them, nor is any host of a later group.
            var amongMatching = matching >= limit;
            var within = amongMatching ? limit : limit - matching;
            var bounds = new PriorityQueue<int, double>(within + 1); // the smallest upper bounds; the root is the largest (negated)
            for (var i = 0; i < _rows.Length; i++)
            {
                if (keys[i].Matches != amongMatching) continue;
                if (bounds.Count < within) bounds.Enqueue(i, -keys[i].High);
                else bounds.EnqueueDequeue(i, -keys[i].High); // returns the new one at once when it is not smaller
            }
            var bound = bounds.Count == within && bounds.TryPeek(out _, out var top) ? -top : double.PositiveInfinity;
            var candidates = new List<HostMatch>();
            for (var i = 0; i < _rows.Length; i++)
                if (amongMatching ? keys[i].Matches && keys[i].Low <= bound : keys[i].Matches || keys[i].Low <= bound)
                    candidates.Add(Matching.Judge(_hosts[i], spec, bids));
            return Matching.Order(candidates, hoursPerMonth).Take(limit).ToList();
        }
        finally { ArrayPool<Key>.Shared.Return(keys); }
    }

    /// <summary>A host's Search keys, approximately: whether it matches (exact) and bounds of its monthly cost.</summary>
    private readonly record struct Key(bool Matches, double Low, double High);

    /// <summary>
    /// Host <paramref name="i"/>'s Search keys: whether it matches, exactly, and its monthly cost for <paramref name="hours"/>
    /// within bounds that hold the exact one. The bids and hours come as doubles too.
    /// </summary>
    private Key Approximate(int i, MachineSpec spec, Bids bids, double storageBid, double runningBid, double hours)
    {
        ref readonly var r = ref _rows[i];
        // HostPricing's rates with the periods cancelled out: per month chunks·price·30, per hour chunks·price·3600.
        var storage = HostPricing.Chunks(spec.Disk.Value, r.StorageUnit) * r.StoragePrice * HostPricing.DaysPerMonth;
        var running = (HostPricing.Chunks(spec.Speed.Value, r.SpeedUnit) * r.SpeedPrice
            + HostPricing.Chunks(spec.Memory.Value, r.MemoryUnit) * r.MemoryPrice) * HostPricing.SecondsPerHour;
        var room = r.Online && r.FreeSpeed >= spec.Speed.Value && r.FreeMemory >= spec.Memory.Value && r.FreeDisk >= spec.Disk.Value;
        var matches =
            room && !Over(storage, storageBid) && !Over(running, runningBid)
            && (Under(storage, storageBid) && Under(running, runningBid) || Matching.Judge(_hosts[i], spec, bids).Matches); // within a hair of a bid: decided exactly
        var cost = storage + running * hours;
        var slack = Slack * (Math.Abs(storage) + Math.Abs(running) * Math.Abs(hours));
        return new Key(matches, cost - slack, cost + slack);
    }

    private static bool Over(double rate, double bid) => rate - bid > Slack * (Math.Abs(rate) + Math.Abs(bid));
    private static bool Under(double rate, double bid) => bid - rate > Slack * (Math.Abs(rate) + Math.Abs(bid));

}
