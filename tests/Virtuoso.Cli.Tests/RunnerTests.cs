using Virtuoso.Cli.Tests.Support;

namespace Virtuoso.Cli.Tests;

public sealed class RunnerTests : IAsyncLifetime
{
    private Harness h = null!;

    public async Task InitializeAsync() => h = await Harness.StartAsync();

    public async Task DisposeAsync() => await h.DisposeAsync();

    [Fact]
    public async Task NotLoggedIn_RefusesBeforeCallingTheServer()
    {
        var line = (await h.RunAsync("machines")).Failed(1, "unauthenticated");
        Assert.Contains("virtuoso login", line);
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task LoggedInToAnotherServer_SaysWhichOne()
    {
        h.LogIn(server: "http://10.9.9.9:5080");
        var line = (await h.RunAsync("machines")).Failed(1, "unauthenticated");
        Assert.Contains("http://10.9.9.9:5080", line);
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task LoggedIn_SendsTheBearerToken()
    {
        h.LogIn(token: "t0k3n").Api.Json("GET /api/v1/machines", Array.Empty<object>());
        (await h.RunAsync("machines")).Succeeded();
        Assert.Equal("Bearer t0k3n", Assert.Single(h.Api.Requests).Authorization);
    }

    [Fact]
    public async Task StoredServerWithTrailingSlash_IsTheSameServer()
    {
        h.LogIn(server: h.Api.Url + "/").Api.Json("GET /api/v1/machines", Array.Empty<object>());
        (await h.RunAsync("machines")).Succeeded();
    }

    [Fact]
    public async Task MarketAndConfigs_WorkLoggedOut_WithoutAToken()
    {
        h.Api.Json("GET /api/v1/market", Array.Empty<object>()).Json("GET /api/v1/configurations", Array.Empty<object>());
        (await h.RunAsync("market")).Succeeded();
        (await h.RunAsync("configs")).Succeeded();
        Assert.All(h.Api.Requests, request => Assert.Null(request.Authorization));
    }

    [Fact]
    public async Task MarketLoggedIn_SendsTheToken()
    {
        h.LogIn().Api.Json("GET /api/v1/market", Array.Empty<object>());
        (await h.RunAsync("market")).Succeeded();
        Assert.Equal("Bearer token-alice", Assert.Single(h.Api.Requests).Authorization);
    }

    [Fact]
    public async Task CorruptCredentials_AreOneLineError()
    {
        Directory.CreateDirectory(h.VirtuosoHome);
        await File.WriteAllTextAsync(h.CredentialsFile, "{ not json");
        var line = (await h.RunAsync("machines")).Failed(1, "local-files");
        Assert.Contains(h.CredentialsFile, line);
    }

    [Fact]
    public async Task ServerRefusal_PrintsNothingOnStdout_EvenAfterEarlierCalls()
    {
        // The id is resolved with a first call that succeeds; the second fails: stdout must stay empty.
        h.LogIn().Api.Json("GET /api/v1/machines", new[] { Samples.Machine() })
            .Problem($"POST /api/v1/machines/{Samples.WebId}/start", 409, "invalid-state", "Not allowed", "web-1 is registered: store it first");
        var line = (await h.RunAsync("start", "web-1")).Failed(1, "invalid-state");
        Assert.Equal("error: web-1 is registered: store it first (invalid-state)", line);
    }
}
