using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Hosts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Accounting;

/// <summary>
/// One in-process front-end on a fresh database (SQLite or PostgreSQL) with a <see cref="TestClock"/> and the
/// daemons off (<c>Virtuoso:DaemonsEnabled=false</c>): tests run billing and price-average passes themselves, at
/// the times they choose. The host monitor polls once at start-up only; <see cref="SeeHostsAsync"/> is a check
/// round at the clock's current time (a host unseen for 15 s of the clock is offline). The operator's password is
/// <see cref="OperatorPassword"/> unless the test says otherwise. Made per test: each test knows its whole market.
/// </summary>
internal sealed class ClockedMarket : IAsyncDisposable
{
    /// <summary>Where the clock starts: the middle of October 2026, UTC.</summary>
    public static readonly DateTimeOffset Start = new(2026, 10, 15, 12, 0, 0, TimeSpan.Zero);
    public const string OperatorPassword = "operator-test-password";

    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "virtuoso-clocked-data-" + Guid.NewGuid().ToString("N"));
    private readonly List<IAsyncDisposable> _owned = [];

    private readonly string? _operatorPassword;

    private readonly Action<IServiceCollection>? _services;

    private ClockedMarket(TestDatabase database, string? operatorPassword, Action<IServiceCollection>? services)
    {
        Database = database;
        _operatorPassword = operatorPassword;
        _services = services;
    }

    public TestClock Clock { get; } = new(Start);
    public TestDatabase Database { get; }
    public WebApplicationFactory<Program> Factory { get; private set; } = null!;
    /// <summary>The agent behind every host of this market.</summary>
    public FakeAgent Agent { get; private set; } = null!;
    /// <summary>Owns every host added with <see cref="AddHostAsync"/>.</summary>
    public Session Provider { get; private set; } = null!;

    /// <param name="operatorPassword">Virtuoso:OperatorPassword; null leaves the operator's seeded, unusable password.</param>
    /// <param name="services">Replaces services of every front-end of this market (the simulation's crash points).</param>
    public static async Task<ClockedMarket> StartAsync(bool postgres = false, string? operatorPassword = OperatorPassword, Action<IServiceCollection>? services = null)
    {
        var market = new ClockedMarket(postgres ? new PostgresTestDatabase() : new SqliteTestDatabase(), operatorPassword, services);
        try
        {
            await market.Database.CreateAsync();
            market.Agent = await FakeAgent.StartAsync("clocked");
            market.Factory = market.NewFrontEnd();
            _ = market.Factory.Server;
            market.Provider = await market.SignupAsync(Roles.Provider, "provider");
            return market;
        }
        catch
        {
            await market.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Another front-end process on the same database and clock (a replica, or a restart with other settings):
    /// <paramref name="settings"/> override this market's. Disposed with the market.
    /// </summary>
    public WebApplicationFactory<Program> NewFrontEnd(params (string Key, string Value)[] settings)
    {
        (string, string)[] password = _operatorPassword is null ? [] : [("Virtuoso:OperatorPassword", _operatorPassword)];
        var factory = new ClockedFactory(Database.SettingFor("front-end-" + _owned.Count), _dataDir, Clock, [.. password, .. settings], _services);
        _owned.Add(factory);
        return factory;
    }

    public T Service<T>() where T : notnull => Factory.Services.GetRequiredService<T>();

    public HttpClient Anonymous() => Factory.CreateClient();

    public Task<Session> SignupAsync(string type, string? prefix = null) =>
        Session.SignupAsync(Anonymous, MarketFixture.UniqueName(prefix ?? type), type);

    /// <summary>Logs in as the operator, with <see cref="OperatorPassword"/> unless told otherwise.</summary>
    public async Task<Session> OperatorAsync(string password = OperatorPassword)
    {
        var login = await Session.Ok<SessionResponse>(await LoginAsync(Ledger.Operator, password));
        return new Session(Session.WithToken(Anonymous(), login.Token), Ledger.Operator, password, login.Token, null);
    }

    public async Task<HttpResponseMessage> LoginAsync(string username, string password) =>
        await Anonymous().PostAsync("/api/v1/sessions", System.Net.Http.Json.JsonContent.Create(new LoginRequest(username, password)));

    /// <summary>A host of <see cref="Provider"/> with a fresh name on <see cref="Agent"/>: virt13-priced and roomy unless <paramref name="spec"/> says otherwise.</summary>
    public Task<HostResponse> AddHostAsync(Func<string, FakeAgent, AddHostRequest>? spec = null)
    {
        var name = MarketFixture.UniqueName("host");
        return Provider.AddHostAsync(spec?.Invoke(name, Agent) ?? HostSpecs.Virt13(name, Agent) with { Speed = 1_000_000, Memory = 1_000_000, Storage = 1_000_000 });
    }

    /// <summary>Moves the clock on, then checks the hosts, as the host monitor would have meanwhile: they stay online.</summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        Clock.Advance(by);
        await SeeHostsAsync();
    }

    /// <summary>One host-monitor round at the clock's current time: every host whose agent answers is online from now.</summary>
    public Task SeeHostsAsync() => Factory.Services.GetServices<IHostedService>().OfType<HostMonitor>().Single().CheckAllAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned)) await owned.DisposeAsync();
        if (Agent is not null) await Agent.DisposeAsync();
        await Database.DisposeAsync();
        if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
    }

    private sealed class ClockedFactory(string databaseSetting, string dataDir, TimeProvider clock, (string Key, string Value)[] settings,
        Action<IServiceCollection>? services) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseSetting("VIRTUOSO_DATABASE", databaseSetting);
            builder.UseSetting("VIRTUOSO_DATA", dataDir);
            builder.UseSetting("Virtuoso:VmmpListen", "127.0.0.1:0"); // the VMMP listener on a free port: front-ends run side by side
            builder.UseSetting("Virtuoso:DaemonsEnabled", "false");
            builder.UseSetting("Virtuoso:AllowPrivateHostAddresses", "true"); // the fake agent listens on loopback
        builder.UseSetting("Virtuoso:AllowCleartextAgents", "true"); // issue 20: ... without a certificate
            builder.UseSetting("Virtuoso:AllowCleartextAgents", "true"); // issue 20: ... without a certificate
            builder.UseSetting("Virtuoso:SignupsPerAddressPerHour", "0");
            builder.UseSetting("Virtuoso:HostMonitorIntervalSeconds", "3600");
            builder.UseSetting("Virtuoso:SessionDays", "3650"); // tests move the clock by months; their sessions must outlive it
            builder.UseSetting("Logging:LogLevel:Default", "Warning");
            builder.UseSetting("Logging:LogLevel:Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware", "None");
            foreach (var (key, value) in settings) builder.UseSetting(key, value);
            builder.ConfigureTestServices(s =>
            {
                s.AddSingleton(clock);
                services?.Invoke(s);
            });
        }
    }
}
