using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;

namespace Virtuoso.FrontEnd.Tests.Support;

/// <summary>
/// One in-process front-end on its own database (tier 2 of style.md): a SQLite file here, a fresh PostgreSQL database
/// in <see cref="PostgresMarketFixture"/>. A provider account owns two hosts on fake agents: <c>alpha</c> priced like the
/// report's virt8 and <c>beta</c> like virt13 (design §3.1, Figure 31), each 10000 bogomips, 4096 MB, 20000 MB. xUnit
/// makes one per test class, so classes never share a database. Tests must not store on alpha or beta (the money path
/// needs their room and exact prices): they add their own hosts with <see cref="AddHostAsync"/>, which use the
/// <see cref="Spare"/> agent.
/// </summary>
public class MarketFixture : IAsyncLifetime
{
    private static int _counter;
    private readonly TestDatabase _database;
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "virtuoso-api-data-" + Guid.NewGuid().ToString("N"));
    private VirtuosoFactory? _factory;
    private Task<Session>? _buyer;
    private Task<HostResponse>? _roomy;

    public MarketFixture() : this(new SqliteTestDatabase()) { }

    private readonly IReadOnlyDictionary<string, string?> _settings = new Dictionary<string, string?>();

    private protected MarketFixture(TestDatabase database) => _database = database;

    /// <summary>A market whose front-end also gets <paramref name="settings"/> (e.g. a small <c>Virtuoso:IsoQuotaBytes</c>).</summary>
    private protected MarketFixture(TestDatabase database, IReadOnlyDictionary<string, string?> settings) : this(database) => _settings = settings;

    /// <summary>The front-end's VIRTUOSO_DATA (it holds the blob directory once something is uploaded).</summary>
    internal string DataDir => _dataDir;

    internal WebApplicationFactory<Program> Factory => _factory ?? throw new InvalidOperationException("not initialized");
    /// <summary>What the front-end logged (Warning and up).</summary>
    internal CapturedLogs Logs => (_factory ?? throw new InvalidOperationException("not initialized")).Logs;
    /// <summary>The front-end's database, for reads the API does not offer.</summary>
    internal TestDatabase Database => _database;
    internal FakeAgent Alpha { get; private set; } = null!;
    internal FakeAgent Beta { get; private set; } = null!;
    /// <summary>The agent behind every host a test adds for itself.</summary>
    internal FakeAgent Spare { get; private set; } = null!;
    /// <summary>The provider owning alpha, beta and the hosts tests add.</summary>
    internal Session Provider { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await _database.CreateAsync();
        Alpha = await FakeAgent.StartAsync("alpha");
        Beta = await FakeAgent.StartAsync("beta");
        Spare = await FakeAgent.StartAsync("spare");
        var setting = _database.SettingFor("front-end");
        _factory = new VirtuosoFactory(setting, _dataDir, settings: _settings);
        _ = _factory.Server; // start the front-end (runs the migrations) now, not inside the first test
        // A setting that did not arrive would put the front-end on a SQLite file under VIRTUOSO_DATA instead.
        if (Directory.Exists(_dataDir) || await _database.CountAsync("SELECT COUNT(*) FROM schema_migrations") == 0)
            throw new InvalidOperationException($"the front-end did not use VIRTUOSO_DATABASE={setting}");
        Provider = await SignupAsync(Roles.Provider, "provider");
        await Provider.AddHostAsync(HostSpecs.Virt8("alpha", Alpha));
        await Provider.AddHostAsync(HostSpecs.Virt13("beta", Beta));
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null) await _factory.DisposeAsync();
        foreach (var agent in new[] { Alpha, Beta, Spare })
            if (agent is not null) await agent.DisposeAsync();
        await _database.DisposeAsync();
        if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
    }

    /// <summary>A name no other test in this process uses, valid as a username and a host name.</summary>
    public static string UniqueName(string prefix) => $"{prefix}-{Interlocked.Increment(ref _counter)}";

    /// <summary>An HTTP client of the in-process front-end, without a token.</summary>
    internal HttpClient Anonymous() => Factory.CreateClient();

    /// <summary>Signs up (one slow password hash) and logs in (another); the session's client carries the bearer token.</summary>
    internal Task<Session> SignupAsync(string type, string? prefix = null) => Session.SignupAsync(Anonymous, UniqueName(prefix ?? type), type, this);

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

    /// <summary>Balances read straight from the database, operator and deposit source included.</summary>
    public Task<Dictionary<string, decimal>> BalancesAsync() => _database.BalancesAsync();

    /// <summary>A single number from the database (counts of rows, for "changed nothing"); parameters are named <c>@name</c>.</summary>
    public Task<long> CountAsync(string sql, params (string Name, object Value)[] parameters) => _database.CountAsync(sql, parameters);
}

/// <summary>
/// <see cref="MarketFixture"/> on a fresh PostgreSQL database (production's dialect). Fails, never skips, when
/// <c>VIRTUOSO_TEST_POSTGRES</c> is not set.
/// </summary>
public sealed class PostgresMarketFixture() : MarketFixture(new PostgresTestDatabase());

/// <summary>
/// The front-end in process, on the database <paramref name="databaseSetting"/> (a VIRTUOSO_DATABASE value), with
/// <paramref name="clock"/> as its time when given.
/// </summary>
internal sealed class VirtuosoFactory(string databaseSetting, string dataDir, TimeProvider? clock = null,
    IReadOnlyDictionary<string, string?>? settings = null) : WebApplicationFactory<Program>
{
    /// <summary>What this front-end logged (Warning and up).</summary>
    public CapturedLogs Logs { get; } = new();

    /// <summary>
    /// The images directory every in-process front-end catalogues (issue 15): a small stand-in for linux-busybox, whose
    /// files are the bytes <see cref="ImageFile"/> gives.
    /// </summary>
    public static readonly Lazy<string> Images = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), "virtuoso-api-images-" + Environment.ProcessId);
        var image = Path.Combine(dir, "linux-busybox");
        Directory.CreateDirectory(image);
        foreach (var file in new[] { "vmlinuz", "initrd.img", "disk.qcow2" })
            File.WriteAllBytes(Path.Combine(image, file), ImageFile(file));
        File.WriteAllText(Path.Combine(image, "image.json"),
            """{"name":"linux-busybox","os":"Linux (busybox)","kernel":"vmlinuz","initrd":"initrd.img","disk":"disk.qcow2","append":"console=ttyS0","minMemoryMb":128,"minDiskMb":1000}""");
        return dir;
    });

    public static byte[] ImageFile(string file) => System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat($"{file} bytes of the test image; ", 1000)));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.ConfigureLogging(l => l.AddProvider(Logs));
        if (clock is not null) builder.ConfigureTestServices(s => s.AddSingleton(clock));
        builder.ConfigureServices(s => s.AddSingleton<IStartupFilter, TestClientAddress>());
        // Every refusal must be one the API document lists for its operation (issue 20 point 3).
        builder.ConfigureServices(s => s.PostConfigure<Microsoft.AspNetCore.Http.ProblemDetailsOptions>(o =>
        {
            var customize = o.CustomizeProblemDetails;
            o.CustomizeProblemDetails = ctx => { customize?.Invoke(ctx); DocumentedRefusals.Check(ctx); };
        }));
        // Host settings reach Program's builder.Configuration before Build (WebApplicationFactory passes them as arguments).
        builder.UseSetting("VIRTUOSO_DATABASE", databaseSetting);
        builder.UseSetting("VIRTUOSO_DATA", dataDir);
        builder.UseSetting("Virtuoso:VmmpListen", "127.0.0.1:0"); // the VMMP listener on a free port: front-ends run side by side
        builder.UseSetting("Virtuoso:ImagesDirectory", Images.Value);
        builder.UseSetting("Virtuoso:MigrationHeartbeatTimeoutSeconds", "1.5");
        builder.UseSetting("Virtuoso:MigrationCheckIntervalSeconds", "0.2");
        builder.UseSetting("Virtuoso:VmmpFirstLineTimeoutSeconds", "1"); // issue 20: a silent socket is closed after 1 s
        builder.UseSetting("Virtuoso:VmmpMaxPerPeer", "8"); // issue 20: everything here comes from 127.0.0.1
        builder.UseSetting("Virtuoso:HostMonitorIntervalSeconds", "0.2");
        builder.UseSetting("Virtuoso:AllowPrivateHostAddresses", "true"); // the fake agents listen on loopback
        builder.UseSetting("Virtuoso:AllowCleartextAgents", "true"); // issue 20: most fake agents have no certificate (TlsAgentTests' do)
        builder.UseSetting("Virtuoso:SignupsPerAddressPerHour", "0"); // a fixture signs up many accounts from one (test) address
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        // Unhandled exceptions reach the captured logs (and ./test's error file), not the console.
        builder.UseSetting("Logging:LogLevel:Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware", "Error");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            builder.UseSetting(key, value);
    }
}

internal static class Json
{
    public static readonly JsonSerializerOptions Options = JsonSerializerOptions.Web;
}
