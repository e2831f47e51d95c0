namespace Virtuoso.Agent.Migration.Vmmp;

/// <summary>
/// Issue 20: how much a peer that proves nothing can make the agent write. Each peer address may have
/// <c>perMinute</c> refusals written (to <c>events.log</c> and the log) in a minute; the rest of that minute's are only
/// counted, and the next refusal written after it says how many were left out. Peers are remembered up to a bound;
/// past it, all new ones share one budget, so a crowd of addresses cannot grow the table or the log without end.
/// Not thread-safe on its own: the caller holds a lock.
/// </summary>
internal sealed class RefusalThrottle(int perMinute, int maxPeers = 4096)
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private const string Crowd = "(other peers)";

    private sealed class Budget(DateTimeOffset start)
    {
        public DateTimeOffset Start = start;
        public int Written;
        public int Suppressed;
    }

    private readonly Dictionary<string, Budget> _peers = new(StringComparer.Ordinal);

    /// <summary>What to do with one refusal from <paramref name="peer"/>: write it or not, and how many were left out before it.</summary>
    public readonly record struct Decision(bool Write, int SuppressedBefore, string Peer);

    public Decision Decide(string peer, DateTimeOffset now)
    {
        if (!_peers.TryGetValue(peer, out var budget))
        {
            if (_peers.Count >= maxPeers)
                Forget(now);
            if (_peers.Count >= maxPeers)
                peer = Crowd;
            if (!_peers.TryGetValue(peer, out budget))
                _peers[peer] = budget = new Budget(now);
        }
        var suppressedBefore = 0;
        if (now - budget.Start >= Window)
        {
            suppressedBefore = budget.Suppressed;
            (budget.Start, budget.Written, budget.Suppressed) = (now, 0, 0);
        }
        if (budget.Written < perMinute)
        {
            budget.Written++;
            return new(true, suppressedBefore, peer);
        }
        budget.Suppressed++;
        return new(false, 0, peer);
    }

    /// <summary>Drops peers whose minute is over (a count of left-out refusals not yet reported goes with them).</summary>
    private void Forget(DateTimeOffset now)
    {
        foreach (var (peer, _) in _peers.Where(p => now - p.Value.Start >= Window).ToList())
            _peers.Remove(peer);
    }
}
