using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;

namespace Virtuoso.FrontEnd.Tests.Support;

/// <summary>
/// One in-process front-end on its own SQLite file (tier 2 of style.md), with a provider account owning two hosts
/// on fake agents: <c>alpha</c> priced like the report's virt8 and <c>beta</c> like virt13 (design §3.1, Figure 31),
/// each 10000 bogomips, 4096 MB, 20000 MB. xUnit makes one per test class, so classes never share a database.
/// Tests must not store on alpha or beta (the money path needs their room and exact prices): they add their own
/// hosts with <see cref="AddHostAsync"/>, which use the <see cref="Spare"/> agent.
/// </summary>
public sealed class MarketFixture : IAsyncLifetime
{
    private static int _counter;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "virtuoso-api-tests-" + Guid.NewGuid().ToString("N"));
    private VirtuosoFactory? _factory;
    private Task<Session>? _buyer;
    private Task<HostResponse>? _roomy;

    /// <summary>Not the default name under VIRTUOSO_DATA, so a database setting that did not arrive is caught.</summary>
    public string DatabasePath => Path.Combine(_dir, "api.db");
    internal WebApplicationFactory<Program> Factory => _factory ?? throw new InvalidOperationException("not initialized");
    internal FakeAgent Alpha { get; private set; } = null!;
    internal FakeAgent Beta { get; private set; } = null!;
    /// <summary>The agent behind every host a test adds for itself.</summary>
    internal FakeAgent Spare { get; private set; } = null!;
    /// <summary>The provider owning alpha, beta and the hosts tests add.</summary>
    internal Session Provider { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        Alpha = await FakeAgent.StartAsync("alpha");
        Beta = await FakeAgent.StartAsync("beta");
        Spare = await FakeAgent.StartAsync("spare");
        _factory = new VirtuosoFactory(DatabasePath);
        _ = _factory.Server; // start the front-end (runs the migrations) now, not inside the first test
        if (!File.Exists(DatabasePath))
            throw new InvalidOperationException($"the front-end did not use VIRTUOSO_DATABASE=sqlite:{DatabasePath}");
        Provider = await SignupAsync(Roles.Provider, "provider");
        await Provider.AddHostAsync(HostSpecs.Virt8("alpha", Alpha));
        await Provider.AddHostAsync(HostSpecs.Virt13("beta", Beta));
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null) await _factory.DisposeAsync();
        foreach (var agent in new[] { Alpha, Beta, Spare })
            if (agent is not null) await agent.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>A name no other test in this process uses, valid as a username and a host name.</summary>
    public static string UniqueName(string prefix) => $"{prefix}-{Interlocked.Increment(ref _counter)}";

    /// <summary>An HTTP client of the in-process front-end, without a token.</summary>
    internal HttpClient Anonymous() => Factory.CreateClient();

    /// <summary>Signs up (one slow password hash) and logs in (another); the session's client carries the bearer token.</summary>
    internal async Task<Session> SignupAsync(string type, string? prefix = null)
    {
        var username = UniqueName(prefix ?? type);
        var password = username + "-password";
        var http = Anonymous();
        var signup = await http.PostAsJsonAsync("/api/v1/accounts", new SignupRequest(username, password, $"{username}@example.org", type));
        Assert.Equal(System.Net.HttpStatusCode.Created, signup.StatusCode);
        var login = await http.PostAsJsonAsync("/api/v1/sessions", new LoginRequest(username, password));
        login.EnsureSuccessStatusCode();
        var session = (await login.Content.ReadFromJsonAsync<SessionResponse>(Json.Options))!;
        var client = Anonymous();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", session.Token);
        return new Session(client, username, password, this);
    }

    /// <summary>
    /// A buyer shared by the tests of one class (they run one after another), for tests that compare before
    /// and after rather than need a fresh balance: it saves two slow password hashes per test.
    /// </summary>
    internal Task<Session> SharedBuyerAsync() => _buyer ??= SignupAsync(Roles.Buyer, "shared-buyer");

    /// <summary>
    /// A host of <see cref="Provider"/> on the <see cref="Spare"/> agent with a fresh name, priced like virt13 unless
    /// <paramref name="spec"/> says otherwise; roomy (a million of each) unless the spec sets totals.
    /// </summary>
    internal async Task<HostResponse> AddHostAsync(Func<string, FakeAgent, AddHostRequest>? spec = null)
    {
        var name = UniqueName("host");
        var request = spec?.Invoke(name, Spare) ?? HostSpecs.Virt13(name, Spare) with { Speed = 1_000_000, Memory = 1_000_000, Storage = 1_000_000 };
        return await Provider.AddHostAsync(request);
    }

    /// <summary>One roomy virt13-priced host per class on the <see cref="Spare"/> agent, for tests that just need a machine stored somewhere.</summary>
    internal Task<HostResponse> RoomyHostAsync() => _roomy ??= AddHostAsync();

    /// <summary>Balances read straight from the database file, operator and deposit source included.</summary>
    public async Task<Dictionary<string, decimal>> BalancesAsync()
    {
        await using var c = new SqliteConnection($"Data Source={DatabasePath};Mode=ReadOnly");
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT username, balance FROM accounts";
        var balances = new Dictionary<string, decimal>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            balances[reader.GetString(0)] = decimal.Parse(reader.GetString(1), NumberStyles.Number | NumberStyles.AllowExponent, CultureInfo.InvariantCulture);
        return balances;
    }

    /// <summary>A single number from the database file (counts of rows, for "changed nothing").</summary>
    public async Task<long> CountAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var c = new SqliteConnection($"Data Source={DatabasePath};Mode=ReadOnly");
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    private sealed class VirtuosoFactory(string databasePath) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            // Host settings reach Program's builder.Configuration before Build (WebApplicationFactory passes them as arguments).
            builder.UseSetting("VIRTUOSO_DATABASE", "sqlite:" + databasePath);
            builder.UseSetting("VIRTUOSO_DATA", Path.GetDirectoryName(databasePath));
            builder.UseSetting("Virtuoso:HostMonitorIntervalSeconds", "0.2");
            builder.UseSetting("Logging:LogLevel:Default", "Warning");
            builder.UseSetting("Logging:LogLevel:Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware", "None");
        }
    }
}

internal static class Json
{
    public static readonly JsonSerializerOptions Options = JsonSerializerOptions.Web;
}
