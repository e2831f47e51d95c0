using Virtuoso.Core.Market;

namespace Virtuoso.Core.Tests.Market;

/// <summary>
/// Issue 19: the fast search (<see cref="HostRanking.Best"/>) against the straightforward one (<see cref="Matching.Search"/>)
/// on seeded random marketplaces: the same hosts in the same order with the same figures, for every limit. The markets
/// are made to be hard for a shortcut: few distinct prices (many exact ties, broken by name), hosts whose monthly totals
/// are equal in decimal though not in double, bids exactly at some host's rate, hosts full or offline.
/// </summary>
public sealed class HostRankingTests
{
    [Theory]
    [MemberData(nameof(Seeds))]
    public void Best_IsTheFirstHostsOfSearch_OnRandomMarketplaces(int seed)
    {
        var random = new Random(seed);
        var tieHours = random.Next(1, 745);
        var hosts = Market(random, random.Next(1, 400), tieHours);
        var ranking = new HostRanking(hosts);
        for (var query = 0; query < 20; query++)
        {
            var spec = Spec(random.Next(0, 5000), random.Next(0, 1024), random.Next(0, 4000));
            var hours = random.Next(5) switch
            {
                0 => 0m, 1 => 730m, 2 => random.Next(0, 745), 3 => Math.Round((decimal)random.NextDouble() * 744m, 3), _ => tieHours,
            };
            var bids = Bids(random, hosts, spec);
            var limit = random.Next(3) == 0 ? hosts.Count + random.Next(0, 3) : random.Next(1, 40);

            var expected = Matching.Search(hosts, spec, bids, hours).Take(limit).ToList();
            var actual = ranking.Best(spec, bids, hours, limit);

            Assert.Equal(Describe(expected), Describe(actual));
        }
    }

    [Fact]
    public void Best_TotalsEqualInDecimalButNotInDouble_AreOrderedByStorageThenName()
    {
        // At 10 hours a month the four totals are 4.5 exactly in decimal (storage 30·x + running 10·3600·y); in double
        // 0.03·30 + 10·0.0001·3600 and the others round differently.
        var spec = Spec(1000, 4, 100);
        HostOffer Priced(string name, decimal storage, decimal memory) =>
            Host(name, new HostPricing(1000, 0m, 4, memory, 3600, 100, storage, 30));
        var hosts = new[]
        {
            Priced("d", 0.09m, 0.00005m),       // 2.7 $/month + 1.8
            Priced("c", 0.03m, 0.0001m),        // 0.9 + 3.6
            Priced("b", 0.06m, 0.000075m),      // 1.8 + 2.7
            Priced("a", 0.03m, 0.0001m),        // 0.9 + 3.6, as c: then by name
            Priced("e", 0.03m, 0.000100001m),   // 0.9 + 3.600036: dearer by a hair
        };
        var bids = new Bids(new Money(100m), new Money(100m));

        var best = new HostRanking(hosts).Best(spec, bids, 10m, 3);

        Assert.Equal(["a", "c", "b"], best.Select(m => m.Host.Name));
        Assert.Equal(Describe(Matching.Search(hosts, spec, bids, 10m).Take(3).ToList()), Describe(best));
    }

    [Fact]
    public void Best_RateExactlyAtTheBid_Matches()
    {
        var pricing = new HostPricing(1000, 0.00001m, 4, 0.00001m, 3600, 100, 0.01m, 30); // 3 $/month, 2.448 $/h for the spec
        var best = new HostRanking([Host("virt8", pricing)]).Best(Spec(4000, 256, 1000), new Bids(new Money(3m), new Money(2.448m)), 730m, 1);

        Assert.True(Assert.Single(best).Matches);
    }

    [Fact]
    public void Best_FewerHostsThanTheLimit_RanksThemAll()
    {
        var hosts = new[] { Host("b", online: false), Host("a") };

        var best = new HostRanking(hosts).Best(Spec(1, 1, 1), new Bids(new Money(1000m), new Money(1000m)), 730m, 100);

        Assert.Equal(["a", "b"], best.Select(m => m.Host.Name));
    }

    public static TheoryData<int> Seeds()
    {
        var seeds = new TheoryData<int>();
        for (var seed = 1; seed <= 40; seed++) seeds.Add(seed);
        return seeds;
    }

    // A few prices so that many hosts tie, and some with many digits.
    private static readonly decimal[] SpeedPrices = [0m, 0.00001m, 0.00002m, 0.0000123456789012345m];
    private static readonly decimal[] MemoryPrices = [0.000001m, 0.000002m, 0.00001m, 0.000003333333333333333m];
    private static readonly decimal[] StoragePrices = [0.01m, 0.02m, 0.1m, 0.0333333333333333333333m];

    /// <summary>
    /// Random hosts, a quarter of them in twins whose totals tie exactly at <paramref name="tieHours"/> hours a month for a
    /// machine of at most 1024 MB of memory and 4000 MB of disk (one chunk of each).
    /// </summary>
    private static List<HostOffer> Market(Random random, int count, int tieHours)
    {
        var hosts = new List<HostOffer>();
        string Name() => $"h{random.Next(100_000):D5}-{hosts.Count}";
        while (hosts.Count < count)
        {
            var twins = random.Next(4) == 0;
            var pricing = new HostPricing(
                random.Next(2) == 0 ? 1000 : 333, SpeedPrices[random.Next(SpeedPrices.Length)],
                twins ? 1024 : random.Next(2) == 0 ? 4 : 1024, MemoryPrices[random.Next(MemoryPrices.Length)],
                random.Next(2) == 0 ? 3600 : 7,
                twins ? 4000 : random.Next(2) == 0 ? 100 : 4000, StoragePrices[random.Next(StoragePrices.Length)],
                random.Next(2) == 0 ? 30 : 7);
            var total = Spec(random.Next(0, 20000), random.Next(0, 8192), random.Next(0, 40000));
            var reserved = random.Next(3) == 0 ? Spec(0, 0, 0) : Spec(random.Next(0, 10000), random.Next(0, 4096), random.Next(0, 20000));
            var host = new HostOffer(Name(), random.Next(8) != 0, new HostCapacity(total, reserved), pricing);
            hosts.Add(host);
            if (!twins) continue;
            // Running dearer by step·3600 $/h, storage cheaper by that times tieHours a month: the same total at tieHours.
            var step = 0.0000001m * random.Next(1, 5);
            hosts.Add(host with
            {
                Name = Name(),
                Pricing = pricing with
                {
                    MemoryPrice = pricing.MemoryPrice + step,
                    StoragePrice = pricing.StoragePrice - step * HostPricing.SecondsPerHour * tieHours / HostPricing.DaysPerMonth,
                },
            });
        }
        return hosts;
    }

    /// <summary>Generous, random, or exactly some host's rates, or a hair below them.</summary>
    private static Bids Bids(Random random, List<HostOffer> hosts, MachineSpec spec)
    {
        var some = hosts[random.Next(hosts.Count)].Pricing;
        var hair = new Money(0.00000000000001m);
        return random.Next(4) switch
        {
            0 => new Bids(new Money(1000m), new Money(1000m)),
            1 => new Bids(some.StorageRatePerMonth(spec), some.RunningRatePerHour(spec)),
            2 => new Bids(some.StorageRatePerMonth(spec) - hair, some.RunningRatePerHour(spec) - hair),
            _ => new Bids(new Money(Math.Round((decimal)random.NextDouble() * 20m, 2)), new Money(Math.Round((decimal)random.NextDouble() * 2m, 4))),
        };
    }

    private static List<string> Describe(IReadOnlyList<HostMatch> matches) =>
        matches.Select(m => $"{m.Host.Name} {m.Matches} {m.StorageRatePerMonth} {m.RunningRatePerHour} {m.StorageCharge} {m.RunningCharge} " +
            string.Join(",", m.Reasons)).ToList();

    private static MachineSpec Spec(long speed, long memory, long disk) => new(new Bogomips(speed), new Megabytes(memory), new Megabytes(disk));

    private static HostOffer Host(string name, HostPricing? pricing = null, bool online = true) =>
        new(name, online, new HostCapacity(Spec(100_000, 65_536, 1_000_000), Spec(0, 0, 0)),
            pricing ?? new HostPricing(1000, 0.00001m, 4, 0.00001m, 3600, 100, 0.01m, 30));
}
