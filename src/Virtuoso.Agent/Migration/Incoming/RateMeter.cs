namespace Virtuoso.Agent.Migration.Incoming;

/// <summary>The current transfer rate: bytes per second over the last few seconds of samples (for the status page's estimate).</summary>
internal sealed class RateMeter(TimeSpan window)
{
    private readonly Queue<(DateTimeOffset At, long Bytes)> _samples = new();

    public void Add(DateTimeOffset at, long bytes)
    {
        _samples.Enqueue((at, bytes));
        while (_samples.Count > 2 && at - _samples.Peek().At > window)
            _samples.Dequeue();
    }

    public double BytesPerSecond
    {
        get
        {
            if (_samples.Count < 2)
                return 0;
            var (first, last) = (_samples.Peek(), _samples.Last());
            var seconds = (last.At - first.At).TotalSeconds;
            return seconds > 0 ? Math.Max(0, last.Bytes - first.Bytes) / seconds : 0;
        }
    }

    public void Clear() => _samples.Clear();
}
