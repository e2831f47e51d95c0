using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Market;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Market;

/// <summary>ConfigurationApiTests on SQLite, the default dialect.</summary>
public sealed class ConfigurationApiTests(MarketFixture market) : ConfigurationApiTests<MarketFixture>(market);

/// <summary>ConfigurationApiTests on PostgreSQL, production's dialect.</summary>
public sealed class ConfigurationApiPostgresTests(PostgresMarketFixture market) : ConfigurationApiTests<PostgresMarketFixture>(market);

/// <summary>
/// ConfigurationService through the API: the ten blank configurations of Figure 6, the preconfigured
/// linux-busybox (design §3) and debian-12 (issue 15), and the market estimates of §6.1.9 over the hosts with room. This class's
/// database holds only alpha and beta, so the means are known exactly.
/// </summary>
public abstract class ConfigurationApiTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    [Fact]
    public async Task Configurations_AreTheTenBlankOnesOfFigure6_LinuxBusyboxAndDebian12_WithoutAToken()
    {
        var configs = await Session.Ok<List<ConfigurationResponse>>(await market.Anonymous().GetAsync("/api/v1/configurations"));

        Assert.Equal(Enumerable.Range(1, 10).Select(i => $"Configuration{i}").Append("linux-busybox").Append("debian-12"), configs.Select(c => c.Name));
        Assert.All(configs.Take(10), c => Assert.Equal(((string?)null, (long?)null, (long?)null), (c.Image, c.MinMemory, c.MinDisk)));
        var c1 = configs[0];
        Assert.Equal(("Pentium3", 4000L, "win98", 64L, 100L), (c1.Processor, c1.Speed, c1.Os, c1.Memory, c1.Disk));
        var busybox = configs[^2];
        Assert.Equal((4000L, 256L, 1000L, (string?)"linux-busybox", (long?)128L, (long?)1000L),
            (busybox.Speed, busybox.Memory, busybox.Disk, busybox.Image, busybox.MinMemory, busybox.MinDisk));
        // Its disk is twice the image's minimum: cloud-init grows the root file system into the rest at the first boot.
        var debian = configs[^1];
        Assert.Equal(("linux", 4000L, 512L, 4096L, (string?)"debian-12", (long?)256L, (long?)2048L),
            (debian.Os, debian.Speed, debian.Memory, debian.Disk, debian.Image, debian.MinMemory, debian.MinDisk));
    }

    [Fact]
    public async Task Estimates_AreTheMeanRatesOfTheHostsWithRoom()
    {
        // The price-average daemon computes them (PriceAverageDaemonTests); GET /configurations only reads.
        await market.Factory.Services.GetRequiredService<PriceAverageDaemon>().PassAsync();
        var configs = await Session.Ok<List<ConfigurationResponse>>(await market.Anonymous().GetAsync("/api/v1/configurations"));

        // linux-busybox: alpha 3 $/month and 2.448 $/hour, beta 30 and 0.3744.
        var busybox = configs.Single(c => c.Name == "linux-busybox");
        Assert.Equal((16.5m, 1.4112m), (busybox.EstimatedStorageRate, busybox.EstimatedRunningRate));
        // Configuration1 (4000, 64, 100): alpha 0.3 and 0.72, beta 3 and 0.2016.
        var c1 = configs.Single(c => c.Name == "Configuration1");
        Assert.Equal((1.65m, 0.4608m), (c1.EstimatedStorageRate, c1.EstimatedRunningRate));
    }
}
