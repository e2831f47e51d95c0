using Virtuoso.FrontEnd.Market;

namespace Virtuoso.FrontEnd.Tests.Market;

/// <summary>PriceHistory.Decide: the price-average rules of design §3.2 and report §6.1.9, without I/O.</summary>
public sealed class PriceHistoryTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly Estimate E = new(1.65m, 0.4608m);
    private static readonly Estimate Other = new(3m, 0.2016m);

    [Fact]
    public void NoHostWithRoom_KeepsTheStaleEstimate_AndRecordsNothing()
    {
        Assert.Equal(new EstimateDecision(E, Changed: false, Record: false), PriceHistory.Decide(null, E, new RecordedPoint(T, E), T.AddDays(3)));
        Assert.Equal(new EstimateDecision(null, Changed: false, Record: false), PriceHistory.Decide(null, null, null, T));
    }

    [Fact]
    public void FirstEstimate_IsStoredAndRecorded()
    {
        Assert.Equal(new EstimateDecision(E, Changed: true, Record: true), PriceHistory.Decide(E, null, null, T));
    }

    [Fact]
    public void StoredEstimateWithoutHistory_IsRecorded()
    {
        Assert.Equal(new EstimateDecision(E, Changed: false, Record: true), PriceHistory.Decide(E, E, null, T));
    }

    [Fact]
    public void UnchangedEstimate_IsRecordedAgainOnlyWhenAnHourHasPassedSinceTheLastPoint()
    {
        var last = new RecordedPoint(T, E);
        Assert.False(PriceHistory.Decide(E, E, last, T + PriceHistory.Heartbeat - TimeSpan.FromTicks(1)).Record);
        Assert.True(PriceHistory.Decide(E, E, last, T + PriceHistory.Heartbeat).Record);
        Assert.Equal(TimeSpan.FromHours(1), PriceHistory.Heartbeat);
    }

    [Fact]
    public void ChangedEstimate_IsStoredAndRecordedAtOnce()
    {
        Assert.Equal(new EstimateDecision(Other, Changed: true, Record: true), PriceHistory.Decide(Other, E, new RecordedPoint(T, E), T.AddSeconds(60)));
    }

    [Fact]
    public void EstimateDifferingOnlyInOneRate_CountsAsChanged()
    {
        Assert.True(PriceHistory.Decide(E with { RunningPerHour = 0.4609m }, E, new RecordedPoint(T, E), T.AddSeconds(1)).Record);
    }

    [Fact]
    public void SameValueWrittenWithAnotherScale_IsNotAChange()
    {
        var decision = PriceHistory.Decide(new Estimate(1.650m, 0.46080m), E, new RecordedPoint(T, E), T.AddMinutes(1));
        Assert.Equal((false, false), (decision.Changed, decision.Record));
    }

    [Fact]
    public void ClockBehindTheLastPoint_RecordsNothingForAnUnchangedEstimate()
    {
        Assert.False(PriceHistory.Decide(E, E, new RecordedPoint(T, E), T.AddHours(-5)).Record);
    }
}
