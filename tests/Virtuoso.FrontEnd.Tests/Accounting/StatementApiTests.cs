using System.Net;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Billing;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Accounting;

/// <summary>StatementApiTests on SQLite.</summary>
public sealed class StatementApiTests() : StatementApiTestsBase(postgres: false);

/// <summary>StatementApiTests on PostgreSQL.</summary>
public sealed class StatementApiPostgresTests() : StatementApiTestsBase(postgres: true);

/// <summary>
/// GET /api/v1/statements/{yyyy-MM}: the caller's transfers of one calendar month (UTC) as CSV, amounts exact, each
/// with its signed effect on the caller's balance, under a comment line with the opening and closing balance.
/// The buyer below signs up in October, stores a machine in the month's last millisecond and starts it in
/// November's first, and gets a deposit in November.
/// </summary>
public abstract class StatementApiTestsBase(bool postgres)
{
    private static readonly DateTimeOffset LastMillisecondOfOctober = new(2026, 10, 31, 23, 59, 59, 999, TimeSpan.Zero);

    private sealed record Scenario(ClockedMarket Market, Session Buyer, Guid Machine, string Host) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Market.DisposeAsync();
    }

    private async Task<Scenario> ScenarioAsync()
    {
        var market = await ClockedMarket.StartAsync(postgres);
        var host = await market.AddHostAsync();
        var buyer = await market.SignupAsync(Roles.Buyer);
        var machine = await buyer.RegisterAsync("Configuration1", 1000m, 100m);
        market.Clock.SetUtcNow(LastMillisecondOfOctober);
        await market.SeeHostsAsync();
        await buyer.StoreAsync(machine.Id, host.Name);
        await market.AdvanceAsync(TimeSpan.FromMilliseconds(1));
        await buyer.ActAsync(machine.Id, "start");
        await market.AdvanceAsync(TimeSpan.FromHours(2));
        var deposit = await (await market.OperatorAsync()).PostAsync("/api/v1/deposits", new DepositRequest(buyer.Username, 25m, "bank-2026-11-01-0001"));
        Assert.Equal(HttpStatusCode.Created, deposit.StatusCode);
        return new Scenario(market, buyer, machine.Id, host.Name);
    }

    private static async Task<string> StatementAsync(Session session, string month)
    {
        var response = await session.GetAsync($"/api/v1/statements/{month}");
        var csv = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, csv);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
        Assert.Equal($"virtuoso-{session.Username}-{month}.csv", response.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
        return csv;
    }

    [Fact]
    public async Task Statement_ListsTheMonthsTransfersWithTheirSignedEffect_BetweenTheOpeningAndClosingBalance()
    {
        await using var s = await ScenarioAsync();
        var (buyer, id, provider) = (s.Buyer.Username, s.Machine, s.Market.Provider.Username);

        Assert.Equal(
            $"# account {buyer}; month 2026-10 (UTC); opening balance 0; closing balance 996.95\n" +
            "at,key,kind,machine,host,from,to,amount,balance_effect\n" +
            $"2026-10-15T12:00:00.000Z,{ChargeKey.OpeningCredit(buyer)},opening-credit,,,deposits,{buyer},1000,1000\n" +
            $"2026-10-15T12:00:00.000Z,{ChargeKey.RegistrationFee(id)},registration-fee,{id:D},,{buyer},operator,0.05,-0.05\n" +
            $"2026-10-31T23:59:59.999Z,{ChargeKey.Storage(id, 1, 1)},storage,{id:D},{s.Host},{buyer},{provider},3,-3\n",
            await StatementAsync(s.Buyer, "2026-10"));
        Assert.Equal(
            $"# account {buyer}; month 2026-11 (UTC); opening balance 996.95; closing balance 1021.7484\n" +
            "at,key,kind,machine,host,from,to,amount,balance_effect\n" +
            $"2026-11-01T00:00:00.000Z,{ChargeKey.Running(id, 1, 1)},running,{id:D},{s.Host},{buyer},{provider},0.2016,-0.2016\n" +
            $"2026-11-01T02:00:00.000Z,deposit:bank-2026-11-01-0001,deposit,,,deposits,{buyer},25,25\n",
            await StatementAsync(s.Buyer, "2026-11"));
        Assert.Equal(1021.7484m, await s.Buyer.BalanceAsync());
    }

    [Fact]
    public async Task Statement_OfTheProvider_CountsWhatItIsPaidAsPositive()
    {
        await using var s = await ScenarioAsync();
        var (buyer, provider) = (s.Buyer.Username, s.Market.Provider.Username);

        var lines = (await StatementAsync(s.Market.Provider, "2026-11")).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal($"# account {provider}; month 2026-11 (UTC); opening balance 1003; closing balance 1003.2016", lines[0]);
        Assert.EndsWith($",running,{s.Machine:D},{s.Host},{buyer},{provider},0.2016,0.2016", Assert.Single(lines[2..]));
    }

    [Fact]
    public async Task Statement_OfAMonthWithoutTransfers_HasOnlyTheBalancesAndTheHeader()
    {
        await using var s = await ScenarioAsync();

        Assert.Equal(
            $"# account {s.Buyer.Username}; month 2026-12 (UTC); opening balance 1021.7484; closing balance 1021.7484\n" + Statement.Header + "\n",
            await StatementAsync(s.Buyer, "2026-12"));
        Assert.Equal(
            $"# account {s.Buyer.Username}; month 2026-09 (UTC); opening balance 0; closing balance 0\n" + Statement.Header + "\n",
            await StatementAsync(s.Buyer, "2026-09"));
    }

    [Fact]
    public async Task Statement_AmountsAreExactAndUnrounded_DownToABillionthOfADollar()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var host = await market.AddHostAsync((name, agent) => HostSpecs.Virt13(name, agent) with { Speed = 1_000_000, Memory = 1_000_000, Storage = 1_000_000, StoragePrice = 0.000000001m });
        var buyer = await market.SignupAsync(Roles.Buyer);
        var machine = await buyer.RegisterAsync("Configuration1", 1000m, 100m);
        await buyer.StoreAsync(machine.Id, host.Name);

        var csv = await StatementAsync(buyer, "2026-10");

        // One 100 MB chunk × $1e-9 a day × 30 days.
        Assert.Contains($",storage,{machine.Id:D},{host.Name},{buyer.Username},{market.Provider.Username},0.00000003,-0.00000003\n", csv);
        Assert.StartsWith($"# account {buyer.Username}; month 2026-10 (UTC); opening balance 0; closing balance 999.94999997\n", csv);
    }

    [Fact]
    public async Task Statement_OfABadMonth_IsRefusedAsValidation()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var buyer = await market.SignupAsync(Roles.Buyer);

        foreach (var month in new[] { "2026-13", "2026-00", "2026-1", "26-11", "2026-11-01", "1969-12", "9999-12", "November", "２０２６-11", "2026-11\n" })
        {
            var problem = await Problem.AssertAsync(await buyer.GetAsync($"/api/v1/statements/{Uri.EscapeDataString(month)}"), 400, ErrorCodes.Validation);
            Assert.Contains("YYYY-MM", Problem.Detail(problem));
        }
    }

    [Fact]
    public async Task Statement_WithoutAToken_IsUnauthenticated()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        await Problem.AssertAsync(await market.Anonymous().GetAsync("/api/v1/statements/2026-10"), 401, ErrorCodes.Unauthenticated);
    }
}
