using Virtuoso.Core.Machines;

namespace Virtuoso.Core.Tests.Machines;

public sealed class CpuShareTests
{
    [Theory]
    // ./run's hosts: 10000 bogomips on 2 cores.
    [InlineData(2000, 10000, 2, 400, 1)]
    [InlineData(4000, 10000, 2, 800, 1)]
    [InlineData(6000, 10000, 2, 1200, 2)]
    [InlineData(10000, 10000, 2, 2000, 2)]
    // The examples: 0.4 cores is 1 vCPU, 2.4 cores is 3.
    [InlineData(2400, 8000, 8, 2400, 3)]
    [InlineData(1000, 10000, 4, 400, 1)]
    // Exactly whole cores are not rounded up further.
    [InlineData(5000, 10000, 4, 2000, 2)]
    // Rounded down to a millicore, never up.
    [InlineData(1, 3, 1, 333, 1)]
    // At least a millicore.
    [InlineData(1, 1_000_000_000, 1, 1, 1)]
    // Never more than the host: a speed above the host's total is the whole host.
    [InlineData(20000, 10000, 2, 2000, 2)]
    public void For_GivesSpeedOverTotalTimesCores(long speed, long total, int cores, long millicores, int vcpus)
    {
        Assert.Equal(new CpuShare(millicores, vcpus), CpuShare.For(speed, total, cores));
    }

    [Fact]
    public void Quota_IsTheShareOfEachPeriod()
    {
        var share = CpuShare.For(2000, 10000, 2);
        Assert.Equal(0.4m, share.Cores);
        Assert.Equal(40_000, share.QuotaMicroseconds);
        Assert.Equal(40, share.Weight);
        Assert.Equal(409, share.Shares);
    }

    [Fact]
    public void Quota_NeverGoesBelowTheKernelsMinimum()
    {
        Assert.Equal(CpuShare.MinQuotaMicroseconds, new CpuShare(1, 1).QuotaMicroseconds);
        Assert.Equal(1, new CpuShare(1, 1).Weight);
        Assert.Equal(2, new CpuShare(1, 1).Shares);
    }

    [Fact]
    public void WeightsAreInProportionToWhatWasBought()
    {
        var small = CpuShare.For(2000, 10000, 2);
        var large = CpuShare.For(6000, 10000, 2);
        Assert.Equal(3m, (decimal)large.Weight / small.Weight);
        Assert.Equal(3m, Math.Round((decimal)large.Shares / small.Shares, 2));
    }

    [Theory]
    [InlineData(0, 10000, 2)]
    [InlineData(2000, 0, 2)]
    [InlineData(2000, 10000, 0)]
    public void For_RefusesNonPositiveInputs(long speed, long total, int cores)
    {
        Assert.ThrowsAny<ArgumentOutOfRangeException>(() => CpuShare.For(speed, total, cores));
    }
}
