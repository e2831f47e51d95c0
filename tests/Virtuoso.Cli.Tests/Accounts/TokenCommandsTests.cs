using Virtuoso.Cli.Tests.Support;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Tests.Accounts;

/// <summary>virtuoso tokens, tokens create, tokens revoke, and VIRTUOSO_API_KEY (issue 20 point 2) against the fake API.</summary>
public sealed class TokenCommandsTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private const string Key = "vk_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

    private Harness h = null!;

    public async Task InitializeAsync() => h = (await Harness.StartAsync()).LogIn();

    public async Task DisposeAsync() => await h.DisposeAsync();

    [Fact]
    public async Task Tokens_ListsNameScopeMadeExpiresAndLastUsed_NeverAKey()
    {
        h.Api.Json("GET /api/v1/tokens", new[]
        {
            new ApiKeyResponse("ci", "read", T, T.AddDays(30), T.AddHours(1), false),
            new ApiKeyResponse("terraform", "write", T, null, null, false),
            new ApiKeyResponse("old", "read", T.AddDays(-40), T.AddDays(-10), null, true),
        });

        var run = (await h.RunAsync("tokens")).Succeeded();

        var lines = run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^NAME\s+SCOPE\s+MADE\s+EXPIRES\s+LAST USED$", lines[0]);
        Assert.Matches(@"^ci\s+read\s+2026-12-06 12:00:00Z\s+2027-01-05 12:00:00Z\s+2026-12-06 13:00:00Z$", lines[1]);
        Assert.Matches(@"^terraform\s+write\s+2026-12-06 12:00:00Z\s+never\s+never$", lines[2]);
        Assert.Matches(@"^old\s+read\s+2026-10-27 12:00:00Z\s+expired 2026-11-26 12:00:00Z\s+never$", lines[3]);
        Assert.Equal("Bearer token-alice", Assert.Single(h.Api.Requests).Authorization);
    }

    [Fact]
    public async Task Tokens_None_SaysHowToMakeOne()
    {
        h.Api.Json("GET /api/v1/tokens", Array.Empty<ApiKeyResponse>());

        Assert.Contains("No API keys yet. Make one with: virtuoso tokens create NAME --scope read", (await h.RunAsync("tokens")).Succeeded().Out);
    }

    [Fact]
    public async Task Create_SendsNameScopeAndExpiry_PrintsTheKeyOnce_AndHowToUseIt()
    {
        h.Api.Json("POST /api/v1/tokens", new NewApiKeyResponse("ci", "read", T, T.AddDays(30), Key), 201);

        var run = (await h.RunAsync("tokens", "create", "ci", "--scope", "read", "--expires", "30d")).Succeeded();

        Assert.Equal(new CreateApiKeyRequest("ci", "read", "30d"), Assert.Single(h.Api.Requests).BodyAs<CreateApiKeyRequest>());
        Assert.Contains("Made API key ci (read, expires 2027-01-05 12:00:00Z).", run.Out);
        Assert.Contains("it is not shown again", run.Out);
        Assert.Contains($"\n  {Key}\n", run.Out);
        Assert.Contains($"export VIRTUOSO_API_KEY={Key}", run.Out);
        Assert.Contains($"curl -H \"Authorization: Bearer {Key}\" {h.Api.Url.TrimEnd('/')}/api/v1/account", run.Out);
    }

    [Fact]
    public async Task Create_WithoutExpiry_SendsNone_AndJsonIsTheAnswer()
    {
        h.Api.Json("POST /api/v1/tokens", new NewApiKeyResponse("tf", "write", T, null, Key), 201);

        var json = (await h.RunAsync("tokens", "create", "tf", "--scope", "write", "--json")).Succeeded().Json;

        Assert.Null(Assert.Single(h.Api.Requests).BodyAs<CreateApiKeyRequest>().Expires);
        Assert.Equal(Key, json.GetProperty("key").GetString());
    }

    [Theory]
    [InlineData("--scope", "admin")]
    [InlineData("--expires", "30d")]
    public async Task Create_WithABadOrMissingScope_IsAUsageError_AndSendsNothing(string option, string value)
    {
        var line = (await h.RunAsync("tokens", "create", "ci", option, value)).Failed(2, "usage");

        Assert.Contains("scope", line);
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task Create_Refused_IsTheServersOneLine()
    {
        h.Api.Problem("POST /api/v1/tokens", 400, ErrorCodes.InvalidExpiry, "Not a key lifetime", "expiry must be a number of hours or days such as 12h, 30d or 365d (1 hour to 365 days), or 'never', not '400d'");

        var line = (await h.RunAsync("tokens", "create", "ci", "--scope", "read", "--expires", "400d")).Failed(1, ErrorCodes.InvalidExpiry);

        Assert.Contains("not '400d'", line);
    }

    [Fact]
    public async Task Revoke_DeletesThatKey()
    {
        h.Api.NoContent("DELETE /api/v1/tokens/ci");

        var run = (await h.RunAsync("tokens", "revoke", "ci")).Succeeded();

        Assert.Equal(("DELETE", "/api/v1/tokens/ci"), (h.Api.Requests[0].Method, h.Api.Requests[0].Path));
        Assert.Equal("Revoked API key ci: calls with it are refused from now on.\n", run.Out);
    }

    [Fact]
    public async Task Revoke_UnknownKey_IsTheServersNotFound()
    {
        h.Api.Problem("DELETE /api/v1/tokens/nope", 404, ErrorCodes.NotFound, "Not found", "API key 'nope' not found");

        Assert.Equal("error: API key 'nope' not found (not-found)", (await h.RunAsync("tokens", "revoke", "nope")).Failed(1, ErrorCodes.NotFound));
    }

    [Fact]
    public async Task ApiKeyVariable_IsSentInsteadOfTheStoredLogin()
    {
        h.Environment["VIRTUOSO_API_KEY"] = Key;
        h.Api.Json("GET /api/v1/account", Samples.BuyerAccount());

        (await h.RunAsync("account")).Succeeded();

        Assert.Equal($"Bearer {Key}", Assert.Single(h.Api.Requests).Authorization);
    }

    [Fact]
    public async Task ApiKeyVariable_NeedsNoStoredLogin()
    {
        File.Delete(h.CredentialsFile);
        h.Environment["VIRTUOSO_API_KEY"] = Key;
        h.Api.Json("GET /api/v1/tokens", Array.Empty<ApiKeyResponse>());

        (await h.RunAsync("tokens")).Succeeded();

        Assert.Equal($"Bearer {Key}", Assert.Single(h.Api.Requests).Authorization);
    }

    [Fact]
    public async Task ApiKeyVariable_Ledger_LearnsWhoIAmFromTheAccount()
    {
        File.Delete(h.CredentialsFile);
        h.Environment["VIRTUOSO_API_KEY"] = Key;
        var me = Samples.BuyerAccount();
        h.Api.Json("GET /api/v1/account", me);
        h.Api.Json("GET /api/v1/ledger", new[] { new LedgerEntry($"account:{me.Username}:opening-credit", "opening-credit", 1000m, "deposits", me.Username, null, null, T) });

        var run = (await h.RunAsync("ledger")).Succeeded();

        Assert.Matches(@"opening-credit\s+\$1000\s+\+\$1000", run.Out);
    }

    [Fact]
    public async Task ApiKeyVariable_IsNotLoggedOut_AndTheStoredLoginStays()
    {
        h.Environment["VIRTUOSO_API_KEY"] = Key;

        var line = (await h.RunAsync("logout")).Failed(2, "usage");

        Assert.Contains("unset it", line);
        Assert.True(File.Exists(h.CredentialsFile));
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task ApiKeyVariable_IsNotSentToSignupOrLogin()
    {
        h.Environment["VIRTUOSO_API_KEY"] = Key;
        h.Api.Json("POST /api/v1/sessions", new SessionResponse("token-bob", "bob", "buyer"));

        (await h.RunAsync("login", "bob", "--password", "bob-password")).Succeeded();

        Assert.Null(Assert.Single(h.Api.Requests).Authorization);
    }
}
