using Virtuoso.Cli.Tests.Support;

namespace Virtuoso.Cli.Tests;

public sealed class CliTests : IAsyncLifetime
{
    private Harness h = null!;

    public async Task InitializeAsync() => h = await Harness.StartAsync();

    public async Task DisposeAsync() => await h.DisposeAsync();

    [Fact]
    public async Task NoCommand_IsOneLineUsageError()
    {
        var line = (await h.RunAsync()).Failed(2, "usage");
        Assert.Contains("virtuoso --help", line);
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("machines", "extra")]
    [InlineData("configs", "--no-such-option")]
    public async Task UnknownWords_AreOneLineUsageErrors(params string[] args)
    {
        var line = (await h.RunAsync(args)).Failed(2, "usage");
        Assert.Contains($"'{args[^1]}'", line);
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task MissingArgument_NamesTheCommandsHelp()
    {
        var line = (await h.RunAsync("machine")).Failed(2, "usage");
        Assert.Contains("virtuoso machine --help", line);
    }

    [Fact]
    public async Task Help_GoesToStdout_AndListsEveryCommand()
    {
        var run = (await h.RunAsync("--help")).Succeeded();
        foreach (var command in new[] { "signup", "login", "logout", "configs", "register", "edit", "machines", "machine", "search", "store",
                     "start", "stop", "suspend", "resume", "delete", "serial", "account", "keys", "events", "hosts", "host", "market" })
        {
            Assert.Contains($"  {command}", run.Out);
        }
    }

    [Fact]
    public async Task HostHelp_ListsItsSubcommands()
    {
        var run = (await h.RunAsync("host", "--help")).Succeeded();
        Assert.Contains("add <NAME>", run.Out);
        Assert.Contains("edit <NAME>", run.Out);
        Assert.Contains("delete <NAME>", run.Out);
    }

    [Fact]
    public async Task KeysHelp_ListsItsSubcommands()
    {
        var run = (await h.RunAsync("keys", "--help")).Succeeded();
        Assert.Contains("add <NAME>", run.Out);
        Assert.Contains("--file <PATH.pub>", (await h.RunAsync("keys", "add", "--help")).Succeeded().Out);
        Assert.Contains("delete <NAME>", run.Out);
    }

    [Fact]
    public async Task VirtuosoServer_IsTheDefaultServer()
    {
        h.Api.Json("GET /api/v1/configurations", Samples.Configurations());
        (await h.RunAsync("configs")).Succeeded();
        Assert.Single(h.Api.Requests);
    }

    [Fact]
    public async Task ServerOption_OverridesVirtuosoServer()
    {
        await using var other = await FakeApi.StartAsync();
        other.Json("GET /api/v1/market", Array.Empty<object>());
        h.Environment["VIRTUOSO_SERVER"] = "http://127.0.0.1:1";

        (await h.RunAsync("market", "--server", other.Url)).Succeeded();
        (await h.RunAsync("--server", other.Url, "market")).Succeeded();

        Assert.Equal(2, other.Requests.Count);
    }

    [Fact]
    public void WithoutServerOrVariable_TheLocalDevelopmentServerIsUsed()
    {
        h.Environment.Remove("VIRTUOSO_SERVER");
        Assert.Equal(CliSettings.LocalServer, CliSettings.From(h.Environment).DefaultServer);
    }

    [Fact]
    public async Task ServerWithAPathPrefix_KeepsIt()
    {
        h.Api.Json("GET /prefix/api/v1/market", Array.Empty<object>());
        (await h.RunAsync("market", "--server", h.Api.Url + "/prefix")).Succeeded();
        Assert.Equal("/prefix/api/v1/market", Assert.Single(h.Api.Requests).Path);
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("ftp://example.com")]
    [InlineData("127.0.0.1:5080")]
    public async Task BadServer_IsUsageError(string server)
    {
        (await h.RunAsync("market", "--server", server)).Failed(2, "usage");
    }

    [Fact]
    public async Task ConnectionRefused_ExitsThreeWithOneLine()
    {
        var line = (await h.RunAsync("market", "--server", "http://127.0.0.1:1")).Failed(3, "unreachable");
        Assert.Contains("http://127.0.0.1:1", line);
    }

    [Fact]
    public async Task NoAnswerInTime_ExitsThreeWithOneLine()
    {
        h.Api.Raw("GET /api/v1/market", 200, "application/json", "[]", TimeSpan.FromSeconds(30));
        var settings = CliSettings.From(h.Environment) with { Timeout = TimeSpan.FromMilliseconds(300) };

        var line = (await h.RunAsync(settings, "market")).Failed(3, "timeout");
        Assert.Contains("within 0.3 s", line);
    }

    [Fact]
    public void DefaultTimeout_IsGenerousForStartAndStop()
    {
        Assert.Equal(TimeSpan.FromSeconds(120), CliSettings.From(new Dictionary<string, string?>()).Timeout);
    }

    [Fact]
    public async Task JsonOption_WorksBeforeOrAfterTheCommand()
    {
        h.Api.Json("GET /api/v1/market", new[] { Samples.Host() });
        var before = (await h.RunAsync("--json", "market")).Succeeded();
        var after = (await h.RunAsync("market", "--json")).Succeeded();
        Assert.Equal(before.Out, after.Out);
        Assert.Equal("virt13", before.Json[0].GetProperty("name").GetString());
    }
}
