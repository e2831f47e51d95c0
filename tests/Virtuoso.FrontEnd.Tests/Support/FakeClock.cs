namespace Virtuoso.FrontEnd.Tests.Support;

/// <summary>
/// A clock the test moves (style.md: time only through an injected <see cref="TimeProvider"/>). Only the time read
/// is fake: timers (<c>Task.Delay(…, clock)</c>) still run on real time, so background loops keep their real pace.
/// </summary>
internal sealed class FakeClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);
    public void SetUtcNow(DateTimeOffset now) => Interlocked.Exchange(ref _ticks, now.UtcTicks);
    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
