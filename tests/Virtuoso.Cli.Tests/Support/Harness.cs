using System.Text.Json;
using Virtuoso.Cli.Accounts;

namespace Virtuoso.Cli.Tests.Support;

/// <summary>What one run of the CLI did.</summary>
internal sealed record Run(int Exit, string Out, string Err)
{
    public JsonElement Json => JsonDocument.Parse(Out).RootElement;

    /// <summary>Success: exit 0 and nothing on stderr.</summary>
    public Run Succeeded()
    {
        Assert.True(Exit == 0 && Err == "", $"exit {Exit}, stderr: {Err}");
        return this;
    }

    /// <summary>A failure as the CLI promises it: the exit code, nothing on stdout, exactly one "error: … (code)" line on stderr.</summary>
    public string Failed(int exit, string code)
    {
        Assert.Equal("", Out);
        Assert.True(Exit == exit, $"exit {Exit}, expected {exit}; stderr: {Err}");
        var lines = Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith("error: ", line);
        Assert.EndsWith($" ({code})", line);
        return line;
    }
}

/// <summary>A fake API, a private VIRTUOSO_HOME and a way to run the CLI in-process against them.</summary>
internal sealed class Harness : IAsyncDisposable
{
    private Harness(FakeApi api, string root)
    {
        Api = api;
        Root = root;
    }

    public FakeApi Api { get; }

    /// <summary>A fresh temporary directory: HOME is <c>Root/user</c>, VIRTUOSO_HOME is <c>Root/vhome</c>.</summary>
    public string Root { get; }

    public string VirtuosoHome => Path.Combine(Root, "vhome");

    public string CredentialsFile => Path.Combine(VirtuosoHome, "credentials.json");

    public Dictionary<string, string?> Environment { get; } = [];

    public static async Task<Harness> StartAsync()
    {
        var root = Directory.CreateTempSubdirectory("virtuoso-cli-tests-").FullName;
        var harness = new Harness(await FakeApi.StartAsync(), root);
        harness.Environment["HOME"] = Path.Combine(root, "user");
        harness.Environment["VIRTUOSO_HOME"] = harness.VirtuosoHome;
        harness.Environment["VIRTUOSO_SERVER"] = harness.Api.Url;
        return harness;
    }

    public async Task<Run> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await Cli.RunAsync(args, stdout, stderr, Environment);
        return new Run(exit, stdout.ToString(), stderr.ToString());
    }

    public async Task<Run> RunAsync(CliSettings settings, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await Cli.RunAsync(args, stdout, stderr, settings);
        return new Run(exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>As if <c>virtuoso login</c> had succeeded against the fake.</summary>
    public Harness LogIn(string username = "alice", string type = "buyer", string token = "token-alice", string? server = null)
    {
        Assert.Null(new CredentialStore(VirtuosoHome).Save(new Credentials(server ?? Api.Url, username, type, token)));
        return this;
    }

    public async ValueTask DisposeAsync()
    {
        await Api.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }
}
