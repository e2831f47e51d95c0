using Virtuoso.Core.Market;

namespace Virtuoso.Core.Tests.Market;

/// <summary>Design §3.2 (report §5.1.3, footnote 15; §6.1.9 for the estimate).</summary>
public sealed class MatchingTests
{
    // Storage 3 $/month and running 2.448 $/h for Busybox.
    private static readonly HostPricing Virt8 = new(1000, 0.00001m, 4, 0.00001m, 3600, 100, 0.01m, 30);

    // Storage 30 $/month and running 0.3744 $/h for Busybox.
    private static readonly HostPricing Virt13 = new(1000, 0.00001m, 4, 0.000001m, 3600, 100, 0.1m, 30);

    private static readonly MachineSpec Busybox = Spec(4000, 256, 1000);
    private static readonly MachineSpec Big = Spec(100_000, 65_536, 1_000_000);
    private static readonly MachineSpec Nothing = Spec(0, 0, 0);

    private static readonly Bids Generous = new(new Money(1000m), new Money(1000m));

    private static MachineSpec Spec(long speed, long memory, long disk) =>
        new(new Bogomips(speed), new Megabytes(memory), new Megabytes(disk));

    private static HostOffer Host(string name, HostPricing? pricing = null, bool online = true,
        MachineSpec? total = null, MachineSpec? reserved = null) =>
        new(name, online, new HostCapacity(total ?? Big, reserved ?? Nothing), pricing ?? Virt8);

    private static Bids Bid(decimal storagePerMonth, decimal runningPerHour) =>
        new(new Money(storagePerMonth), new Money(runningPerHour));

    // --- Judge: each reason ------------------------------------------------------------------------

    [Fact]
    public void Judge_OnlineHostWithRoomWithinBids_MatchesWithItsRatesAndCharges()
    {
        var match = Matching.Judge(Host("virt13", Virt13), Busybox, Generous);

        Assert.True(match.Matches);
        Assert.Empty(match.Reasons);
        Assert.Equal(30m, match.StorageRatePerMonth.Dollars);
        Assert.Equal(0.3744m, match.RunningRatePerHour.Dollars);
        Assert.Equal(30m, match.StorageCharge.Dollars);
        Assert.Equal(0.3744m, match.RunningCharge.Dollars);
        Assert.Equal("virt13", match.Host.Name);
    }

    [Fact]
    public void Judge_OfflineHost_IsRefusedAsOffline()
    {
        var match = Matching.Judge(Host("down", online: false), Busybox, Generous);

        Assert.False(match.Matches);
        Assert.Equal([MismatchReason.Offline], match.Reasons);
    }

    [Fact]
    public void Judge_SpeedReservedByStoredMachines_IsRefusedForNotEnoughSpeed()
    {
        // The total alone would do; what stored machines reserve leaves 3999.
        var host = Host("h", total: Spec(8000, 512, 2000), reserved: Spec(4001, 0, 0));

        var match = Matching.Judge(host, Busybox, Generous);

        Assert.Equal([MismatchReason.NotEnoughSpeed], match.Reasons);
    }

    [Fact]
    public void Judge_MemoryReservedByStoredMachines_IsRefusedForNotEnoughMemory()
    {
        var host = Host("h", total: Spec(8000, 512, 2000), reserved: Spec(0, 257, 0));

        var match = Matching.Judge(host, Busybox, Generous);

        Assert.Equal([MismatchReason.NotEnoughMemory], match.Reasons);
    }

    [Fact]
    public void Judge_StorageReservedByStoredMachines_IsRefusedForNotEnoughStorage()
    {
        var host = Host("h", total: Spec(8000, 512, 2000), reserved: Spec(0, 0, 1001));

        var match = Matching.Judge(host, Busybox, Generous);

        Assert.Equal([MismatchReason.NotEnoughStorage], match.Reasons);
    }

    [Fact]
    public void Judge_FreeCapacityExactlyTheMachine_Matches()
    {
        var host = Host("h", total: Spec(8000, 512, 2000), reserved: Spec(4000, 256, 1000));

        Assert.True(Matching.Judge(host, Busybox, Generous).Matches);
    }

    [Fact]
    public void Judge_StorageRateOverBid_IsRefusedAsOverStorageBid()
    {
        var match = Matching.Judge(Host("virt8"), Busybox, Bid(2.999999m, 1000m));

        Assert.Equal([MismatchReason.OverStorageBid], match.Reasons);
        Assert.Equal(3m, match.StorageRatePerMonth.Dollars);
    }

    [Fact]
    public void Judge_RunningRateOverBid_IsRefusedAsOverRunningBid()
    {
        var match = Matching.Judge(Host("virt8"), Busybox, Bid(1000m, 2.447999m));

        Assert.Equal([MismatchReason.OverRunningBid], match.Reasons);
        Assert.Equal(2.448m, match.RunningRatePerHour.Dollars);
    }

    [Fact]
    public void Judge_BidsExactlyEqualToRates_Matches()
    {
        Assert.True(Matching.Judge(Host("virt8"), Busybox, Bid(3m, 2.448m)).Matches);
        Assert.True(Matching.Judge(Host("virt13", Virt13), Busybox, Bid(30m, 0.3744m)).Matches);
    }

    [Fact]
    public void Judge_ComparesBidsWithRates_NotWithChargesOfLongerPeriods()
    {
        // Charges 4.896 per 2 h and 6 per 60 days are over the bids; the rates (2.448 $/h, 3 $/month) are not.
        var host = Host("slow-periods", Virt8 with { RunningPeriodSeconds = 7200, StoragePeriodDays = 60 });

        var match = Matching.Judge(host, Busybox, Bid(3m, 2.448m));

        Assert.True(match.Matches);
        Assert.Equal(4.896m, match.RunningCharge.Dollars);
        Assert.Equal(6m, match.StorageCharge.Dollars);
    }

    [Fact]
    public void Judge_ComparesBidsWithRates_NotWithChargesOfShorterPeriods()
    {
        // Charges 1.224 per 30 min and 1 per 10 days are under the bids; the rates are over them.
        var host = Host("fast-periods", Virt8 with { RunningPeriodSeconds = 1800, StoragePeriodDays = 10 });

        var match = Matching.Judge(host, Busybox, Bid(2.99m, 2.44m));

        Assert.Equal([MismatchReason.OverStorageBid, MismatchReason.OverRunningBid], match.Reasons);
    }

    [Fact]
    public void Judge_HostFailingEverything_ListsEveryReason()
    {
        var host = Host("hopeless", Virt13, online: false, total: Spec(4000, 256, 1000), reserved: Spec(1, 1, 1));

        var match = Matching.Judge(host, Busybox, Bid(29m, 0.3m));

        Assert.Equal(
            [
                MismatchReason.Offline,
                MismatchReason.NotEnoughSpeed,
                MismatchReason.NotEnoughMemory,
                MismatchReason.NotEnoughStorage,
                MismatchReason.OverStorageBid,
                MismatchReason.OverRunningBid,
            ],
            match.Reasons);
        Assert.False(match.Matches);
    }

    [Fact]
    public void Judge_OfflineAndOverRunningBid_ListsBothReasons()
    {
        var match = Matching.Judge(Host("h", online: false), Busybox, Bid(1000m, 1m));

        Assert.Equal([MismatchReason.Offline, MismatchReason.OverRunningBid], match.Reasons);
    }

    [Fact]
    public void RoomReasons_IgnoresPrices()
    {
        var host = Host("h", Virt13, total: Spec(4000, 255, 1000));

        Assert.Equal([MismatchReason.NotEnoughMemory], Matching.RoomReasons(host, Busybox));
        Assert.Empty(Matching.RoomReasons(Host("h", Virt13), Busybox));
    }

    // --- Search: ordering ----------------------------------------------------------------------------

    [Fact]
    public void Search_ListsMatchingHostsFirst_CheapestTotalThenStorageThenRunningThenName_ThenTheOthers()
    {
        var cheapStorage = Virt8 with { StoragePrice = 0.005m, SpeedPrice = 0.00002m };  // 1.5 $/month, 2.592 $/h
        var cheapRunning = Virt8 with { MemoryPrice = 0.000001m };                       // 3 $/month, 0.3744 $/h
        var cheapest = Virt8 with { StoragePrice = 0.001m };                             // 0.3 $/month, 2.448 $/h
        var hosts = new[]
        {
            Host("pricey", Virt13),                    // 30 $/month: over the storage bid
            Host("tie-b", Virt8),                      // 3 $/month, 2.448 $/h
            Host("offline-cheapest", cheapest, online: false),
            Host("cheap-running", cheapRunning),
            Host("tie-a", Virt8),
            Host("cheap-storage", cheapStorage),
            Host("full", cheapest, total: Spec(4000, 256, 999)),
        };

        // At 0 hours a month the total is the storage rate alone.
        var result = Matching.Search(hosts, Busybox, Bid(10m, 3m), 0m);

        Assert.Equal(
            ["cheap-storage", "cheap-running", "tie-a", "tie-b", "full", "offline-cheapest", "pricey"],
            result.Select(m => m.Host.Name));
        Assert.Equal([true, true, true, true, false, false, false], result.Select(m => m.Matches));
    }

    [Theory]
    [InlineData(5, "alpha beta")]    // alpha 3 + 12.24 = 15.24; beta 30 + 1.872 = 31.872
    [InlineData(13, "alpha beta")]   // 34.824 < 34.8672
    [InlineData(14, "beta alpha")]   // 35.2416 < 37.272
    [InlineData(100, "beta alpha")]  // 67.44 < 247.8
    public void Search_OrdersByTheMonthlyTotalForTheHours_NotByStorageAlone(int hours, string order)
    {
        var result = Matching.Search([Host("alpha", Virt8), Host("beta", Virt13)], Busybox, Generous, hours);

        Assert.Equal(order, string.Join(" ", result.Select(m => m.Host.Name)));
    }

    [Fact]
    public void Search_NonMatchingHosts_OrderedByTotalToo()
    {
        var result = Matching.Search([Host("alpha", Virt8, online: false), Host("beta", Virt13, online: false)], Busybox, Generous, 100m);

        Assert.Equal(["beta", "alpha"], result.Select(m => m.Host.Name));
    }

    [Fact]
    public void Search_NonMatchingHosts_KeepTheirReasons()
    {
        var result = Matching.Search([Host("down", online: false), Host("up")], Busybox, Generous, 730m);

        Assert.Equal("up", result[0].Host.Name);
        Assert.Empty(result[0].Reasons);
        Assert.Equal("down", result[1].Host.Name);
        Assert.Equal([MismatchReason.Offline], result[1].Reasons);
    }

    [Fact]
    public void Search_NoHosts_IsEmpty()
    {
        Assert.Empty(Matching.Search([], Busybox, Generous, 730m));
    }

    // --- Estimate (§6.1.9) ----------------------------------------------------------------------------

    [Fact]
    public void Estimate_IsTheMeanRateOverHostsWithRoom()
    {
        var hosts = new[]
        {
            Host("virt8", Virt8),
            Host("virt13", Virt13),
            Host("offline", Virt8 with { StoragePrice = 1m }, online: false),
            Host("full", Virt8 with { SpeedPrice = 1m }, total: Spec(3999, 256, 1000)),
        };

        var estimate = Matching.Estimate(hosts, Busybox);

        Assert.NotNull(estimate);
        Assert.Equal(16.5m, estimate.Value.StoragePerMonth.Dollars);      // (3 + 30) / 2
        Assert.Equal(1.4112m, estimate.Value.RunningPerHour.Dollars);     // (2.448 + 0.3744) / 2
    }

    [Fact]
    public void Estimate_UsesRatesNotCharges()
    {
        var hosts = new[] { Host("half-hour", Virt8 with { RunningPeriodSeconds = 1800, StoragePeriodDays = 10 }) };

        var estimate = Matching.Estimate(hosts, Busybox);

        Assert.NotNull(estimate);
        Assert.Equal(3m, estimate.Value.StoragePerMonth.Dollars);
        Assert.Equal(2.448m, estimate.Value.RunningPerHour.Dollars);
    }

    [Fact]
    public void Estimate_WithNoHostWithRoom_IsNull()
    {
        var hosts = new[]
        {
            Host("offline", online: false),
            Host("full", total: Big, reserved: Spec(0, 0, Big.Disk.Value)),
        };

        Assert.Null(Matching.Estimate(hosts, Busybox));
    }

    [Fact]
    public void Estimate_WithNoHosts_IsNull()
    {
        Assert.Null(Matching.Estimate([], Busybox));
    }

    // --- HostCapacity ---------------------------------------------------------------------------------

    [Fact]
    public void Free_IsTotalMinusReserved()
    {
        var capacity = new HostCapacity(Spec(8000, 512, 2000), Spec(1000, 100, 10));

        Assert.Equal(Spec(7000, 412, 1990), capacity.Free);
    }

    [Fact]
    public void Reserve_AddsTheMachineToReserved()
    {
        var capacity = new HostCapacity(Spec(8000, 512, 2000), Spec(1000, 100, 10));

        var after = capacity.Reserve(Busybox);

        Assert.Equal(Spec(5000, 356, 1010), after.Reserved);
        Assert.Equal(Spec(3000, 156, 990), after.Free);
        Assert.Equal(Spec(8000, 512, 2000), after.Total);
    }

    [Fact]
    public void Release_SubtractsTheMachineFromReserved()
    {
        var capacity = new HostCapacity(Spec(8000, 512, 2000), Spec(5000, 356, 1010));

        var after = capacity.Release(Busybox);

        Assert.Equal(Spec(1000, 100, 10), after.Reserved);
        Assert.Equal(Spec(8000, 512, 2000), after.Total);
    }

    [Fact]
    public void ReserveThenRelease_RestoresTheCapacity()
    {
        var capacity = new HostCapacity(Spec(8000, 512, 2000), Nothing);

        Assert.Equal(capacity, capacity.Reserve(Busybox).Release(Busybox));
    }

    [Fact]
    public void Reserve_LeavesTheOriginalUnchanged()
    {
        var capacity = new HostCapacity(Spec(8000, 512, 2000), Nothing);

        _ = capacity.Reserve(Busybox);

        Assert.Equal(Nothing, capacity.Reserved);
    }

    [Fact]
    public void Reserve_SecondMachineOnFullHost_NoLongerMatches()
    {
        var capacity = new HostCapacity(Spec(6000, 384, 1500), Nothing).Reserve(Busybox);
        var host = new HostOffer("h", true, capacity, Virt8);

        var match = Matching.Judge(host, Busybox, Generous);

        Assert.Equal(
            [MismatchReason.NotEnoughSpeed, MismatchReason.NotEnoughMemory, MismatchReason.NotEnoughStorage],
            match.Reasons);
    }
}
