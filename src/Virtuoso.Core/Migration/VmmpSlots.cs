namespace Virtuoso.Core.Migration;

/// <summary>How many connections a VMMP listener holds at once, in all and from one peer address (issue 20).</summary>
public sealed record VmmpLimits(int MaxConnections, int MaxPerPeer)
{
    public string? Check() =>
        MaxConnections < 1 ? "the connection limit must be at least 1"
        : MaxPerPeer < 1 ? "the per-peer connection limit must be at least 1"
        : MaxPerPeer > MaxConnections ? "the per-peer connection limit cannot exceed the connection limit"
        : null;
}

/// <summary>
/// Issue 20: who gets a VMMP listener's connection slot. A connection is <em>pending</em> until a line on it proves its
/// sender (an AUTH line, Contracts' VmmpAuth), then <em>proven</em>. Strangers can open sockets but never prove
/// anything, so they only ever hold pending slots; a newcomer therefore always gets in by evicting the oldest pending
/// connection (of its own address when that address is at its limit, else of anyone), and is refused only when every
/// slot that stands in its way is proven. So idle sockets from anyone, however many, cannot keep the marketplace's own
/// connections out, and one address cannot take more than its share.
/// </summary>
public static class VmmpAdmission
{
    /// <summary>A connection held now: its peer address, whether it has proven itself, and its order of arrival.</summary>
    public readonly record struct Held(string Peer, bool Proven, long Seq);

    /// <summary>The verdict: admitted or not, and which held connection (by <see cref="Held.Seq"/>) must make room first.</summary>
    public readonly record struct Verdict(bool Admitted, long? Evict);

    public static Verdict Decide(IReadOnlyCollection<Held> held, string peer, VmmpLimits limits)
    {
        var mine = held.Count(h => h.Peer == peer);
        if (mine >= limits.MaxPerPeer)
            return OldestPending(held.Where(h => h.Peer == peer)) is { } own ? new(true, own) : new(false, null);
        if (held.Count >= limits.MaxConnections)
            return OldestPending(held) is { } any ? new(true, any) : new(false, null);
        return new(true, null);
    }

    private static long? OldestPending(IEnumerable<Held> held) =>
        held.Where(h => !h.Proven).Select(h => (long?)h.Seq).Min();
}

/// <summary>The slots of one VMMP listener, decided by <see cref="VmmpAdmission"/>. Thread-safe.</summary>
public sealed class VmmpSlots(VmmpLimits limits)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<long, Slot> _held = new();
    private long _next;

    /// <summary>One admitted connection. <see cref="Evicted"/> fires when a newcomer takes its place; dispose to free it.</summary>
    public sealed class Slot : IDisposable
    {
        private readonly VmmpSlots _owner;
        private readonly CancellationTokenSource _evicted = new();

        internal Slot(VmmpSlots owner, string peer, long seq) => (_owner, Peer, Seq) = (owner, peer, seq);

        public string Peer { get; }
        internal long Seq { get; }
        public bool Proven { get; private set; }
        public CancellationToken Evicted => _evicted.Token;
        public bool WasEvicted => _evicted.IsCancellationRequested;

        /// <summary>A line on this connection proved its sender: it can no longer be evicted.</summary>
        public void MarkProven()
        {
            lock (_owner._gate)
                Proven = true;
        }

        internal void Evict() => _evicted.Cancel();

        public void Dispose()
        {
            lock (_owner._gate)
                _owner._held.Remove(Seq);
            // The token source is not disposed: a newcomer may evict this slot at the same moment (it holds no timer).
        }
    }

    public int Count
    {
        get
        {
            lock (_gate)
                return _held.Count;
        }
    }

    /// <summary>A slot for a connection from <paramref name="peer"/>, or null when every slot in its way is proven.</summary>
    public Slot? TryAdmit(string peer)
    {
        Slot? evicted = null;
        Slot admitted;
        lock (_gate)
        {
            var verdict = VmmpAdmission.Decide(_held.Values.Select(s => new VmmpAdmission.Held(s.Peer, s.Proven, s.Seq)).ToList(), peer, limits);
            if (!verdict.Admitted)
                return null;
            // The evicted slot leaves at once, so the count holds; its connection closes when it sees the token.
            if (verdict.Evict is { } seq)
                _held.Remove(seq, out evicted);
            admitted = new Slot(this, peer, ++_next);
            _held[admitted.Seq] = admitted;
        }
        evicted?.Evict();
        return admitted;
    }
}
