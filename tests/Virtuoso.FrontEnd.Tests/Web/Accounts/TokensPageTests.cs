using System.Net;
using System.Text.RegularExpressions;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Web.Accounts;

/// <summary>TokensPageTests on SQLite.</summary>
public sealed class TokensPageTests(MarketFixture market) : TokensPageTests<MarketFixture>(market);

/// <summary>TokensPageTests on PostgreSQL.</summary>
public sealed class TokensPagePostgresTests(PostgresMarketFixture market) : TokensPageTests<PostgresMarketFixture>(market);

/// <summary>
/// My account's API keys page (issue 20 point 2): linked from My account, with a helpful empty state; making a key shows it
/// once in a copy box (never again, not cached), the key then works on the API; revoking asks first and ends it; refusals
/// are the API's, with the same codes.
/// </summary>
public abstract partial class TokensPageTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    [GeneratedRegex("id=\"new-key\"[^>]*value=\"(vk_[A-Za-z0-9_-]+)\"")] private static partial Regex NewKeyRx();

    [Fact]
    public async Task Page_LinkedFromMyAccount_MakesAKeyShownOnce_ThatWorksOnTheApi_ThenRevokesIt()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        Assert.Contains("href=\"/account/tokens\"", (await buyer.GetAsync("/account")).Html);
        var empty = await buyer.GetAsync("/account/tokens");
        Assert.Equal(HttpStatusCode.OK, empty.Status);
        Assert.Contains("No API keys yet", empty.Html);

        var made = await buyer.PostFormAsync("/account/tokens", new() { ["name"] = "ci", ["scope"] = "read", ["expires"] = "30d" });

        Assert.Equal(HttpStatusCode.OK, made.Status);
        Assert.Contains("no-store", made.Response.Headers.CacheControl?.ToString());
        Assert.Contains("shown only this once", made.Html);
        Assert.Contains("data-copy=\"#new-key\"", made.Html);
        var key = NewKeyRx().Match(made.Html).Groups[1].Value;
        Assert.StartsWith("vk_", key);
        var api = Session.WithToken(market.Anonymous(), key);
        Assert.Equal(buyer.Username, (await Session.Ok<AccountResponse>(await api.GetAsync("/api/v1/account"))).Username);

        var listed = await buyer.GetAsync("/account/tokens");
        Assert.Contains("data-token=\"ci\"", listed.Html);
        Assert.DoesNotContain(key, listed.Html);
        Assert.DoesNotContain("id=\"new-key\"", listed.Html);
        Assert.Contains("data-confirm=\"Revoke the API key ci?", listed.Html);
        Assert.Contains("API keys (1)", (await buyer.GetAsync("/account")).Html);

        var revoked = await buyer.PostFormAsync("/account/tokens?handler=revoke", new() { ["name"] = "ci" }, formPage: "/account/tokens");

        Assert.Equal((HttpStatusCode.Redirect, "/account/tokens"), (revoked.Status, revoked.Location));
        Assert.Contains("API key ci revoked", (await buyer.GetAsync("/account/tokens")).Html);
        await Problem.AssertAsync(await api.GetAsync("/api/v1/account"), 401, ErrorCodes.InvalidApiKey);
    }

    [Fact]
    public async Task BadExpiry_IsRefusedAsTheApiRefusesIt_ShownBackInTheForm_AndNothingMade()
    {
        var provider = await WebUser.SignupAsync(market, Roles.Provider);

        var refused = await provider.PostFormAsync("/account/tokens", new() { ["name"] = "ops", ["scope"] = "write", ["expires"] = "999d" });

        Assert.Equal((HttpStatusCode.BadRequest, ErrorCodes.InvalidExpiry), (refused.Status, refused.ProblemCode));
        Assert.Contains("value=\"ops\"", refused.Html);
        Assert.DoesNotContain("id=\"new-key\"", refused.Html);
        Assert.Contains("No API keys yet", refused.Html);
    }

    [Fact]
    public async Task RevokingAnotherUsersKey_IsNotFound_AndTheirKeyStays()
    {
        var owner = await WebUser.SignupAsync(market, Roles.Buyer);
        Assert.Equal(HttpStatusCode.OK, (await owner.PostFormAsync("/account/tokens", new() { ["name"] = "mine", ["scope"] = "write", ["expires"] = "never" })).Status);
        var other = await WebUser.SignupAsync(market, Roles.Buyer);

        var refused = await other.PostFormAsync("/account/tokens?handler=revoke", new() { ["name"] = "mine" }, formPage: "/account/tokens");

        Assert.Equal((HttpStatusCode.NotFound, ErrorCodes.NotFound), (refused.Status, refused.ProblemCode));
        Assert.Contains("data-token=\"mine\"", (await owner.GetAsync("/account/tokens")).Html);
    }

    [Fact]
    public async Task Page_NeedsALogIn()
    {
        var page = await WebUser.Anonymous(market).GetAsync("/account/tokens");

        Assert.Equal(HttpStatusCode.Redirect, page.Status);
        Assert.StartsWith("/login", page.Location);
    }
}
