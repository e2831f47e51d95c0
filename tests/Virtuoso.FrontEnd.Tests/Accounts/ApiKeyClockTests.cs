using System.Net;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Tests.Accounting;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Accounts;

/// <summary>ApiKeyClockTests on SQLite.</summary>
public sealed class ApiKeyClockTests() : ApiKeyClockTestsBase(postgres: false);

/// <summary>ApiKeyClockTests on PostgreSQL.</summary>
public sealed class ApiKeyClockPostgresTests() : ApiKeyClockTestsBase(postgres: true);

/// <summary>
/// API keys against the test clock (issue 20 point 2): a key works until the instant it expires, then is refused with
/// <c>expired-api-key</c> and listed as expired; "last used" follows the calls to the minute; and the operator's read
/// key cannot deposit.
/// </summary>
public abstract class ApiKeyClockTestsBase(bool postgres)
{
    private static async Task<NewApiKeyResponse> MakeAsync(Session owner, string name, string scope, string? expires = null) =>
        await Session.Ok<NewApiKeyResponse>(await owner.PostAsync("/api/v1/tokens", new CreateApiKeyRequest(name, scope, expires)));

    private static Session As(ClockedMarket market, Session owner, NewApiKeyResponse key) =>
        new(Session.WithToken(market.Anonymous(), key.Key), owner.Username, owner.Password, key.Key, null);

    [Fact]
    public async Task Key_WorksUntilItsExpiry_ThenIsRefusedAsExpired_AndListedSo()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var buyer = await market.SignupAsync(Roles.Buyer);
        var made = await MakeAsync(buyer, "nightly", "write", "12h");
        Assert.Equal(ClockedMarket.Start.AddHours(12), made.ExpiresAt);
        var key = As(market, buyer, made);

        market.Clock.Advance(TimeSpan.FromHours(12) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(HttpStatusCode.OK, (await key.GetAsync("/api/v1/account")).StatusCode);
        market.Clock.Advance(TimeSpan.FromMilliseconds(1));

        var problem = await Problem.AssertAsync(await key.GetAsync("/api/v1/account"), 401, ErrorCodes.ExpiredApiKey);
        Assert.Contains("'nightly' expired on 2026-10-16 00:00 UTC", Problem.Detail(problem));
        await Problem.AssertAsync(await key.PostAsync("/api/v1/machines", new RegisterRequest("Configuration1", null, null, null, null, null, null, 1m, 1m)), 401, ErrorCodes.ExpiredApiKey);
        var listed = Assert.Single(await Session.Ok<List<ApiKeyResponse>>(await buyer.GetAsync("/api/v1/tokens")));
        Assert.True(listed.Expired);
        Assert.Empty(await buyer.MachinesAsync());
        // Revoking an expired key removes it.
        Assert.Equal(HttpStatusCode.NoContent, (await buyer.DeleteAsync("/api/v1/tokens/nightly")).StatusCode);
        await Problem.AssertAsync(await key.GetAsync("/api/v1/account"), 401, ErrorCodes.InvalidApiKey);
    }

    [Fact]
    public async Task LastUsed_FollowsTheCalls_ToTheMinute()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var buyer = await market.SignupAsync(Roles.Buyer);
        var key = As(market, buyer, await MakeAsync(buyer, "poller", "read"));
        async Task<DateTimeOffset?> LastUsedAsync() =>
            Assert.Single(await Session.Ok<List<ApiKeyResponse>>(await buyer.GetAsync("/api/v1/tokens"))).LastUsedAt;
        Assert.Null(await LastUsedAsync());

        market.Clock.Advance(TimeSpan.FromMinutes(5));
        await key.AccountAsync();
        Assert.Equal(ClockedMarket.Start.AddMinutes(5), await LastUsedAsync());

        market.Clock.Advance(TimeSpan.FromSeconds(59));
        await key.AccountAsync();
        Assert.Equal(ClockedMarket.Start.AddMinutes(5), await LastUsedAsync()); // not a write per call

        market.Clock.Advance(TimeSpan.FromSeconds(1));
        await key.AccountAsync();
        Assert.Equal(ClockedMarket.Start.AddMinutes(6), await LastUsedAsync());
    }

    [Fact]
    public async Task OperatorsReadKey_CannotDeposit_ButTheOperatorsSessionCan()
    {
        await using var market = await ClockedMarket.StartAsync(postgres);
        var buyer = await market.SignupAsync(Roles.Buyer);
        var op = await market.OperatorAsync();
        var reader = As(market, op, await MakeAsync(op, "books", "read"));
        var before = await market.Database.BalancesAsync();

        await Problem.AssertAsync(await reader.PostAsync("/api/v1/deposits", new DepositRequest(buyer.Username, 50m, "dep-1")), 403, ErrorCodes.ReadOnlyKey);

        Assert.Equal(before, await market.Database.BalancesAsync());
        Assert.Equal(HttpStatusCode.Created, (await op.PostAsync("/api/v1/deposits", new DepositRequest(buyer.Username, 50m, "dep-1"))).StatusCode);
        Assert.Equal(before[buyer.Username] + 50m, (await market.Database.BalancesAsync())[buyer.Username]);
        Assert.Equal(Ledger.Operator, (await reader.AccountAsync()).Username);
    }
}
