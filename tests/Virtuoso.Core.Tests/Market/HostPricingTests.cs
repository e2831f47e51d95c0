using Virtuoso.Core.Market;

namespace Virtuoso.Core.Tests.Market;

/// <summary>Design §3.1: the report's own figures must come out exactly, in <see cref="decimal"/>.</summary>
public sealed class HostPricingTests
{
    // Figures 28 and 31.
    private static readonly HostPricing Virt8 = new(
        SpeedUnit: 1000, SpeedPrice: 0.00001m, MemoryUnit: 4, MemoryPrice: 0.00001m, RunningPeriodSeconds: 3600,
        StorageUnit: 100, StoragePrice: 0.01m, StoragePeriodDays: 30);

    // Figures 20 and 31.
    private static readonly HostPricing Virt13 = new(
        SpeedUnit: 1000, SpeedPrice: 0.00001m, MemoryUnit: 4, MemoryPrice: 0.000001m, RunningPeriodSeconds: 3600,
        StorageUnit: 100, StoragePrice: 0.1m, StoragePeriodDays: 30);

    // Figure 11.
    private static readonly HostPricing Virt17 = new(
        SpeedUnit: 1000, SpeedPrice: 0.0000001m, MemoryUnit: 4, MemoryPrice: 0.00000001m, RunningPeriodSeconds: 3600,
        StorageUnit: 100, StoragePrice: 0.1m, StoragePeriodDays: 30);

    /// <summary>linux-busybox, the report's preconfigured machine (design §3).</summary>
    private static readonly MachineSpec Busybox = Spec(4000, 256, 1000);

    /// <summary>The small machine of Figures 11 and 20.</summary>
    private static readonly MachineSpec Small = Spec(4000, 64, 100);

    private static MachineSpec Spec(long speed, long memory, long disk) =>
        new(new Bogomips(speed), new Megabytes(memory), new Megabytes(disk));

    // --- The four rows of the price table --------------------------------------------------------

    [Fact]
    public void RunningCharge_Virt8Busybox_Is2_448Per3600Seconds()
    {
        Assert.Equal(2.448m, Virt8.RunningCharge(Busybox).Dollars);
    }

    [Fact]
    public void StorageCharge_Virt8Busybox_Is3Per30Days()
    {
        Assert.Equal(3m, Virt8.StorageCharge(Busybox).Dollars);
    }

    [Fact]
    public void RunningCharge_Virt13Busybox_Is0_3744Per3600Seconds()
    {
        Assert.Equal(0.3744m, Virt13.RunningCharge(Busybox).Dollars);
    }

    [Fact]
    public void StorageCharge_Virt13Busybox_Is30Per30Days()
    {
        Assert.Equal(30m, Virt13.StorageCharge(Busybox).Dollars);
    }

    [Fact]
    public void RunningCharge_Virt17SmallMachine_Is0_002016Per3600Seconds()
    {
        Assert.Equal(0.002016m, Virt17.RunningCharge(Small).Dollars);
    }

    [Fact]
    public void StorageCharge_Virt17SmallMachine_Is3Per30Days()
    {
        Assert.Equal(3m, Virt17.StorageCharge(Small).Dollars);
    }

    [Fact]
    public void RunningCharge_Virt13SmallMachine_Is0_2016Per3600Seconds()
    {
        Assert.Equal(0.2016m, Virt13.RunningCharge(Small).Dollars);
    }

    [Fact]
    public void StorageCharge_Virt13SmallMachine_Is3Per30Days()
    {
        Assert.Equal(3m, Virt13.StorageCharge(Small).Dollars);
    }

    [Fact]
    public void Charges_AreShownAsInTheReport()
    {
        Assert.Equal("2.448", Virt8.RunningCharge(Busybox).ToString());
        Assert.Equal("0.3744", Virt13.RunningCharge(Busybox).ToString());
        Assert.Equal("0.002016", Virt17.RunningCharge(Small).ToString());
        Assert.Equal("0.2016", Virt13.RunningCharge(Small).ToString());
        Assert.Equal("30", Virt13.StorageCharge(Busybox).ToString());
    }

    // --- Rates: what buyers bid in --------------------------------------------------------------

    [Fact]
    public void Rates_WithHourAndMonthPeriods_EqualTheCharges()
    {
        Assert.Equal(2.448m, Virt8.RunningRatePerHour(Busybox).Dollars);
        Assert.Equal(3m, Virt8.StorageRatePerMonth(Busybox).Dollars);
        Assert.Equal(0.3744m, Virt13.RunningRatePerHour(Busybox).Dollars);
        Assert.Equal(30m, Virt13.StorageRatePerMonth(Busybox).Dollars);
    }

    [Fact]
    public void Charges_WithHalfHourAndTenDayPeriods_CoverThoseShorterPeriods()
    {
        var host = Virt8 with { RunningPeriodSeconds = 1800, StoragePeriodDays = 10 };

        Assert.Equal(1.224m, host.RunningCharge(Busybox).Dollars);
        Assert.Equal(1m, host.StorageCharge(Busybox).Dollars);
    }

    [Fact]
    public void Rates_WithHalfHourAndTenDayPeriods_ScaleToHourAndMonth()
    {
        var host = Virt8 with { RunningPeriodSeconds = 1800, StoragePeriodDays = 10 };

        Assert.Equal(2.448m, host.RunningRatePerHour(Busybox).Dollars);
        Assert.Equal(3m, host.StorageRatePerMonth(Busybox).Dollars);
    }

    [Fact]
    public void Rates_WithTwoHourAndSixtyDayPeriods_ScaleToHourAndMonth()
    {
        var host = Virt8 with { RunningPeriodSeconds = 7200, StoragePeriodDays = 60 };

        Assert.Equal(4.896m, host.RunningCharge(Busybox).Dollars);
        Assert.Equal(6m, host.StorageCharge(Busybox).Dollars);
        Assert.Equal(2.448m, host.RunningRatePerHour(Busybox).Dollars);
        Assert.Equal(3m, host.StorageRatePerMonth(Busybox).Dollars);
    }

    [Fact]
    public void Rates_WithPeriodsThatDoNotDivideHourOrMonth_StayExact()
    {
        // 3600/7 and 30/7 do not terminate as decimals; the rates must still come out exact.
        var host = Virt8 with { RunningPeriodSeconds = 7, StoragePeriodDays = 7 };

        Assert.Equal(0.00476m, host.RunningCharge(Busybox).Dollars);
        Assert.Equal(0.7m, host.StorageCharge(Busybox).Dollars);
        Assert.Equal(2.448m, host.RunningRatePerHour(Busybox).Dollars);
        Assert.Equal(3m, host.StorageRatePerMonth(Busybox).Dollars);
    }

    // --- Whole chunks -----------------------------------------------------------------------------

    [Theory]
    [InlineData(0, 100, 0)]
    [InlineData(1, 100, 1)]
    [InlineData(99, 100, 1)]
    [InlineData(100, 100, 1)]
    [InlineData(101, 100, 2)]
    [InlineData(200, 100, 2)]
    [InlineData(201, 100, 3)]
    [InlineData(1000, 100, 10)]
    [InlineData(1001, 100, 11)]
    [InlineData(3999, 1000, 4)]
    [InlineData(4000, 1000, 4)]
    [InlineData(4001, 1000, 5)]
    [InlineData(3, 4, 1)]
    [InlineData(256, 4, 64)]
    [InlineData(257, 4, 65)]
    [InlineData(7, 1, 7)]
    public void Chunks_RoundsUpToWholeChunks(long amount, long unit, long expected)
    {
        Assert.Equal(expected, HostPricing.Chunks(amount, unit));
    }

    [Fact]
    public void RunningCharge_SpeedOneUnderChunkBoundary_PaysTheSameWholeChunks()
    {
        Assert.Equal(0.3744m, Virt13.RunningCharge(Spec(3999, 256, 1000)).Dollars);
    }

    [Fact]
    public void RunningCharge_SpeedOneOverChunkBoundary_PaysOneMoreSpeedChunk()
    {
        // 5 speed chunks: (5·0.00001 + 64·0.000001)·3600
        Assert.Equal(0.4104m, Virt13.RunningCharge(Spec(4001, 256, 1000)).Dollars);
    }

    [Fact]
    public void RunningCharge_MemoryOneOverChunkBoundary_PaysOneMoreMemoryChunk()
    {
        // 65 memory chunks: (4·0.00001 + 65·0.000001)·3600
        Assert.Equal(0.378m, Virt13.RunningCharge(Spec(4000, 257, 1000)).Dollars);
    }

    [Fact]
    public void StorageCharge_DiskOneOverChunkBoundary_PaysOneMoreStorageChunk()
    {
        // 11 storage chunks: 11·0.01·30
        Assert.Equal(3.3m, Virt8.StorageCharge(Spec(4000, 256, 1001)).Dollars);
    }

    [Fact]
    public void StorageCharge_DiskOneUnderChunkBoundary_PaysTheSameWholeChunks()
    {
        Assert.Equal(3m, Virt8.StorageCharge(Spec(4000, 256, 999)).Dollars);
    }

    [Fact]
    public void RunningCharge_DoesNotDependOnDisk_AndStorageChargeNotOnSpeedOrMemory()
    {
        Assert.Equal(2.448m, Virt8.RunningCharge(Spec(4000, 256, 100_000)).Dollars);
        Assert.Equal(3m, Virt8.StorageCharge(Spec(64_000, 8192, 1000)).Dollars);
    }
}
