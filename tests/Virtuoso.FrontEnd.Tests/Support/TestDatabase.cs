using System.Globalization;
using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;
using Virtuoso.FrontEnd.Data;

namespace Virtuoso.FrontEnd.Tests.Support;

/// <summary>
/// The database the in-process front-ends of one fixture run on, in either dialect. The tests read it through
/// the front-end's own <see cref="FrontEnd.Data.Database"/>, so the same assertions hold on SQLite and PostgreSQL.
/// </summary>
internal abstract class TestDatabase : IAsyncDisposable
{
    /// <summary>Creates the (empty) database; the front-end's migrations create the schema.</summary>
    public abstract Task CreateAsync();

    /// <summary>
    /// The <c>VIRTUOSO_DATABASE</c> setting for one front-end. Replicas get distinct <paramref name="replica"/> names
    /// (on PostgreSQL, distinct application names and so distinct connection pools, as separate processes would have).
    /// </summary>
    public abstract string SettingFor(string replica);

    /// <summary>The database as the front-end's data layer sees it, for the tests' own reads.</summary>
    public abstract Database Database { get; }

    public abstract ValueTask DisposeAsync();

    /// <summary>Balances, operator and deposit source included, as the exact decimals their TEXT column holds.</summary>
    public Task<Dictionary<string, decimal>> BalancesAsync() => Database.ReadAsync(async c =>
        (await c.QueryAsync<(string Username, string Balance)>("SELECT username, balance FROM accounts"))
            .ToDictionary(r => r.Username, r => decimal.Parse(r.Balance, NumberStyles.Number | NumberStyles.AllowExponent, CultureInfo.InvariantCulture)));

    /// <summary>A single number (counts of rows, for "changed nothing"); parameters are named <c>@name</c> in both dialects.</summary>
    public Task<long> CountAsync(string sql, params (string Name, object Value)[] parameters) => Database.ReadAsync(async c =>
    {
        var args = new DynamicParameters();
        foreach (var (name, value) in parameters) args.Add(name, value);
        return Convert.ToInt64(await c.ExecuteScalarAsync(sql, args), CultureInfo.InvariantCulture);
    });

    /// <summary>The SQL type of every column of every table, as the dialect reports it (lower case).</summary>
    public Task<List<(string Table, string Column, string Type)>> ColumnTypesAsync() => Database.ReadAsync(async c =>
        (await c.QueryAsync<(string Table, string Column, string Type)>(Database.Dialect == Dialect.Sqlite
            ? "SELECT m.name, p.name, lower(p.type) FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY 1, 2"
            : "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1, 2")).ToList());
}

/// <summary>A SQLite file in a fresh temporary directory (the default dialect).</summary>
internal sealed class SqliteTestDatabase : TestDatabase
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "virtuoso-api-tests-" + Guid.NewGuid().ToString("N"));
    private Database? _database;

    /// <summary>Not the default name under VIRTUOSO_DATA, so a database setting that did not arrive is caught.</summary>
    public string FilePath => Path.Combine(_dir, "api.db");

    public override Task CreateAsync()
    {
        Directory.CreateDirectory(_dir);
        _database = new Database(Dialect.Sqlite, $"Data Source={FilePath};Mode=ReadOnly");
        return Task.CompletedTask;
    }

    public override string SettingFor(string replica) => "sqlite:" + FilePath;

    public override Database Database => _database ?? throw new InvalidOperationException("not created");

    public override ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// A fresh PostgreSQL database <c>vt_GUID</c> on the server named by <c>VIRTUOSO_TEST_POSTGRES</c> (a superuser
/// connection string; <c>./test</c> starts a throwaway server and sets it), dropped on dispose. Without the variable
/// the PostgreSQL tests fail: production runs on PostgreSQL, so they must never pass by not running.
/// </summary>
internal sealed class PostgresTestDatabase : TestDatabase
{
    public const string Variable = "VIRTUOSO_TEST_POSTGRES";

    private readonly string _name = "vt_" + Guid.NewGuid().ToString("N");
    private readonly List<string> _handedOut = [];
    private string? _server;
    private Database? _database;

    /// <summary>The superuser connection string, or a failure saying how to get one.</summary>
    public static string Server() =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } server
            ? server
            : throw new InvalidOperationException(
                $"PostgreSQL tests need a server: set {Variable} or run ./test " +
                $"({Variable} is an Npgsql connection string to database postgres as superuser, e.g. Host=127.0.0.1;Port=55432;Username=postgres;Database=postgres; " +
                "scripts/lib.sh's start_postgres starts a throwaway one)");

    public override async Task CreateAsync()
    {
        _server = Server();
        await using (var c = new NpgsqlConnection(_server))
        {
            await c.OpenAsync();
            await c.ExecuteAsync($"CREATE DATABASE {_name}");
        }
        _database = new Database(Dialect.Postgres, ConnectionString("virtuoso-tests"));
    }

    private string ConnectionString(string application)
    {
        var cs = new NpgsqlConnectionStringBuilder(_server ?? throw new InvalidOperationException("not created"))
            { Database = _name, ApplicationName = application }.ToString();
        lock (_handedOut) _handedOut.Add(cs);
        return cs;
    }

    public override string SettingFor(string replica) => "postgres:" + ConnectionString("virtuoso-" + replica);

    public override Database Database => _database ?? throw new InvalidOperationException("not created");

    public override async ValueTask DisposeAsync()
    {
        if (_server is null) return;
        lock (_handedOut)
            foreach (var cs in _handedOut)
                NpgsqlConnection.ClearPool(new NpgsqlConnection(cs));
        await using var c = new NpgsqlConnection(_server);
        await c.OpenAsync();
        await c.ExecuteAsync($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)");
    }
}
