using Dapper;
using Virtuoso.Core;
using Virtuoso.Core.Accounts;
using Virtuoso.Core.Machines;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Data;

/// <summary>TypeHandlerTests on SQLite.</summary>
public sealed class TypeHandlerSqliteTests() : TypeHandlerTests(postgres: false);

/// <summary>TypeHandlerTests on PostgreSQL.</summary>
public sealed class TypeHandlerPostgresTests() : TypeHandlerTests(postgres: true);

/// <summary>
/// The typed values at the data boundary (issue 13, Data/TypeHandlers.cs) go into and come out of both dialects as
/// the schema stores them: ids and names as text, money as exact decimal text, instants as unix milliseconds, states
/// read from their lower-case text; nullable ones as NULL. Parameters and columns, through anonymous parameter
/// objects as the services write them.
/// </summary>
public abstract class TypeHandlerTests(bool postgres) : IAsyncLifetime
{
    private readonly TestDatabase _database = postgres ? new PostgresTestDatabase() : new WritableSqlite();

    private sealed class Row
    {
        public MachineId Id { get; set; }
        public AccountName Owner { get; set; }
        public Money Price { get; set; }
        public Money? Bid { get; set; }
        public DateTimeOffset At { get; set; }
        public DateTimeOffset? Since { get; set; }
        public MachineState State { get; set; }
        public Guid Other { get; set; }
    }

    public async Task InitializeAsync()
    {
        await _database.CreateAsync();
        await _database.Database.ReadAsync(c => c.ExecuteAsync(
            "CREATE TABLE typed (id TEXT NOT NULL, owner TEXT NOT NULL, price TEXT NOT NULL, bid TEXT NULL, at BIGINT NOT NULL, since BIGINT NULL, state TEXT NOT NULL, other TEXT NOT NULL)"));
    }

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task TypedValues_AreStoredAsTheSchemaSays_AndReadBackEqual()
    {
        var id = MachineId.New();
        var other = Guid.NewGuid();
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_792_000_000_123);
        var price = new Money(0.000000001m);
        await _database.Database.WriteAsync((c, tx) => c.ExecuteAsync(
            "INSERT INTO typed VALUES (@id, @owner, @price, @bid, @at, @since, @state, @other)",
            new { id, owner = new AccountName("alice"), price, bid = (Money?)null, at, since = (DateTimeOffset?)null, state = "running", other }, tx));

        var raw = await _database.Database.ReadAsync(c => c.QuerySingleAsync<(string Id, string Price, long At, string Other)>("SELECT id, price, at, other FROM typed"));
        Assert.Equal((id.ToString(), "0.000000001", 1_792_000_000_123L, other.ToString("D")), raw);

        var row = await _database.Database.ReadAsync(c => c.QuerySingleAsync<Row>("SELECT * FROM typed WHERE id = @id AND owner = @owner AND at = @at", new { id, owner = new AccountName("alice"), at }));
        Assert.Equal((id, "alice", price, null, at, null, MachineState.Running, other), (row.Id, row.Owner.Value, row.Price, row.Bid, row.At, row.Since, row.State, row.Other));

        var tuple = await _database.Database.ReadAsync(c => c.QuerySingleAsync<(MachineId Id, AccountName Owner, Money Price, decimal Exact, DateTimeOffset At, MachineState State)>(
            "SELECT id, owner, price, price, at, state FROM typed"));
        Assert.Equal((id, new AccountName("alice"), price, 0.000000001m, at, MachineState.Running), tuple);
        Assert.Equal(price, await _database.Database.ReadAsync(c => c.QuerySingleAsync<Money>("SELECT price FROM typed")));

        await _database.Database.WriteAsync((c, tx) => c.ExecuteAsync("UPDATE typed SET bid = @bid, since = @since WHERE id = @id",
            new { bid = (Money?)new Money(2.448m), since = (DateTimeOffset?)at, id }, tx));
        var later = await _database.Database.ReadAsync(c => c.QuerySingleAsync<Row>("SELECT * FROM typed"));
        Assert.Equal((new Money(2.448m), at), (later.Bid, later.Since));
    }

    /// <summary>A SQLite file the test may write (the market's own handle is read-only).</summary>
    private sealed class WritableSqlite : TestDatabase
    {
        private readonly string _path = Path.Combine(Path.GetTempPath(), "virtuoso-typed-" + Guid.NewGuid().ToString("N") + ".db");
        private Database? _db;
        public override Task CreateAsync() { _db = new Database(Dialect.Sqlite, $"Data Source={_path}"); return Task.CompletedTask; }
        public override string SettingFor(string replica) => "sqlite:" + _path;
        public override Database Database => _db!;
        public override ValueTask DisposeAsync()
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            File.Delete(_path);
            return ValueTask.CompletedTask;
        }
    }
}
