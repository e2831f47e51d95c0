using System.Globalization;
using Dapper;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Contracts.Api;
using Virtuoso.Core;
using Virtuoso.Core.Billing;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Billing;

/// <summary>
/// A marketplace for billing tests: one database (SQLite file or fresh PostgreSQL database), one <see cref="TestClock"/>
/// shared by every front-end on it, daemons off (tests call <see cref="PassAsync"/> themselves), and hosts on fake
/// agents. Front-ends can be added (replicas) and replaced (a crash and restart) while the database stays.
/// </summary>
internal sealed class BillingMarket : IAsyncDisposable
{
    /// <summary>Whole milliseconds: the database keeps times in milliseconds (see the report of these tests).</summary>
    public static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "virtuoso-billing-" + Guid.NewGuid().ToString("N"));
    private readonly IReadOnlyDictionary<string, string> _settings;
    private readonly List<BillingFrontEnd> _frontEnds = [];
    private readonly List<FakeAgent> _agents = [];
    private readonly Dictionary<(BillingFrontEnd, string), Session> _sessions = [];
    private int _replicas;

    private BillingMarket(TestDatabase database, IReadOnlyDictionary<string, string> settings)
    {
        Database = database;
        _settings = settings;
    }

    public TestClock Clock { get; } = new(Start);
    public TestDatabase Database { get; }
    /// <summary>A writable handle on the database, for the tests' fault injection and direct reads.</summary>
    public Database Data { get; private set; } = null!;
    /// <summary>The front-end that <see cref="PassAsync"/> and <see cref="As"/> use unless told otherwise.</summary>
    public BillingFrontEnd FrontEnd { get; private set; } = null!;

    /// <summary>
    /// A market on SQLite, or PostgreSQL when <paramref name="postgres"/>; <paramref name="settings"/> are extra
    /// front-end settings (e.g. <c>Virtuoso:OpeningCredit</c>).
    /// </summary>
    public static async Task<BillingMarket> CreateAsync(bool postgres = false, IReadOnlyDictionary<string, string>? settings = null)
    {
        var market = new BillingMarket(postgres ? new PostgresTestDatabase() : new SqliteTestDatabase(), settings ?? new Dictionary<string, string>());
        await market.Database.CreateAsync();
        market.Data = market.Database is SqliteTestDatabase sqlite
            ? new Database(Dialect.Sqlite, $"Data Source={sqlite.FilePath}")
            : market.Database.Database;
        market.FrontEnd = market.StartFrontEnd();
        return market;
    }

    /// <summary>Another front-end on the same database and clock (a replica).</summary>
    public BillingFrontEnd StartFrontEnd()
    {
        var fe = new BillingFrontEnd(Database.SettingFor($"billing-{Interlocked.Increment(ref _replicas)}"), _dataDir, Clock, _settings);
        _ = fe.Server; // start now: runs the migrations
        _frontEnds.Add(fe);
        return fe;
    }

    /// <summary>The current front-end goes away (a crash: nothing of it survives but the database) and a fresh one takes over.</summary>
    public async Task RestartAsync()
    {
        var old = FrontEnd;
        _frontEnds.Remove(old);
        foreach (var key in _sessions.Keys.Where(k => k.Item1 == old).ToList()) _sessions.Remove(key);
        await old.DisposeAsync();
        FrontEnd = StartFrontEnd();
    }

    public Task<BillingDaemon.PassResult> PassAsync(BillingFrontEnd? on = null, CancellationToken ct = default) =>
        (on ?? FrontEnd).Services.GetRequiredService<BillingDaemon>().PassAsync(ct);

    /// <summary><paramref name="session"/>'s user on <paramref name="on"/> (default: the current front-end): the token lives in the database.</summary>
    public Session As(Session session, BillingFrontEnd? on = null)
    {
        var fe = on ?? FrontEnd;
        if (!_sessions.TryGetValue((fe, session.Token), out var s))
            _sessions[(fe, session.Token)] = s = new Session(Session.WithToken(fe.CreateClient(), session.Token), session.Username, session.Password, session.Token, null);
        return s;
    }

    public Task<Session> SignupAsync(string type, string? prefix = null) =>
        Session.SignupAsync(FrontEnd.CreateClient, MarketFixture.UniqueName(prefix ?? type), type);

    /// <summary>A host of <paramref name="provider"/> on its own fake agent.</summary>
    public async Task<(HostResponse Host, FakeAgent Agent)> AddHostAsync(Session provider, Func<string, FakeAgent, AddHostRequest> spec)
    {
        var name = MarketFixture.UniqueName("host");
        var agent = await FakeAgent.StartAsync(name);
        _agents.Add(agent);
        return (await As(provider).AddHostAsync(spec(name, agent)), agent);
    }

    /// <summary>
    /// Credits <paramref name="account"/> from the deposit source through the front-end's ledger, keyed so that the same
    /// deposit is never credited twice (the deposit endpoint was not there when these tests were written).
    /// </summary>
    public Task<bool> DepositAsync(string account, decimal amount, string reference) =>
        TransferAsync($"test-deposit:{reference}", TransferKinds.Deposit, amount, Ledger.Deposits, account);

    /// <summary>Moves money between two accounts through the front-end's ledger (double entry, keyed).</summary>
    public Task<bool> TransferAsync(string key, string kind, decimal amount, string from, string to)
    {
        var db = FrontEnd.Services.GetRequiredService<Database>();
        var ledger = FrontEnd.Services.GetRequiredService<Ledger>();
        return db.WriteAsync((c, tx) => ledger.TransferAsync(c, tx, key, kind, new Money(amount), from, to, null, null, Clock.GetUtcNow()));
    }

    public Task<List<LedgerRow>> TransfersAsync(Guid? machine = null) => Data.ReadAsync(async c =>
        (await c.QueryAsync<LedgerRow>("SELECT id, key, kind, amount, from_account, to_account, machine, host, at FROM transfers" +
            (machine is null ? "" : " WHERE machine = @machine") + " ORDER BY id", new { machine = machine?.ToString("D") })).ToList());

    public Task<Dictionary<string, decimal>> BalancesAsync() => Database.BalancesAsync();

    private const string MachineColumns = "id, state, version, stay, storage_periods_charged, running_periods_charged, running_seconds_used, running_since, next_storage_at, running_due_at";

    /// <summary>A row of <c>machines</c> as the front-end keeps it.</summary>
    public Task<MachineBilling> MachineAsync(Guid id) => Data.ReadAsync(c => c.QuerySingleAsync<MachineBilling>(
        $"SELECT {MachineColumns} FROM machines WHERE id = @id", new { id = id.ToString("D") }));

    /// <summary>Every machine's row, by id.</summary>
    public Task<Dictionary<Guid, MachineBilling>> MachinesAsync() => Data.ReadAsync(async c =>
        (await c.QueryAsync<MachineBilling>($"SELECT {MachineColumns} FROM machines")).ToDictionary(m => Guid.Parse(m.Id)));

    /// <summary>
    /// Design §4: the sum of all balances (operator and deposit source included) is exactly zero, and every account's
    /// balance is exactly what its transfers add up to (balances change only through transfers).
    /// </summary>
    public async Task AssertLedgerConsistentAsync()
    {
        var balances = await BalancesAsync();
        Assert.Equal(0m, balances.Values.Sum());
        var flows = new Dictionary<string, decimal>();
        foreach (var t in await TransfersAsync())
        {
            Assert.True(t.Dollars > 0, $"transfer {t.Key} moves {t.Amount}");
            flows[t.FromAccount] = flows.GetValueOrDefault(t.FromAccount) - t.Dollars;
            flows[t.ToAccount] = flows.GetValueOrDefault(t.ToAccount) + t.Dollars;
        }
        foreach (var (account, balance) in balances)
            Assert.True(flows.GetValueOrDefault(account) == balance, $"{account}: balance {balance}, transfers add up to {flows.GetValueOrDefault(account)}");
    }

    // ---- fault injection: the database refuses the transfer with a given key, failing its whole transaction ----

    public async Task FailTransferAsync(string key)
    {
        await using var c = await Data.OpenAsync();
        if (Data.Dialect == Dialect.Sqlite)
            await c.ExecuteAsync("""
                CREATE TABLE IF NOT EXISTS test_faults (key TEXT PRIMARY KEY);
                CREATE TRIGGER IF NOT EXISTS test_fault BEFORE INSERT ON transfers
                WHEN EXISTS (SELECT 1 FROM test_faults WHERE key = NEW.key) BEGIN SELECT RAISE(ABORT, 'injected fault'); END;
                """);
        else
            await c.ExecuteAsync("""
                CREATE TABLE IF NOT EXISTS test_faults (key TEXT PRIMARY KEY);
                CREATE OR REPLACE FUNCTION test_fault() RETURNS trigger AS $$
                BEGIN
                  IF EXISTS (SELECT 1 FROM test_faults WHERE key = NEW.key) THEN RAISE EXCEPTION 'injected fault at %', NEW.key; END IF;
                  RETURN NEW;
                END $$ LANGUAGE plpgsql;
                DROP TRIGGER IF EXISTS test_fault ON transfers;
                CREATE TRIGGER test_fault BEFORE INSERT ON transfers FOR EACH ROW EXECUTE FUNCTION test_fault();
                """);
        await c.ExecuteAsync("INSERT INTO test_faults (key) VALUES (@key)", new { key });
    }

    public async Task ClearFaultsAsync()
    {
        await using var c = await Data.OpenAsync();
        await c.ExecuteAsync("DELETE FROM test_faults");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var fe in _frontEnds) await fe.DisposeAsync();
        foreach (var agent in _agents) await agent.DisposeAsync();
        await Database.DisposeAsync();
        if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
    }
}

/// <summary>The front-end in process with a fake clock and its daemons off.</summary>
internal sealed class BillingFrontEnd(string databaseSetting, string dataDir, TestClock clock, IReadOnlyDictionary<string, string> settings)
    : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("VIRTUOSO_DATABASE", databaseSetting);
        builder.UseSetting("VIRTUOSO_DATA", dataDir);
        builder.UseSetting("Virtuoso:VmmpListen", "127.0.0.1:0"); // the VMMP listener on a free port: front-ends run side by side
        builder.UseSetting("Virtuoso:DaemonsEnabled", "false");
        builder.UseSetting("Virtuoso:AllowPrivateHostAddresses", "true"); // the fake agent listens on loopback
        builder.UseSetting("Virtuoso:AllowCleartextAgents", "true"); // issue 20: ... without a certificate
        builder.UseSetting("Virtuoso:SignupsPerAddressPerHour", "0");
        // The clock jumps by days: hosts stay online and sessions valid whatever it says (neither is under test here).
        builder.UseSetting("Virtuoso:HostOnlineWindowSeconds", "1000000000");
        builder.UseSetting("Virtuoso:SessionDays", "36500");
        builder.UseSetting("Virtuoso:HostMonitorIntervalSeconds", "3600");
        // Batches of 500 (production: 5,000), so that the safety tests cross batch boundaries with ~1,000 machines.
        builder.UseSetting("Virtuoso:BillingBatchSize", "500");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.UseSetting("Logging:LogLevel:Virtuoso.FrontEnd.Billing.BillingDaemon", "None");
        builder.UseSetting("Logging:LogLevel:Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware", "None");
        foreach (var (key, value) in settings) builder.UseSetting(key, value);
        builder.ConfigureTestServices(s => s.AddSingleton<TimeProvider>(clock));
    }
}

/// <summary>A row of <c>transfers</c>.</summary>
internal sealed class LedgerRow
{
    public long Id { get; set; }
    public string Key { get; set; } = "";
    public string Kind { get; set; } = "";
    public string Amount { get; set; } = "";
    public string FromAccount { get; set; } = "";
    public string ToAccount { get; set; } = "";
    public string? Machine { get; set; }
    public string? Host { get; set; }
    public long At { get; set; }

    public decimal Dollars => _dollars ??= decimal.Parse(Amount, NumberStyles.Number | NumberStyles.AllowExponent, CultureInfo.InvariantCulture);
    private decimal? _dollars;
    public override string ToString() => $"{Key} {Kind} {Amount} {FromAccount}->{ToAccount} at {DateTimeOffset.FromUnixTimeMilliseconds(At):O}";
}

/// <summary>A machine's billing state as the front-end keeps it.</summary>
internal sealed class MachineBilling
{
    public string Id { get; set; } = "";
    public string State { get; set; } = "";
    public long Version { get; set; }
    public long Stay { get; set; }
    public long StoragePeriodsCharged { get; set; }
    public long RunningPeriodsCharged { get; set; }
    public string RunningSecondsUsed { get; set; } = "";
    public long? RunningSince { get; set; }
    public long? NextStorageAt { get; set; }
    public long? RunningDueAt { get; set; }

    public decimal SecondsUsed => decimal.Parse(RunningSecondsUsed, NumberStyles.Number | NumberStyles.AllowExponent, CultureInfo.InvariantCulture);
}
