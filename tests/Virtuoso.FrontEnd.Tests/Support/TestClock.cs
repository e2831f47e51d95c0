using Microsoft.Extensions.Time.Testing;

namespace Virtuoso.FrontEnd.Tests.Support;

/// <summary>
/// The clock a test moves (style.md: time only through an injected <see cref="TimeProvider"/>): the library's
/// <see cref="FakeTimeProvider"/> for "now", with the system's timers and timestamps kept, so that the front-end's
/// background loops (<c>Task.Delay(…, clock)</c>, <c>PeriodicTimer</c>) keep their real pace while what they read as
/// the time is the test's.
/// </summary>
internal sealed class TestClock(DateTimeOffset start) : FakeTimeProvider(start)
{
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        System.CreateTimer(callback, state, dueTime, period);

    public override long GetTimestamp() => System.GetTimestamp();
    public override long TimestampFrequency => System.TimestampFrequency;
}
