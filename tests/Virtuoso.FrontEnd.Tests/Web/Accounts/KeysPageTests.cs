using System.Net;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Web.Accounts;

/// <summary>KeysPageTests on SQLite.</summary>
public sealed class KeysPageTests(MarketFixture market) : KeysPageTests<MarketFixture>(market);

/// <summary>KeysPageTests on PostgreSQL.</summary>
public sealed class KeysPagePostgresTests(PostgresMarketFixture market) : KeysPageTests<PostgresMarketFixture>(market);

/// <summary>
/// My account's SSH keys page (issue 14 item 1): linked from My account, adds and deletes with the forms' anti-forgery
/// token, refuses what the API refuses with the same code, and shows a refused key back in the form.
/// </summary>
public abstract class KeysPageTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    [Fact]
    public async Task Page_LinkedFromMyAccount_AddsListsAndDeletesAKey()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        Assert.Contains("href=\"/account/keys\"", (await buyer.GetAsync("/account")).Html);
        var empty = await buyer.GetAsync("/account/keys");
        Assert.Equal(HttpStatusCode.OK, empty.Status);
        Assert.Contains("No SSH keys yet", empty.Html);

        var added = await buyer.PostFormAsync("/account/keys", new() { ["name"] = "laptop", ["publicKey"] = TestKeys.Ed25519 + "\r\n" });

        Assert.Equal((HttpStatusCode.Redirect, "/account/keys"), (added.Status, added.Location));
        var listed = await buyer.GetAsync("/account/keys");
        Assert.Contains("data-key=\"laptop\"", listed.Html);
        Assert.Contains(TestKeys.Ed25519Fingerprint, WebUtility.HtmlDecode(listed.Html)); // '+' is written &#x2B;
        Assert.Contains("test-ed25519@virtuoso", listed.Html);
        Assert.Contains("SSH keys (1)", (await buyer.GetAsync("/account")).Html);

        var deleted = await buyer.PostFormAsync("/account/keys?handler=delete", new() { ["name"] = "laptop" }, formPage: "/account/keys");

        Assert.Equal((HttpStatusCode.Redirect, "/account/keys"), (deleted.Status, deleted.Location));
        Assert.Empty(await KeysOf(buyer));
    }

    [Fact]
    public async Task Provider_HasTheLinkAndThePage()
    {
        var provider = await WebUser.SignupAsync(market, Roles.Provider);

        Assert.Contains("href=\"/account/keys\"", (await provider.GetAsync("/account")).Html);
        Assert.Equal(HttpStatusCode.Redirect, (await provider.PostFormAsync("/account/keys", new() { ["name"] = "ops", ["publicKey"] = TestKeys.Rsa2048 })).Status);
        Assert.Equal([TestKeys.Rsa2048Fingerprint], (await KeysOf(provider)).Select(k => k.Fingerprint));
    }

    [Fact]
    public async Task PrivateKey_IsRefusedAsTheApiRefusesIt_ShownBackInTheForm_AndNothingStored()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);

        var refused = await buyer.PostFormAsync("/account/keys", new() { ["name"] = "oops", ["publicKey"] = TestKeys.PrivateKey });

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal(ErrorCodes.InvalidKey, refused.ProblemCode);
        Assert.Contains("This is a private key; give the .pub file", refused.Problem);
        Assert.Contains("value=\"oops\"", refused.Html);
        Assert.Empty(await KeysOf(buyer));
    }

    [Fact]
    public async Task DeletingAnotherUsersKey_IsNotFound_AndTheirKeyStays()
    {
        var owner = await WebUser.SignupAsync(market, Roles.Buyer);
        Assert.Equal(HttpStatusCode.Redirect, (await owner.PostFormAsync("/account/keys", new() { ["name"] = "mine", ["publicKey"] = TestKeys.Ecdsa256 })).Status);
        var other = await WebUser.SignupAsync(market, Roles.Buyer);

        var refused = await other.PostFormAsync("/account/keys?handler=delete", new() { ["name"] = "mine" }, formPage: "/account/keys");

        Assert.Equal((HttpStatusCode.NotFound, ErrorCodes.NotFound), (refused.Status, refused.ProblemCode));
        Assert.DoesNotContain("data-key=\"mine\"", (await other.GetAsync("/account/keys")).Html);
        Assert.Equal(["mine"], (await KeysOf(owner)).Select(k => k.Name));
    }

    [Fact]
    public async Task PostsWithoutAntiforgeryToken_AreRefused_AndChangeNothing()
    {
        var buyer = await WebUser.SignupAsync(market, Roles.Buyer);
        Assert.Equal(HttpStatusCode.Redirect, (await buyer.PostFormAsync("/account/keys", new() { ["name"] = "kept", ["publicKey"] = TestKeys.Ed25519 })).Status);

        Assert.Equal(HttpStatusCode.BadRequest, (await buyer.PostRawAsync("/account/keys", new() { ["name"] = "forged", ["publicKey"] = TestKeys.Ecdsa256 })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await buyer.PostRawAsync("/account/keys?handler=delete", new() { ["name"] = "kept" })).Status);

        Assert.Equal(["kept"], (await KeysOf(buyer)).Select(k => k.Name));
    }

    [Fact]
    public async Task Anonymous_IsSentToLogIn()
    {
        var page = await WebUser.Anonymous(market).GetAsync("/account/keys");

        Assert.Equal(HttpStatusCode.Redirect, page.Status);
        Assert.StartsWith("/login?returnUrl=", page.Location);
    }

    private async Task<List<KeyResponse>> KeysOf(WebUser user) =>
        await Session.Ok<List<KeyResponse>>(await (await user.ApiAsync(market)).GetAsync("/api/v1/keys"));
}
