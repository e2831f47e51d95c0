using Dapper;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Billing;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Data;

/// <summary>MoneyColumnTests on SQLite.</summary>
public sealed class MoneyColumnTests(MarketFixture market) : MoneyColumnTests<MarketFixture>(market);

/// <summary>MoneyColumnTests on PostgreSQL.</summary>
public sealed class MoneyColumnPostgresTests(PostgresMarketFixture market) : MoneyColumnTests<PostgresMarketFixture>(market);

/// <summary>
/// Money is invariant decimal TEXT in every dialect and computed in C# decimal (0001_schema.sql, Decimals.cs), so
/// no floating point ever touches it: prices and charges far below a cent, and digits beyond a double's, come back
/// exactly through the API and the database.
/// </summary>
public abstract class MoneyColumnTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    private static readonly (string Table, string Column)[] MoneyColumns =
    [
        ("accounts", "balance"), ("transfers", "amount"),
        ("hosts", "speed_price"), ("hosts", "memory_price"), ("hosts", "storage_price"),
        ("machines", "storage_bid"), ("machines", "running_bid"), ("machines", "storage_price"), ("machines", "running_price"),
        ("machines", "running_seconds_used"),
        ("configurations", "est_storage_rate"), ("configurations", "est_running_rate"),
    ];

    [Fact]
    public async Task Schema_MoneyColumnsAreText_AndNoColumnIsFloatingPointOrNumeric()
    {
        var columns = await market.Database.ColumnTypesAsync();

        foreach (var (table, column) in MoneyColumns)
            Assert.Equal((table, column, "text"), Assert.Single(columns, c => c.Table == table && c.Column == column));
        Assert.DoesNotContain(columns, c => new[] { "real", "float", "double", "numeric", "decimal", "money" }.Any(c.Type.Contains));
    }

    [Fact]
    public async Task PricesOfOneBillionth_RoundTripExactly_AndChargeExactly()
    {
        const decimal billionth = 0.000000001m;
        var host = await market.AddHostAsync((name, agent) => HostSpecs.Virt13(name, agent) with
            { Speed = 1_000_000, Memory = 1_000_000, Storage = 1_000_000, SpeedPrice = billionth, MemoryPrice = billionth, StoragePrice = billionth });
        Assert.Equal((billionth, billionth, billionth), (host.SpeedPrice, host.MemoryPrice, host.StoragePrice));
        var read = await market.Provider.HostAsync(host.Name);
        Assert.Equal((billionth, billionth, billionth), (read.SpeedPrice, read.MemoryPrice, read.StoragePrice));
        Assert.Equal(("0.000000001", "0.000000001", "0.000000001"), await market.Database.Database.ReadAsync(c =>
            c.QuerySingleAsync<(string, string, string)>("SELECT speed_price, memory_price, storage_price FROM hosts WHERE name = @name", new { name = host.Name })));

        var buyer = await market.SignupAsync(Roles.Buyer, "billionth-buyer");
        var machine = await buyer.RegisterAsync("Configuration1", storageBid: 3m, runningBid: 1m);
        // Storage: 1 chunk of 100 MB × 1e-9 $/day × 30 days. Running: (4 speed chunks + 16 memory chunks) × 1e-9 $/s × 3600 s.
        var stored = await buyer.StoreAsync(machine.Id, host.Name);
        Assert.Equal((0.00000003m, 0.000072m), (stored.StoragePrice, stored.RunningPrice));
        await buyer.ActAsync(machine.Id, "start");

        Assert.Equal(1000m - 0.05m - 0.00000003m - 0.000072m, await buyer.BalanceAsync());
        Assert.Equal(999.94992797m, (await market.BalancesAsync())[buyer.Username]);
        Assert.Equal(["0.00000003", "0.000072"], await market.Database.Database.ReadAsync(async c =>
            (await c.QueryAsync<string>("SELECT amount FROM transfers WHERE machine = @id AND kind IN (@storage, @running) ORDER BY id",
                new { id = machine.Id.ToString("D"), storage = TransferKinds.Storage, running = TransferKinds.Running })).ToList()));
        Assert.Equal(0m, (await market.BalancesAsync()).Values.Sum());
    }

    [Fact]
    public async Task PricesAndBids_WithMoreDigitsThanADoubleHolds_RoundTripExactly()
    {
        const decimal price = 123456.789012345678901m;              // 21 significant digits: a double keeps 17
        const decimal bid = 987654321.1234567890123456789m;         // 28
        var host = await market.AddHostAsync((name, agent) => HostSpecs.Virt13(name, agent) with { SpeedPrice = price });
        var buyer = await market.SharedBuyerAsync();
        var machine = await buyer.RegisterAsync("Configuration1", storageBid: bid, runningBid: bid);

        Assert.Equal(price, (await market.Provider.HostAsync(host.Name)).SpeedPrice);
        Assert.Equal((bid, bid), ((await buyer.MachineAsync(machine.Id)).StorageBid, (await buyer.MachineAsync(machine.Id)).RunningBid));
        Assert.Equal(("123456.789012345678901", "987654321.1234567890123456789"), await market.Database.Database.ReadAsync(c =>
            c.QuerySingleAsync<(string, string)>("SELECT h.speed_price, m.storage_bid FROM hosts h, machines m WHERE h.name = @host AND m.id = @id",
                new { host = host.Name, id = machine.Id.ToString("D") })));
    }
}
