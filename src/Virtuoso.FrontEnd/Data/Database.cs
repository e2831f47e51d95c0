using System.Data;
using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Virtuoso.FrontEnd.Data;

internal enum Dialect { Sqlite, Postgres }

/// <summary>
/// The front-end's only way to the database: SQLite by default, PostgreSQL for production (several
/// stateless front-end replicas on one database). Everything that changes data runs in one transaction
/// through <see cref="WriteAsync{T}"/>; rows that a write reads and then changes are read with
/// <see cref="ForUpdate"/> so that PostgreSQL replicas serialize on them, as SQLite's single writer does.
/// </summary>
internal sealed class Database
{
    static Database()
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        TypeHandlers.Register();
    }

    public Database(Dialect dialect, string connectionString)
    {
        Dialect = dialect;
        ConnectionString = dialect == Dialect.Sqlite
            ? new SqliteConnectionStringBuilder(connectionString) { ForeignKeys = true, DefaultTimeout = 30, Pooling = true }.ToString()
            : connectionString;
    }

    public Dialect Dialect { get; }
    public string ConnectionString { get; }

    /// <summary>Row lock suffix for SELECTs inside a write transaction (PostgreSQL only; SQLite has one writer).</summary>
    public string ForUpdate => Dialect == Dialect.Postgres ? " FOR UPDATE" : "";

    /// <summary>
    /// "<paramref name="column"/> is one of the list parameter <paramref name="list"/>". Never write <c>IN @list</c>: Dapper expands
    /// it into one parameter per element on SQLite, but hands Npgsql the list as one array, which only <c>= ANY</c> accepts.
    /// </summary>
    public string In(string column, string list) => Dialect == Dialect.Postgres ? $"{column} = ANY(@{list})" : $"{column} IN @{list}";

    /// <summary>
    /// "<paramref name="column"/> is one of <paramref name="list"/>", bound as ONE parameter whose value is <see cref="ListValue"/>:
    /// a JSON array read by <c>json_each</c> on SQLite, an array on PostgreSQL. Unlike <see cref="In"/>, the statement does not grow
    /// with the list, and binding stays linear (Microsoft.Data.Sqlite matches each of n parameters by name, n² in all).
    /// </summary>
    public string InList(string column, string list) => Dialect == Dialect.Postgres
        ? $"{column} = ANY(@{list})"
        : $"{column} IN (SELECT value FROM json_each(@{list}))";

    /// <summary>The value of an <see cref="InList"/> parameter.</summary>
    public object ListValue(IEnumerable<string> values) => Dialect == Dialect.Postgres
        ? values.ToArray()
        : System.Text.Json.JsonSerializer.Serialize(values);

    /// <summary>Parses <c>sqlite:PATH</c>, <c>postgres:CONNECTION-STRING</c>, or a bare SQLite file path.</summary>
    public static Database FromSetting(string setting)
    {
        if (setting.StartsWith("postgres:", StringComparison.Ordinal))
        {
            // PostgreSQL's JIT compiles a query whose estimated cost is high, as listing every host is: at 1,000 hosts it spent
            // 178 ms compiling a 5 ms query (bench/scale.sh, EXPLAIN ANALYZE). Short transactions never gain from it: off,
            // unless the connection string sets its own Options.
            var connection = new NpgsqlConnectionStringBuilder(setting["postgres:".Length..]);
            connection.Options ??= "-c jit=off";
            return new Database(Dialect.Postgres, connection.ConnectionString);
        }
        var path = setting.StartsWith("sqlite:", StringComparison.Ordinal) ? setting["sqlite:".Length..] : setting;
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        return new Database(Dialect.Sqlite, $"Data Source={path}");
    }

    public async Task<DbConnection> OpenAsync(CancellationToken ct = default)
    {
        DbConnection c = Dialect == Dialect.Sqlite ? new SqliteConnection(ConnectionString) : new NpgsqlConnection(ConnectionString);
        await c.OpenAsync(ct);
        if (c is SqliteConnection s) await ConfigureAsync(s, ct);
        return c;
    }

    /// <summary>
    /// Per-connection SQLite settings (the file itself is in WAL mode, set by <see cref="Migrator"/>). <c>synchronous=NORMAL</c>:
    /// in WAL mode a commit is written to the log without waiting for the disk; the log is synced at each checkpoint. A killed
    /// process loses nothing committed; a power loss or kernel crash may lose the last commits (never half of one: the file
    /// stays consistent), see docs/operations.md. A page cache of 64 MiB (default 2 MiB) keeps the pages a billing batch changes
    /// in memory until its commit instead of spilling them. Both measured in docs/benchmarks.md.
    /// </summary>
    private static async Task ConfigureAsync(SqliteConnection c, CancellationToken ct)
    {
        await using var pragma = c.CreateCommand();
        pragma.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;";
        await pragma.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Runs a read-only query on its own connection.</summary>
    public async Task<T> ReadAsync<T>(Func<DbConnection, Task<T>> read, CancellationToken ct = default)
    {
        await using var c = await OpenAsync(ct);
        return await read(c);
    }

    /// <summary>
    /// Runs <paramref name="work"/> in one transaction and commits it unless it returns a failure
    /// (<paramref name="commit"/> false) or throws. SQLite takes the write lock at BEGIN (IMMEDIATE) so
    /// that read-then-write never deadlocks; PostgreSQL relies on <see cref="ForUpdate"/> row locks.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, Func<T, bool>? commit = null, CancellationToken ct = default)
    {
        await using var c = await OpenAsync(ct);
        await using var tx = c is SqliteConnection s
            ? s.BeginTransaction(deferred: false)
            : await c.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);
        var result = await work(c, tx);
        if (commit is null || commit(result)) await tx.CommitAsync(ct);
        else await tx.RollbackAsync(ct);
        return result;
    }

    /// <summary>Whether an exception is a unique-key violation: for idempotency keys it means "already done".</summary>
    public static bool IsUniqueViolation(Exception e) => e switch
    {
        SqliteException s => s.SqliteErrorCode == 19 && s.SqliteExtendedErrorCode is 2067 or 1555,
        PostgresException p => p.SqlState == PostgresErrorCodes.UniqueViolation,
        _ => false,
    };
}
