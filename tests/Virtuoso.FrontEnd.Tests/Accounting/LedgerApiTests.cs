using System.Net;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Billing;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Accounting;

/// <summary>LedgerApiTests on SQLite.</summary>
public sealed class LedgerApiTests() : LedgerApiTestsBase(postgres: false);

/// <summary>LedgerApiTests on PostgreSQL.</summary>
public sealed class LedgerApiPostgresTests() : LedgerApiTestsBase(postgres: true);

/// <summary>
/// GET /api/v1/ledger (LedgerView): the caller's transfers, from or to them, newest first a page at a time, each with its
/// key, kind, exact amount, parties, machine, host, time and sequence; one machine's with ?machine=ID, where a machine that
/// is neither the caller's nor in any of their transfers answers exactly as one that does not exist.
/// </summary>
public abstract class LedgerApiTestsBase(bool postgres)
{
    /// <summary>The ledger, oldest first and without the sequence numbers, for comparing with what happened in order.</summary>
    private static async Task<List<LedgerEntry>> LedgerAsync(Session session, string query = "") =>
        (await Session.Ok<List<LedgerEntry>>(await session.GetAsync("/api/v1/ledger" + query))).Select(e => e with { Seq = 0 }).Reverse().ToList();

    [Fact]
    public async Task Ledger_ListsTheBuyersTransfers_WithKeyKindExactAmountPartiesMachineHostAndTime()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var host = await market.AddHostAsync();
        var buyer = await market.SignupAsync(Roles.Buyer);
        await market.AdvanceAsync(TimeSpan.FromMinutes(1));
        var machine = await buyer.RegisterAsync("Configuration1", 1000m, 100m);
        await market.AdvanceAsync(TimeSpan.FromMinutes(1));
        await buyer.StoreAsync(machine.Id, host.Name);
        await market.AdvanceAsync(TimeSpan.FromMinutes(1));
        await buyer.ActAsync(machine.Id, "start");

        var ledger = await LedgerAsync(buyer);

        var t = ClockedMarket.Start;
        Assert.Equal(
        [
            new LedgerEntry(ChargeKey.OpeningCredit(buyer.Username), TransferKinds.OpeningCredit, 1000m, Ledger.Deposits, buyer.Username, null, null, t),
            new LedgerEntry(ChargeKey.RegistrationFee(machine.Id), TransferKinds.RegistrationFee, 0.05m, buyer.Username, Ledger.Operator, machine.Id, null, t.AddMinutes(1), MachineName: machine.Name),
            new LedgerEntry(ChargeKey.Storage(machine.Id, 1, 1), TransferKinds.Storage, 3m, buyer.Username, market.Provider.Username, machine.Id, host.Name, t.AddMinutes(2), MachineName: machine.Name),
            new LedgerEntry(ChargeKey.Running(machine.Id, 1, 1), TransferKinds.Running, 0.2016m, buyer.Username, market.Provider.Username, machine.Id, host.Name, t.AddMinutes(3), MachineName: machine.Name),
        ], ledger);
        Assert.Equal(await buyer.BalanceAsync(), ledger.Sum(e => Statement.Effect(e, buyer.Username)));
    }

    [Fact]
    public async Task Ledger_JsonNames_AreKeyKindAmountFromToMachineHostAtSeq()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var buyer = await market.SignupAsync(Roles.Buyer);

        var json = System.Text.Json.JsonDocument.Parse(await (await buyer.GetAsync("/api/v1/ledger")).Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(["key", "kind", "amount", "from", "to", "machine", "host", "at", "seq", "machineName"], json[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal("1000", json[0].GetProperty("amount").GetRawText());
    }

    [Fact]
    public async Task Ledger_OfAProvider_ListsTheChargesCreditedToIt()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var host = await market.AddHostAsync();
        var buyer = await market.SignupAsync(Roles.Buyer);
        var machine = await buyer.RegisterAsync("Configuration1", 1000m, 100m);
        await buyer.StoreAsync(machine.Id, host.Name);
        await buyer.ActAsync(machine.Id, "start");

        var ledger = await LedgerAsync(market.Provider);

        Assert.Equal([TransferKinds.OpeningCredit, TransferKinds.Storage, TransferKinds.Running], ledger.Select(e => e.Kind));
        Assert.All(ledger.Skip(1), e => Assert.Equal((buyer.Username, market.Provider.Username, (Guid?)machine.Id, host.Name), (e.From, e.To, e.Machine, e.Host)));
        Assert.Equal(1000m + 3m + 0.2016m, await market.Provider.BalanceAsync());
        Assert.DoesNotContain(await LedgerAsync(buyer), e => e.Key == ChargeKey.OpeningCredit(market.Provider.Username));
    }

    [Fact]
    public async Task Ledger_ForOneMachine_ListsOnlyItsTransfers_ForItsOwnerAndForTheProviderItPays()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var host = await market.AddHostAsync();
        var buyer = await market.SignupAsync(Roles.Buyer);
        var first = await buyer.RegisterAsync("Configuration1", 1000m, 100m);
        var second = await buyer.RegisterAsync("Configuration1", 1000m, 100m);
        await buyer.StoreAsync(first.Id, host.Name);
        await buyer.StoreAsync(second.Id, host.Name);

        var mine = await LedgerAsync(buyer, $"?machine={first.Id:D}");
        var theirs = await LedgerAsync(market.Provider, $"?machine={first.Id:D}");

        Assert.Equal([ChargeKey.RegistrationFee(first.Id), ChargeKey.Storage(first.Id, 1, 1)], mine.Select(e => e.Key));
        Assert.Equal([ChargeKey.Storage(first.Id, 1, 1)], theirs.Select(e => e.Key));
    }

    [Fact]
    public async Task Ledger_ForSomeoneElsesMachine_IsNotFound_ExactlyAsForAMachineThatDoesNotExist()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var host = await market.AddHostAsync();
        var owner = await market.SignupAsync(Roles.Buyer, "owner");
        var other = await market.SignupAsync(Roles.Buyer, "other");
        var machine = await owner.RegisterAsync("Configuration1", 1000m, 100m);
        await owner.StoreAsync(machine.Id, host.Name);
        var otherProvider = await market.SignupAsync(Roles.Provider, "other-provider");

        var someoneElses = await Problem.AssertAsync(await other.GetAsync($"/api/v1/ledger?machine={machine.Id:D}"), 404, ErrorCodes.NotFound);
        var nobodys = await Problem.AssertAsync(await other.GetAsync($"/api/v1/ledger?machine={Guid.NewGuid():D}"), 404, ErrorCodes.NotFound);
        var notTheirHost = await Problem.AssertAsync(await otherProvider.GetAsync($"/api/v1/ledger?machine={machine.Id:D}"), 404, ErrorCodes.NotFound);

        Assert.Equal(Problem.Detail(nobodys), Problem.Detail(someoneElses));
        Assert.Equal(Problem.Detail(nobodys), Problem.Detail(notTheirHost));
    }

    [Fact]
    public async Task Ledger_ForAMachineOfMineWithNoTransfersYet_IsAnEmptyList()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        // A marketplace without a registration fee: registering moves no money.
        var free = market.NewFrontEnd(("Virtuoso:RegistrationFee", "0"));
        var buyer = await Session.SignupAsync(free.CreateClient, MarketFixture.UniqueName("buyer"), Roles.Buyer);
        var machine = await buyer.RegisterAsync("Configuration1", 1000m, 100m);

        Assert.Empty(await LedgerAsync(buyer, $"?machine={machine.Id:D}"));
    }

    [Fact]
    public async Task Ledger_WithoutAToken_IsUnauthenticated_AndABadMachineIdIsAValidationError()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var buyer = await market.SignupAsync(Roles.Buyer);

        await Problem.AssertAsync(await market.Anonymous().GetAsync("/api/v1/ledger"), 401, ErrorCodes.Unauthenticated);
        await Problem.AssertAsync(await buyer.GetAsync("/api/v1/ledger?machine=not-a-guid"), 400, ErrorCodes.Validation);
    }

    [Fact]
    public async Task Ledger_OfTheOperator_ListsTheFeesItReceived()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var buyer = await market.SignupAsync(Roles.Buyer);
        var machine = await buyer.RegisterAsync("Configuration1", 1000m, 100m);

        var fees = await LedgerAsync(await market.OperatorAsync());

        Assert.Equal(new LedgerEntry(ChargeKey.RegistrationFee(machine.Id), TransferKinds.RegistrationFee, 0.05m, buyer.Username, Ledger.Operator, machine.Id, null, ClockedMarket.Start, MachineName: machine.Name),
            Assert.Single(fees));
    }

    [Fact]
    public async Task Ledger_NewestFirst_APageAtATime_FollowingTheNextLinkUntilTheOldest()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var host = await market.AddHostAsync();
        var buyer = await market.SignupAsync(Roles.Buyer);
        var machine = await buyer.RegisterAsync("Configuration1", 1000m, 100m);
        await buyer.StoreAsync(machine.Id, host.Name);
        await buyer.ActAsync(machine.Id, "start");
        var all = await Session.Ok<List<LedgerEntry>>(await buyer.GetAsync("/api/v1/ledger"));
        Assert.Equal(4, all.Count);
        Assert.Equal(all.OrderByDescending(e => e.Seq), all); // newest first
        Assert.False((await buyer.GetAsync("/api/v1/ledger")).Headers.Contains("Link"), "a page that is not full is the last");

        var seen = new List<LedgerEntry>();
        var next = "/api/v1/ledger?limit=3";
        while (next is not null)
        {
            var response = await buyer.GetAsync(next);
            seen.AddRange(await Session.Ok<List<LedgerEntry>>(response));
            next = response.Headers.TryGetValues("Link", out var links)
                ? System.Text.RegularExpressions.Regex.Match(links.Single(), "^<([^>]+)>; rel=\"next\"$").Groups[1].Value : null;
            Assert.True(seen.Count <= 6, "the pages end");
        }

        Assert.Equal(all, seen);
        // A transfer made while paging does not shift the older pages: the cursor is a sequence number, not an offset.
        var older = await Session.Ok<List<LedgerEntry>>(await buyer.GetAsync($"/api/v1/ledger?limit=2&before={all[1].Seq}"));
        await buyer.ActAsync(machine.Id, "stop");
        Assert.Equal(older, await Session.Ok<List<LedgerEntry>>(await buyer.GetAsync($"/api/v1/ledger?limit=2&before={all[1].Seq}")));
    }

    [Theory]
    [InlineData("?limit=0")]
    [InlineData("?limit=1001")]
    [InlineData("?limit=-5")]
    [InlineData("?before=0")]
    [InlineData("?limit=many")]
    [InlineData("?before=abc")]
    [InlineData("?before=99999999999999999999")]
    [InlineData("?limit=2147483648")]
    public async Task LedgerAndEvents_BadPaging_IsAValidationError(string query)
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var buyer = await market.SignupAsync(Roles.Buyer);

        await Problem.AssertAsync(await buyer.GetAsync("/api/v1/ledger" + query), 400, ErrorCodes.Validation);
        await Problem.AssertAsync(await buyer.GetAsync("/api/v1/events" + query), 400, ErrorCodes.Validation);
    }

    [Fact]
    public async Task Events_NewestFirst_APageAtATime()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var host = await market.AddHostAsync();
        var buyer = await market.SignupAsync(Roles.Buyer);
        var machine = await buyer.RegisterAsync("Configuration1", 1000m, 100m);
        await buyer.StoreAsync(machine.Id, host.Name);
        await buyer.ActAsync(machine.Id, "start");
        await buyer.ActAsync(machine.Id, "stop");

        var all = await Session.Ok<List<EventResponse>>(await buyer.GetAsync($"/api/v1/events?machine={machine.Id:D}"));
        var first = await buyer.GetAsync($"/api/v1/events?machine={machine.Id:D}&limit=2");
        var second = await buyer.GetAsync($"/api/v1/events?machine={machine.Id:D}&limit=2&before={(await Session.Ok<List<EventResponse>>(first))[^1].Seq}");

        Assert.Equal(["stopped", "started", "stored", "registered"], all.Select(e => e.Kind));
        Assert.Contains($"before={all[1].Seq}", first.Headers.GetValues("Link").Single());
        Assert.Equal(all.Skip(2).Select(e => e.Seq), (await Session.Ok<List<EventResponse>>(second)).Select(e => e.Seq));
    }
}
