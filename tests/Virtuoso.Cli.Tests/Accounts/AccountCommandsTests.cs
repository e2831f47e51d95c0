using System.Text.Json;
using Virtuoso.Cli.Tests.Support;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Tests.Accounts;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // file modes are checked
public sealed class AccountCommandsTests : IAsyncLifetime
{
    private Harness h = null!;

    public async Task InitializeAsync() => h = await Harness.StartAsync();

    public async Task DisposeAsync() => await h.DisposeAsync();

    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Theory]
    [InlineData("--buyer", "buyer")]
    [InlineData("--provider", "provider")]
    public async Task Signup_PostsTheAccount_WithoutAToken(string flag, string type)
    {
        h.LogIn().Api.Json("POST /api/v1/accounts", Samples.BuyerAccount() with { Type = type }, 201);

        var run = (await h.RunAsync("signup", "bob", "--password", "s3cret-pass", "--email", "bob@example.com", flag)).Succeeded();

        var request = Assert.Single(h.Api.Requests);
        Assert.Equal(new SignupRequest("bob", "s3cret-pass", "bob@example.com", type), request.BodyAs<SignupRequest>());
        Assert.Null(request.Authorization);
        Assert.Contains($"Created {type} account bob", run.Out);
        Assert.Contains("virtuoso login bob", run.Out);
    }

    [Fact]
    public async Task Signup_Json_PrintsTheServersAnswer()
    {
        h.Api.Json("POST /api/v1/accounts", Samples.BuyerAccount(), 201);
        var run = (await h.RunAsync("signup", "alice", "--password", "s3cret-pass", "--email", "a@example.com", "--buyer", "--json")).Succeeded();
        Assert.Equal("alice", run.Json.GetProperty("username").GetString());
    }

    [Fact]
    public async Task Signup_Json_WithEmptyAnswer_PrintsEmptyObject()
    {
        h.Api.Raw("POST /api/v1/accounts", 201, "", "");
        var run = (await h.RunAsync("signup", "alice", "--password", "s3cret-pass", "--email", "a@example.com", "--buyer", "--json")).Succeeded();
        Assert.Equal(JsonValueKind.Object, run.Json.ValueKind);
        Assert.Empty(run.Json.EnumerateObject());
    }

    [Theory]
    [InlineData("--buyer", "--provider")]
    [InlineData]
    public async Task Signup_NeedsExactlyOneRole(params string[] roles)
    {
        var line = (await h.RunAsync(["signup", "bob", "--password", "s3cret-pass", "--email", "b@example.com", .. roles])).Failed(2, "usage");
        Assert.Contains("--buyer or --provider", line);
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task Signup_ShortPassword_IsRefusedLocally()
    {
        (await h.RunAsync("signup", "bob", "--password", "short", "--email", "b@example.com", "--buyer")).Failed(2, "usage");
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task Signup_UsernameTaken_IsTheServersRefusal()
    {
        h.Api.Problem("POST /api/v1/accounts", 409, ErrorCodes.UsernameTaken, "Conflict", "username bob is taken");
        var line = (await h.RunAsync("signup", "bob", "--password", "s3cret-pass", "--email", "b@example.com", "--buyer")).Failed(1, "username-taken");
        Assert.Equal("error: username bob is taken (username-taken)", line);
    }

    [Fact]
    public async Task Login_WritesCredentials_OwnerOnly_InVirtuosoHome()
    {
        h.Api.Json("POST /api/v1/sessions", new SessionResponse("tok-123", "alice", "buyer"));

        var run = (await h.RunAsync("login", "alice", "--password", "s3cret-pass")).Succeeded();

        Assert.Equal(new LoginRequest("alice", "s3cret-pass"), Assert.Single(h.Api.Requests).BodyAs<LoginRequest>());
        Assert.Equal($"Logged in to {h.Api.Url} as alice (buyer).\n", run.Out);
        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(h.CredentialsFile));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(h.VirtuosoHome));
        using var stored = JsonDocument.Parse(await File.ReadAllTextAsync(h.CredentialsFile));
        Assert.Equal(h.Api.Url, stored.RootElement.GetProperty("server").GetString());
        Assert.Equal("alice", stored.RootElement.GetProperty("username").GetString());
        Assert.Equal("tok-123", stored.RootElement.GetProperty("token").GetString());
        Assert.False(File.Exists(h.CredentialsFile + ".tmp"));
    }

    [Fact]
    public async Task Login_WithoutVirtuosoHome_UsesDotVirtuosoInHome()
    {
        h.Environment.Remove("VIRTUOSO_HOME");
        h.Api.Json("POST /api/v1/sessions", new SessionResponse("tok-123", "alice", "buyer"));

        (await h.RunAsync("login", "alice", "--password", "s3cret-pass")).Succeeded();

        var file = Path.Combine(h.Environment["HOME"]!, ".virtuoso", "credentials.json");
        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(file));
        Assert.False(File.Exists(h.CredentialsFile));
    }

    [Theory]
    [InlineData("@not-a-response-file")]
    [InlineData("-starts-with-dash")]
    [InlineData("has spaces & \"quotes\"")]
    public async Task Login_PasswordIsTakenVerbatim(string password)
    {
        h.Api.Json("POST /api/v1/sessions", new SessionResponse("tok-123", "alice", "buyer"));
        (await h.RunAsync("login", "alice", "--password", password)).Succeeded();
        Assert.Equal(password, Assert.Single(h.Api.Requests).BodyAs<LoginRequest>().Password);
    }

    [Fact]
    public async Task Login_ThenACommand_UsesTheNewToken()
    {
        h.Api.Json("POST /api/v1/sessions", new SessionResponse("tok-123", "alice", "buyer"))
            .Json("GET /api/v1/account", Samples.BuyerAccount());

        (await h.RunAsync("login", "alice", "--password", "s3cret-pass")).Succeeded();
        (await h.RunAsync("account")).Succeeded();

        Assert.Equal("Bearer tok-123", h.Api.Requests[1].Authorization);
    }

    [Fact]
    public async Task Login_Json_PrintsTheSession()
    {
        h.Api.Json("POST /api/v1/sessions", new SessionResponse("tok-123", "alice", "buyer"));
        var run = (await h.RunAsync("login", "alice", "--password", "s3cret-pass", "--json")).Succeeded();
        Assert.Equal("tok-123", run.Json.GetProperty("token").GetString());
        Assert.Equal("buyer", run.Json.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Login_Refused_KeepsTheOldCredentials()
    {
        h.LogIn(token: "old");
        var before = await File.ReadAllTextAsync(h.CredentialsFile);
        h.Api.Problem("POST /api/v1/sessions", 401, ErrorCodes.InvalidCredentials, "Unauthorized", "wrong username or password");

        (await h.RunAsync("login", "alice", "--password", "wrong-pass")).Failed(1, "invalid-credentials");

        Assert.Equal(before, await File.ReadAllTextAsync(h.CredentialsFile));
    }

    [Fact]
    public async Task Login_UnwritableHome_IsOneLineError()
    {
        await File.WriteAllTextAsync(Path.Combine(h.Root, "file"), "");
        h.Environment["VIRTUOSO_HOME"] = Path.Combine(h.Root, "file", "sub");
        h.Api.Json("POST /api/v1/sessions", new SessionResponse("tok-123", "alice", "buyer"));

        (await h.RunAsync("login", "alice", "--password", "s3cret-pass")).Failed(1, "local-files");
    }

    [Fact]
    public async Task Login_RewritesAnExistingFile_StillOwnerOnly()
    {
        Directory.CreateDirectory(h.VirtuosoHome);
        await File.WriteAllTextAsync(h.CredentialsFile, "{}");
        File.SetUnixFileMode(h.CredentialsFile, OwnerReadWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        h.Api.Json("POST /api/v1/sessions", new SessionResponse("tok-123", "alice", "buyer"));

        (await h.RunAsync("login", "alice", "--password", "s3cret-pass")).Succeeded();

        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(h.CredentialsFile));
    }

    [Fact]
    public async Task Logout_EndsTheSession_AndRemovesTheFile()
    {
        h.LogIn(token: "tok-9").Api.NoContent("DELETE /api/v1/sessions/current");

        var run = (await h.RunAsync("logout")).Succeeded();

        var request = Assert.Single(h.Api.Requests);
        Assert.Equal(("DELETE", "/api/v1/sessions/current", "Bearer tok-9"), (request.Method, request.Path, request.Authorization));
        Assert.False(File.Exists(h.CredentialsFile));
        Assert.Contains("Logged out alice", run.Out);
    }

    [Fact]
    public async Task Logout_Json_PrintsEmptyObject()
    {
        h.LogIn().Api.NoContent("DELETE /api/v1/sessions/current");
        var run = (await h.RunAsync("logout", "--json")).Succeeded();
        Assert.Equal("{}", run.Out.Trim());
    }

    [Fact]
    public async Task Logout_OfAnExpiredSession_StillForgetsIt()
    {
        h.LogIn().Api.Problem("DELETE /api/v1/sessions/current", 401, ErrorCodes.Unauthenticated, "Unauthorized");
        (await h.RunAsync("logout")).Succeeded();
        Assert.False(File.Exists(h.CredentialsFile));
    }

    [Fact]
    public async Task Logout_WhenTheServerFails_KeepsTheFile()
    {
        h.LogIn();
        (await h.RunAsync("logout", "--server", "http://127.0.0.1:1")).Failed(1, "unauthenticated"); // other server
        h.Api.Problem("DELETE /api/v1/sessions/current", 500, null, "Internal Server Error");
        (await h.RunAsync("logout")).Failed(1, "http-500");
        Assert.True(File.Exists(h.CredentialsFile));
    }

    [Fact]
    public async Task Logout_WhenNotLoggedIn_SaysSo()
    {
        var run = (await h.RunAsync("logout")).Succeeded();
        Assert.Equal("Not logged in.\n", run.Out);
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task Account_Json_HasTheBalanceAsAnUnroundedNumber()
    {
        h.LogIn().Api.Json("GET /api/v1/account", Samples.BuyerAccount());
        var run = (await h.RunAsync("account", "--json")).Succeeded();
        Assert.Equal(JsonValueKind.Number, run.Json.GetProperty("balance").ValueKind);
        Assert.Contains("\"balance\": 999.6256,", run.Out);
    }

    [Fact]
    public async Task Account_Human_ShowsBalance_Prices_AndBillingTimes()
    {
        h.LogIn().Api.Json("GET /api/v1/account", Samples.BuyerAccount());
        var run = (await h.RunAsync("account")).Succeeded();
        Assert.Contains("balance:  $999.6256", run.Out);
        Assert.Contains("$30 per 30 days", run.Out);
        Assert.Contains("$0.3744 per 3600 s", run.Out);
        Assert.Contains("in 29d 23h 43m 20s", run.Out);
        Assert.Contains("30m 0.5s", run.Out);
    }

    [Fact]
    public async Task Account_Provider_ShowsIncomePerHost()
    {
        var account = new AccountResponse("paul", "paul@example.com", "provider", 12.5m, [],
            [new AccountHost("virt13", 12.5m, [new AccountHostMachine(Samples.WebId, "alice", "running", 4000, 256, 1000, 30m, 30, 0.3744m, 3600, 12.5m)])]);
        h.LogIn("paul", "provider").Api.Json("GET /api/v1/account", account);

        var run = (await h.RunAsync("account")).Succeeded();

        Assert.Contains("Host virt13: income $12.5", run.Out);
        Assert.Contains(Samples.WebId.ToString(), run.Out);
    }
}
