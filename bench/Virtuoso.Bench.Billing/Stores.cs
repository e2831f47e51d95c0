using Microsoft.Data.Sqlite;
using Npgsql;
using Virtuoso.FrontEnd.Data;

namespace Virtuoso.Bench.Billing;

/// <summary>
/// Where the marketplace lives: prepared once per size, then a fresh copy for every run, so that each contender starts from the same
/// bytes and no run sees another's changes.
/// </summary>
internal interface IStore
{
    /// <summary>"SQLite" or "PostgreSQL", for the output.</summary>
    string Name { get; }

    /// <summary>Builds the prepared marketplace for <paramref name="scale"/> (or reuses one), replacing the previous size's.</summary>
    Task PrepareAsync(Scale scale);

    /// <summary>How big the prepared marketplace is, for the output.</summary>
    Task<string> SizeAsync();

    /// <summary>A fresh copy of the prepared marketplace, opened as the front-end opens its database.</summary>
    Task<Database> CopyAsync();

    /// <summary>Drops a copy made by <see cref="CopyAsync"/>.</summary>
    Task DropAsync(Database copy);

    /// <summary>Drops what is left (the prepared marketplace, unless it was given).</summary>
    Task CleanUpAsync();
}

/// <summary>A SQLite file under the work directory (or the file given by --prepared), copied per run.</summary>
internal sealed class SqliteStore(string work, string? reuse) : IStore
{
    private string _prepared = reuse ?? Path.Combine(work, "prepared.db");
    private int _copies;

    public string Name => "SQLite";

    public async Task PrepareAsync(Scale scale)
    {
        if (reuse is not null)
        {
            if (!File.Exists(reuse)) throw new FileNotFoundException($"--prepared {reuse}: no such file");
            return;
        }
        _prepared = Path.Combine(work, $"prepared-{scale.Machines}.db");
        File.Delete(_prepared);
        await Scenario.PrepareSqliteAsync(_prepared, scale);
    }

    public Task<string> SizeAsync() => Task.FromResult($"{new FileInfo(_prepared).Length / 1_048_576} MB");

    public Task<Database> CopyAsync()
    {
        var path = Path.Combine(work, $"run{++_copies}.db");
        File.Copy(_prepared, path, overwrite: true);
        return Task.FromResult(new Database(Dialect.Sqlite, $"Data Source={path}"));
    }

    public Task DropAsync(Database copy)
    {
        SqliteConnection.ClearAllPools();
        var path = new SqliteConnectionStringBuilder(copy.ConnectionString).DataSource;
        foreach (var f in new[] { path, path + "-wal", path + "-shm" }) File.Delete(f);
        return Task.CompletedTask;
    }

    public Task CleanUpAsync()
    {
        if (reuse is null) foreach (var f in Directory.GetFiles(work, "prepared-*.db")) File.Delete(f);
        return Task.CompletedTask;
    }
}

/// <summary>
/// A PostgreSQL server reached through <paramref name="admin"/> (a superuser's connection string): the marketplace is prepared in a
/// template database, and each run gets its own database cloned from it (<c>CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY</c>,
/// a copy of the files, seconds even at a million machines), dropped after the run. The front-end's connection settings apply
/// (<see cref="Database.FromSetting"/>: JIT off).
/// </summary>
internal sealed class PostgresStore(string admin, bool keep) : IStore
{
    private const string Template = "vbench_billing_template";
    private int _copies;

    public string Name => "PostgreSQL";

    public async Task PrepareAsync(Scale scale)
    {
        NpgsqlConnection.ClearAllPools();
        await AdminAsync($"DROP DATABASE IF EXISTS {Template} WITH (FORCE)");
        await AdminAsync($"CREATE DATABASE {Template}");
        await Scenario.PreparePostgresAsync(Open(Template), scale);
        NpgsqlConnection.ClearAllPools(); // nobody may be connected to a template while it is copied
    }

    public async Task<string> SizeAsync()
    {
        await using var c = new NpgsqlConnection(admin);
        await c.OpenAsync();
        await using var q = new NpgsqlCommand($"SELECT pg_database_size('{Template}')", c);
        return $"{(long)(await q.ExecuteScalarAsync())! / 1_048_576} MB";
    }

    public async Task<Database> CopyAsync()
    {
        var name = $"vbench_billing_run{++_copies}";
        await AdminAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        await AdminAsync($"CREATE DATABASE {name} TEMPLATE {Template} STRATEGY FILE_COPY");
        return Open(name);
    }

    public async Task DropAsync(Database copy)
    {
        NpgsqlConnection.ClearAllPools();
        await AdminAsync($"DROP DATABASE {new NpgsqlConnectionStringBuilder(copy.ConnectionString).Database} WITH (FORCE)");
    }

    public async Task CleanUpAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (keep) return; // --keep: the last size's template stays, to look into (EXPLAIN ANALYZE on a clone of it)
        await AdminAsync($"DROP DATABASE IF EXISTS {Template} WITH (FORCE)");
    }

    private Database Open(string database) =>
        Database.FromSetting("postgres:" + new NpgsqlConnectionStringBuilder(admin) { Database = database }.ConnectionString);

    private async Task AdminAsync(string sql)
    {
        await using var c = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(admin) { Pooling = false }.ConnectionString);
        await c.OpenAsync();
        await using var command = new NpgsqlCommand(sql, c) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync();
    }
}
