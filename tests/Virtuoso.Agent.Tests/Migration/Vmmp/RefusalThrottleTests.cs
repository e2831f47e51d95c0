using Virtuoso.Agent.Migration.Vmmp;

namespace Virtuoso.Agent.Tests.Migration.Vmmp;

public sealed class RefusalThrottleTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void APeer_GetsItsBudgetPerMinute_ThenTheNextWrittenRefusalCountsTheLeftOut()
    {
        var throttle = new RefusalThrottle(perMinute: 3);

        var first = Enumerable.Range(0, 10).Select(i => throttle.Decide("192.0.2.1", T0.AddSeconds(i))).ToList();
        var nextMinute = throttle.Decide("192.0.2.1", T0.AddSeconds(61));

        Assert.Equal([true, true, true, false, false, false, false, false, false, false], first.Select(d => d.Write));
        Assert.All(first, d => Assert.Equal(0, d.SuppressedBefore));
        Assert.Equal(new RefusalThrottle.Decision(true, 7, "192.0.2.1"), nextMinute);
    }

    [Fact]
    public void Peers_HaveBudgetsOfTheirOwn()
    {
        var throttle = new RefusalThrottle(perMinute: 1);

        Assert.True(throttle.Decide("192.0.2.1", T0).Write);
        Assert.False(throttle.Decide("192.0.2.1", T0).Write);
        Assert.True(throttle.Decide("192.0.2.2", T0).Write);
    }

    [Fact]
    public void ACrowdOfAddresses_BeyondTheBound_SharesOneBudget()
    {
        var throttle = new RefusalThrottle(perMinute: 2, maxPeers: 3);
        foreach (var peer in new[] { "a", "b", "c" })
            Assert.True(throttle.Decide(peer, T0).Write);

        var crowd = Enumerable.Range(0, 5).Select(i => throttle.Decide($"crowd-{i}", T0.AddSeconds(1))).ToList();
        var later = throttle.Decide("d", T0.AddSeconds(70)); // the first three's minute is over: they are forgotten

        Assert.Equal([true, true, false, false, false], crowd.Select(d => d.Write));
        Assert.All(crowd, d => Assert.Equal("(other peers)", d.Peer));
        Assert.Equal(new RefusalThrottle.Decision(true, 0, "d"), later);
    }
}
