using System.Net;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Billing;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Accounting;

/// <summary>DepositApiTests on SQLite.</summary>
public sealed class DepositApiTests() : DepositApiTestsBase(postgres: false);

/// <summary>DepositApiTests on PostgreSQL.</summary>
public sealed class DepositApiPostgresTests() : DepositApiTestsBase(postgres: true);

/// <summary>
/// POST /api/v1/deposits (DepositService) and the operator's password (OperatorAccount): the operator credits a
/// buyer or provider from the deposit source, once per payment reference, and every refusal changes nothing.
/// </summary>
public abstract class DepositApiTestsBase(bool postgres)
{
    private static Task<HttpResponseMessage> DepositAsync(Session session, object body) => session.PostAsync("/api/v1/deposits", body);

    private static async Task AssertZeroSumAsync(ClockedMarket market) => Assert.Equal(0m, (await market.Database.BalancesAsync()).Values.Sum());

    [Fact]
    public async Task Deposit_CreditsTheAccountFromTheDepositSource_AndTheBalancesStillSumToZero()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var buyer = await market.SignupAsync(Roles.Buyer);
        var before = await market.Database.BalancesAsync();
        await market.AdvanceAsync(TimeSpan.FromDays(2));

        var response = await DepositAsync(await market.OperatorAsync(), new DepositRequest(buyer.Username, 25.123456789m, "wire 2026/10/17 #88"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var deposit = await Session.Ok<DepositResponse>(response);
        var at = ClockedMarket.Start.AddDays(2);
        Assert.Equal(new DepositResponse("deposit:wire 2026/10/17 #88", buyer.Username, 25.123456789m, "wire 2026/10/17 #88", at, Repeated: false, 1025.123456789m), deposit);
        var after = await market.Database.BalancesAsync();
        Assert.Equal((before[buyer.Username] + 25.123456789m, before[Ledger.Deposits] - 25.123456789m), (after[buyer.Username], after[Ledger.Deposits]));
        await AssertZeroSumAsync(market);
        var ledger = await Session.Ok<List<LedgerEntry>>(await buyer.GetAsync("/api/v1/ledger"));
        Assert.Equal(new LedgerEntry("deposit:wire 2026/10/17 #88", TransferKinds.Deposit, 25.123456789m, Ledger.Deposits, buyer.Username, null, null, at), ledger[0] with { Seq = 0 }); // newest first
        Assert.Contains(await buyer.EventsAsync(), e => e.Kind == "deposit" && e.Message.Contains("25.123456789", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Deposit_SentAgainWithTheSameReference_IsNotCreditedTwice()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var provider = market.Provider;
        var op = await market.OperatorAsync();
        var first = await Session.Ok<DepositResponse>(await DepositAsync(op, new DepositRequest(provider.Username, 100m, "ref-1")));
        var balances = await market.Database.BalancesAsync();
        await market.AdvanceAsync(TimeSpan.FromMinutes(5));

        var again = await DepositAsync(op, new DepositRequest(provider.Username, 100m, "ref-1"));

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(first with { Repeated = true }, await Session.Ok<DepositResponse>(again));
        Assert.Equal(balances, await market.Database.BalancesAsync());
        Assert.Equal(1, await market.Database.CountAsync("SELECT COUNT(*) FROM transfers WHERE kind = 'deposit'"));
    }

    [Fact]
    public async Task Deposit_RacingTwiceWithTheSameReference_IsCreditedOnce()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var buyer = await market.SignupAsync(Roles.Buyer);
        var op = await market.OperatorAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => DepositAsync(op, new DepositRequest(buyer.Username, 10m, "double-click"))));

        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.Equal(3, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(1010m, await buyer.BalanceAsync());
        await AssertZeroSumAsync(market);
    }

    [Fact]
    public async Task Deposit_ReusingAReferenceForAnotherDeposit_IsAConflict_AndChangesNothing()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var buyer = await market.SignupAsync(Roles.Buyer);
        var op = await market.OperatorAsync();
        await Session.Ok<DepositResponse>(await DepositAsync(op, new DepositRequest(buyer.Username, 10m, "ref-7")));
        var balances = await market.Database.BalancesAsync();

        var otherAmount = await Problem.AssertAsync(await DepositAsync(op, new DepositRequest(buyer.Username, 11m, "ref-7")), 409, ErrorCodes.Conflict);
        await Problem.AssertAsync(await DepositAsync(op, new DepositRequest(market.Provider.Username, 10m, "ref-7")), 409, ErrorCodes.Conflict);

        Assert.Contains("ref-7", Problem.Detail(otherAmount));
        Assert.Equal(balances, await market.Database.BalancesAsync());
    }

    [Fact]
    public async Task Deposit_BadInput_IsRefusedWithAProblemCode_AndChangesNothing()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var buyer = await market.SignupAsync(Roles.Buyer);
        var op = await market.OperatorAsync();
        var balances = await market.Database.BalancesAsync();
        var u = buyer.Username;

        foreach (var body in new[]
        {
            $$"""{"account":"{{u}}","amount":0,"reference":"r"}""",
            $$"""{"account":"{{u}}","amount":-5,"reference":"r"}""",
            $$"""{"account":"{{u}}","amount":1000000000.000000001,"reference":"r"}""",
            $$"""{"account":"{{u}}","amount":"NaN","reference":"r"}""",
            $$"""{"account":"{{u}}","amount":5}""",
            $$"""{"account":"{{u}}","amount":5,"reference":"   "}""",
            $$"""{"account":"{{u}}","amount":5,"reference":"{{new string('r', 129)}}"}""",
            $$"""{"account":"{{u}}","amount":5,"reference":"line\nbreak"}""",
            """{"amount":5,"reference":"r"}""",
            $$"""{"account":"{{u}}","amount":5,"reference":"r","balance":9}""",
            $$"""{"account":"{{Ledger.Operator}}","amount":5,"reference":"r"}""",
            $$"""{"account":"{{Ledger.Deposits}}","amount":5,"reference":"r"}""",
            "not json",
        })
            await Problem.AssertAsync(await DepositAsync(op, body), 400, ErrorCodes.Validation);
        await Problem.AssertAsync(await DepositAsync(op, new DepositRequest("nobody-here", 5m, "r")), 404, ErrorCodes.NotFound);

        Assert.Equal(balances, await market.Database.BalancesAsync());
        Assert.Equal(0, await market.Database.CountAsync("SELECT COUNT(*) FROM transfers WHERE kind = 'deposit'"));
    }

    [Fact]
    public async Task Deposit_OfExactlyOneBillion_IsAccepted()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var buyer = await market.SignupAsync(Roles.Buyer);

        Assert.Equal(HttpStatusCode.Created, (await DepositAsync(await market.OperatorAsync(), new DepositRequest(buyer.Username, 1_000_000_000m, "big"))).StatusCode);

        Assert.Equal(1_000_001_000m, await buyer.BalanceAsync());
        await AssertZeroSumAsync(market);
    }

    [Fact]
    public async Task Deposit_ByABuyerOrProvider_IsTheWrongRole_AndWithoutATokenUnauthenticated()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var buyer = await market.SignupAsync(Roles.Buyer);
        var balances = await market.Database.BalancesAsync();
        var request = new DepositRequest(buyer.Username, 5m, "self-service");

        await Problem.AssertAsync(await DepositAsync(buyer, request), 403, ErrorCodes.WrongRole);
        await Problem.AssertAsync(await DepositAsync(market.Provider, request), 403, ErrorCodes.WrongRole);
        await Problem.AssertAsync(await market.Anonymous().PostAsync("/api/v1/deposits", System.Net.Http.Json.JsonContent.Create(request)), 401, ErrorCodes.Unauthenticated);

        Assert.Equal(balances, await market.Database.BalancesAsync());
    }

    [Fact]
    public async Task Operator_WithoutAConfiguredPassword_CannotLogIn()
    {
        await using var market = await ClockedMarket.StartAsync(postgres, operatorPassword: null);

        await Problem.AssertAsync(await market.LoginAsync(Ledger.Operator, "!"), 401, ErrorCodes.InvalidCredentials);
        await Problem.AssertAsync(await market.LoginAsync(Ledger.Operator, ClockedMarket.OperatorPassword), 401, ErrorCodes.InvalidCredentials);
    }

    [Fact]
    public async Task Operator_LogsInWithTheConfiguredPassword_AsAnOperator()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);

        var account = await (await market.OperatorAsync()).AccountAsync();

        Assert.Equal((Ledger.Operator, Roles.Operator), (account.Username, account.Type));
    }

    [Fact]
    public async Task OperatorPassword_ChangedAtStartUp_EndsTheOldPasswordAndItsSessions()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var old = await market.OperatorAsync();

        var restarted = market.NewFrontEnd(("Virtuoso:OperatorPassword", "a-new-operator-password"));
        _ = restarted.Server;

        await Problem.AssertAsync(await market.LoginAsync(Ledger.Operator, ClockedMarket.OperatorPassword), 401, ErrorCodes.InvalidCredentials);
        await Problem.AssertAsync(await old.GetAsync("/api/v1/account"), 401, ErrorCodes.Unauthenticated);
        Assert.Equal(Roles.Operator, (await (await market.OperatorAsync("a-new-operator-password")).AccountAsync()).Type);
    }

    [Fact]
    public async Task OperatorPassword_Unchanged_KeepsTheOperatorsSessions()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var session = await market.OperatorAsync();

        _ = market.NewFrontEnd().Server; // a second replica, or a restart, with the same setting

        Assert.Equal(Roles.Operator, (await session.AccountAsync()).Type);
    }

    [Fact]
    public async Task OperatorPassword_TooShort_StopsTheFrontEndFromStarting()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);

        var e = Assert.ThrowsAny<Exception>(() => market.NewFrontEnd(("Virtuoso:OperatorPassword", "short")).Server);

        Assert.Contains("Virtuoso:OperatorPassword", e.ToString());
        Assert.Equal(Roles.Operator, (await (await market.OperatorAsync()).AccountAsync()).Type);
    }
}
