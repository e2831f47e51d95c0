using System.Reflection;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Virtuoso.FrontEnd.Data;

/// <summary>
/// Applies the numbered SQL files of Data/Migrations in order, each once, each in its own transaction,
/// recording it in <c>schema_migrations</c>. Replicas starting together on PostgreSQL serialize on an
/// advisory lock; SQLite serializes on its write lock.
/// </summary>
internal sealed class Migrator(Database db, TimeProvider clock)
{
    private const long AdvisoryLockKey = 0x5649525455; // "VIRTU"

    public async Task<int> MigrateAsync(CancellationToken ct = default)
    {
        await using var c = await db.OpenAsync(ct);
        if (db.Dialect == Dialect.Sqlite)
            await c.ExecuteAsync("PRAGMA journal_mode=WAL;");
        else
            await c.ExecuteAsync("SELECT pg_advisory_lock(@k)", new { k = AdvisoryLockKey });
        try
        {
            await c.ExecuteAsync("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
            var applied = 0;
            foreach (var (version, name, sql) in Scripts())
            {
                await using var tx = c is SqliteConnection s ? s.BeginTransaction(deferred: false) : await c.BeginTransactionAsync(ct);
                var done = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM schema_migrations WHERE version = @version", new { version }, tx);
                if (done > 0) { await tx.RollbackAsync(ct); continue; }
                await c.ExecuteAsync(Dialectize(sql), transaction: tx);
                await c.ExecuteAsync("INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @at)",
                    new { version, name, at = clock.GetUtcNow() }, tx);
                await tx.CommitAsync(ct);
                applied++;
            }
            return applied;
        }
        finally
        {
            if (db.Dialect == Dialect.Postgres)
                await c.ExecuteAsync("SELECT pg_advisory_unlock(@k)", new { k = AdvisoryLockKey });
        }
    }

    private string Dialectize(string sql) => sql.Replace("{serial}", db.Dialect == Dialect.Sqlite
        ? "INTEGER PRIMARY KEY AUTOINCREMENT"
        : "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY");

    private static IEnumerable<(int Version, string Name, string Sql)> Scripts()
    {
        var asm = Assembly.GetExecutingAssembly();
        const string prefix = "Virtuoso.FrontEnd.Data.Migrations.";
        foreach (var res in asm.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var name = res[prefix.Length..];
            var version = int.Parse(name[..name.IndexOf('_')], System.Globalization.CultureInfo.InvariantCulture);
            using var reader = new StreamReader(asm.GetManifestResourceStream(res)!);
            yield return (version, name, reader.ReadToEnd());
        }
    }
}
