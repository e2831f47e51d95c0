using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;
using Virtuoso.Core;
using Virtuoso.Core.Billing;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Data;

namespace Virtuoso.Bench.Billing;

/// <summary>The size of the marketplace being billed.</summary>
internal sealed record Scale(int Machines, int Running, int StorageDue, int RunningDue, int Buyers, int Providers, int Hosts, int Seed)
{
    public int ChargesDue => StorageDue + RunningDue;

    public void Validate()
    {
        if (Running > Machines || RunningDue > Running || StorageDue > Machines - Running)
            throw new ArgumentException("need running ≤ machines, running-due ≤ running and storage-due ≤ machines − running");
        if (Buyers < 1 || Providers < 1 || Hosts < Providers) throw new ArgumentException("need buyers ≥ 1, providers ≥ 1 and hosts ≥ providers");
    }
}

/// <summary>
/// Builds the marketplace database once: the front-end's own <see cref="Migrator"/> creates the real schema, then
/// one transaction inserts accounts, hosts, machines and the ledger history that brought them where they are
/// (opening credits, registration fees, every storage and running period charged so far), so that balances equal
/// the ledger and sum to zero before the pass as after it.
///
/// The due set is exact by construction, against a fixed clock: <see cref="Scale.StorageDue"/> machines that are
/// not running have exactly one storage period begun and not charged; <see cref="Scale.RunningDue"/> running
/// machines have exactly one running period begun and not charged; every other machine owes nothing now. The
/// roles are shuffled over random ids, so due machines are spread over the whole table as in real life.
/// </summary>
internal static class Scenario
{
    /// <summary>The instant every contender bills at.</summary>
    public static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    private const decimal OpeningCredit = 1000m;
    private const decimal RegistrationFee = 0.05m;

    private enum Role { Stored, StorageDue, Stopped, Suspended, Running, RunningDue }

    private sealed record Host(string Name, string Owner, long StorageDays, long RunningSeconds, decimal StorageRate, decimal RunningRate);

    /// <summary>Builds the marketplace in a SQLite file at <paramref name="path"/>: one transaction, one prepared INSERT per table.</summary>
    public static async Task PrepareSqliteAsync(string path, Scale scale)
    {
        var db = new Database(Dialect.Sqlite, $"Data Source={path}");
        await new Migrator(db, new FixedClock(Now)).MigrateAsync();
        await using var c = (SqliteConnection)await db.OpenAsync();
        await using var tx = c.BeginTransaction(deferred: false);
        var inserters = Tables.ToDictionary(t => t.Key, t => Insert(c, tx, t.Key, t.Value));
        var balances = Generate(scale, new SqliteRows(inserters));
        await using (var update = new SqliteCommand("UPDATE accounts SET balance = @b WHERE username = @a", c, tx))
        {
            update.Parameters.AddWithValue("@a", "");
            update.Parameters.AddWithValue("@b", "");
            foreach (var (a, balance) in balances)
            {
                update.Parameters["@a"].Value = a;
                update.Parameters["@b"].Value = Money.Format(balance);
                await update.ExecuteNonQueryAsync();
            }
        }
        await tx.CommitAsync();

        // Fold the WAL into the file, so that a plain file copy is the whole database.
        await using (var checkpoint = new SqliteCommand("PRAGMA wal_checkpoint(TRUNCATE)", c)) await checkpoint.ExecuteNonQueryAsync();
        await c.CloseAsync();
        SqliteConnection.ClearAllPools();
    }

    /// <summary>
    /// Builds the marketplace in the empty PostgreSQL database <paramref name="db"/>: the schema by the front-end's <see cref="Migrator"/>,
    /// then each table filled by one <c>COPY … FROM STDIN</c> (text format) in one transaction, with foreign-key triggers off
    /// (<c>session_replication_role = replica</c>: the rows are consistent by construction). COPY fills one table at a time, so the
    /// generator (deterministic for its seed) runs once per table and only that table's rows are sent. Then VACUUM ANALYZE, so that
    /// every copy made from it starts with statistics and a visibility map.
    /// </summary>
    public static async Task PreparePostgresAsync(Database db, Scale scale)
    {
        await new Migrator(db, new FixedClock(Now)).MigrateAsync();
        await using var c = (NpgsqlConnection)await db.OpenAsync();
        await using (var tx = await c.BeginTransactionAsync())
        {
            await using (var role = new NpgsqlCommand("SET LOCAL session_replication_role = replica", c, tx)) await role.ExecuteNonQueryAsync();
            Dictionary<string, decimal> balances = [];
            foreach (var (table, columns) in Tables)
            {
                await using var copy = await c.BeginTextImportAsync($"COPY {table} ({columns}) FROM STDIN");
                balances = Generate(scale, new CopyRows(table, copy));
            }
            await using (var update = new NpgsqlCommand(
                "UPDATE accounts SET balance = v.balance FROM unnest(@names, @values) AS v(username, balance) WHERE accounts.username = v.username", c, tx))
            {
                update.Parameters.AddWithValue("names", balances.Keys.ToArray());
                update.Parameters.AddWithValue("values", balances.Values.Select(Money.Format).ToArray());
                await update.ExecuteNonQueryAsync();
            }
            await tx.CommitAsync();
        }
        await using (var vacuum = new NpgsqlCommand("VACUUM ANALYZE", c) { CommandTimeout = 0 }) await vacuum.ExecuteNonQueryAsync();
    }

    /// <summary>The tables the scenario fills, in the order their foreign keys need, and their columns (the order of each row's values).</summary>
    private static readonly Dictionary<string, string> Tables = new()
    {
        [Table.Accounts] = "username, email, password_hash, type, balance, created_at",
        [Table.Hosts] = "name, owner, address, port, processor, speed, speed_unit, speed_price, memory, memory_unit, memory_price, " +
            "running_period, storage, storage_unit, storage_price, storage_period, connect_speed, secret, last_seen, created_at",
        [Table.Machines] = "id, owner, name, processor, speed, memory, disk, os, image, mac, state, version, host, storage_bid, running_bid, " +
            "storage_price, storage_period_days, running_price, running_period_seconds, stay, arrived_at, storage_periods_charged, running_periods_charged, " +
            "running_seconds_used, running_since, created_at, next_storage_at, running_due_at",
        [Table.Events] = "at, origin, kind, machine, account, message",
        [Table.Transfers] = "key, kind, amount, from_account, to_account, machine, host, at",
    };

    private static class Table
    {
        public const string Accounts = "accounts", Hosts = "hosts", Machines = "machines", Events = "events", Transfers = "transfers";
    }

    /// <summary>Where generated rows go: <paramref name="values"/> in the order of the table's columns in <see cref="Tables"/>.</summary>
    private interface IRows
    {
        void Add(string table, params object?[] values);
    }

    /// <summary>
    /// Generates every row of the marketplace, the same for the same scale and seed, and returns each account's balance as the
    /// ledger makes it (the accounts rows carry 0; the caller writes these back).
    /// </summary>
    private static Dictionary<string, decimal> Generate(Scale scale, IRows rows)
    {
        var rng = new Random(scale.Seed);
        var nowMs = Now.ToUnixTimeMilliseconds();
        var buyers = Enumerable.Range(1, scale.Buyers).Select(i => $"buyer{i:D4}").ToArray();
        var providers = Enumerable.Range(1, scale.Providers).Select(i => $"provider{i:D2}").ToArray();
        long[] storageDays = [30, 7, 1];
        long[] runningSeconds = [3600, 1800, 600];
        var hosts = Enumerable.Range(0, scale.Hosts).Select(h => new Host($"host{h + 1:D3}", providers[h % providers.Length],
            storageDays[h % storageDays.Length], runningSeconds[h / storageDays.Length % runningSeconds.Length],
            0.0001m + 0.000002m * (h % 17), 0.00001m + 0.000001m * (h % 13))).ToArray();

        var roles = new List<Role>(scale.Machines);
        var stored = scale.Machines - scale.Running - scale.StorageDue;
        roles.AddRange(Enumerable.Repeat(Role.StorageDue, scale.StorageDue));
        roles.AddRange(Enumerable.Repeat(Role.RunningDue, scale.RunningDue));
        roles.AddRange(Enumerable.Repeat(Role.Running, scale.Running - scale.RunningDue));
        for (var i = 0; i < stored; i++) roles.Add((i % 10) switch { 0 => Role.Stopped, 1 => Role.Suspended, _ => Role.Stored });
        var shuffled = roles.ToArray();
        rng.Shuffle(shuffled);

        var balances = buyers.Concat(providers).Append(Ledger.Operator).Append(Ledger.Deposits).ToDictionary(a => a, _ => 0m);

        void Transfer(string key, string kind, decimal amount, string from, string to, Guid? m, string? h, long at)
        {
            rows.Add(Table.Transfers, key, kind, Money.Format(amount), from, to, m?.ToString("D"), h, at);
            balances[from] -= amount;
            balances[to] += amount;
        }

        // Accounts first (transfers reference them); their balances are set from the ledger at the end.
        foreach (var a in buyers.Concat(providers))
            rows.Add(Table.Accounts, a, $"{a}@example.org", "!", a.StartsWith("buyer", StringComparison.Ordinal) ? "buyer" : "provider", "0", nowMs - 400L * 86_400_000);
        foreach (var a in buyers.Concat(providers))
            Transfer(ChargeKey.OpeningCredit(a), TransferKinds.OpeningCredit, OpeningCredit, Ledger.Deposits, a, null, null, nowMs - 400L * 86_400_000);
        foreach (var h in hosts)
            rows.Add(Table.Hosts, h.Name, h.Owner, "10.0.0." + h.Name[^2..], 7000, "Pentium3", 1_000_000, 100, "0.00001", 1_000_000, 32, "0.000001",
                h.RunningSeconds, 10_000_000, 50, h.StorageRate.ToString(CultureInfo.InvariantCulture), h.StorageDays, "100", "secret", nowMs, nowMs - 400L * 86_400_000);

        var guid = new byte[16];
        for (var i = 0; i < shuffled.Length; i++)
        {
            var role = shuffled[i];
            rng.NextBytes(guid);
            guid[7] = (byte)(guid[7] & 0x0F | 0x40); // version 4
            guid[8] = (byte)(guid[8] & 0x3F | 0x80);
            var id = new Guid(guid);
            var owner = buyers[rng.Next(buyers.Length)];
            var h = hosts[rng.Next(hosts.Length)];
            long storageSeconds = h.StorageDays * BillingPlan.SecondsPerDay, period = h.RunningSeconds;
            var storagePrice = h.StorageRate * 100 * h.StorageDays;        // 100 MB of disk
            var runningPrice = h.RunningRate * 2 * period;                 // two speed-and-memory chunks

            // Storage: n periods charged; a due machine is 1 period further on, the others are within period n.
            var n = rng.Next(1, 4);
            var intoPeriod = rng.NextInt64(0, storageSeconds);
            var arrived = Now - TimeSpan.FromSeconds(role == Role.StorageDue ? n * storageSeconds + intoPeriod : (n - 1) * storageSeconds + intoPeriod);

            // Running: p periods charged, p·period − r seconds used before the current run (if any).
            long p = 0, used = 0;
            DateTimeOffset? since = null;
            if (role is Role.Running or Role.RunningDue or Role.Stopped or Role.Suspended)
            {
                p = rng.Next(1, 5);
                var r = rng.NextInt64(1, period + 1);
                used = p * period - r;
                if (role == Role.RunningDue) since = Now - TimeSpan.FromSeconds(r + rng.NextInt64(0, period));  // used p·period + [0, period)
                if (role == Role.Running) since = Now - TimeSpan.FromSeconds(rng.NextInt64(0, r));               // used < p·period
            }
            var running = new RunningTime(p, used, since);
            var state = role switch
            {
                Role.Running or Role.RunningDue => "running", Role.Stopped => "stopped", Role.Suspended => "suspended", _ => "stored",
            };

            rows.Add(Table.Machines, id.ToString("D"), owner, $"vm{i}", "Pentium3", 2000, 64, 100, "linux", null, $"52:54:00:{i >> 16 & 0xFF:x2}:{i >> 8 & 0xFF:x2}:{i & 0xFF:x2}",
                state, 3 + 2 * p, h.Name, "1", "1", Money.Format(storagePrice), h.StorageDays, Money.Format(runningPrice), period, 1,
                arrived.ToUnixTimeMilliseconds(), n, p, Money.Format(used), since?.ToUnixTimeMilliseconds(), arrived.ToUnixTimeMilliseconds() - 60_000,
                BillingPlan.StoragePeriodStart(arrived, h.StorageDays, n + 1).ToUnixTimeMilliseconds(),
                BillingPlan.RunningDueAt(running, period)?.ToUnixTimeMilliseconds());
            rows.Add(Table.Events, arrived.ToUnixTimeMilliseconds(), "front-end", "stored", id.ToString("D"), owner, $"stored on {h.Name}");

            var at = arrived.ToUnixTimeMilliseconds();
            Transfer(ChargeKey.RegistrationFee(id), TransferKinds.RegistrationFee, RegistrationFee, owner, Ledger.Operator, id, null, at - 60_000);
            for (var k = 1; k <= n; k++)
                Transfer(ChargeKey.Storage(id, 1, k), TransferKinds.Storage, storagePrice, owner, h.Owner, id, h.Name, BillingPlan.StoragePeriodStart(arrived, h.StorageDays, k).ToUnixTimeMilliseconds());
            for (var k = 1; k <= p; k++)
                Transfer(ChargeKey.Running(id, 1, k), TransferKinds.Running, runningPrice, owner, h.Owner, id, h.Name, at);
        }

        if (balances.Values.Sum() != 0m) throw new InvalidOperationException("the seeded balances do not sum to zero");
        return balances;
    }

    private sealed class SqliteRows(Dictionary<string, Inserter> inserters) : IRows
    {
        public void Add(string table, params object?[] values) => inserters[table].Run(values);
    }

    /// <summary>The rows of one table, as lines of COPY's text format; other tables' rows are dropped.</summary>
    private sealed class CopyRows(string table, TextWriter copy) : IRows
    {
        private readonly System.Text.StringBuilder _line = new();

        public void Add(string t, params object?[] values)
        {
            if (t != table) return;
            _line.Clear();
            for (var i = 0; i < values.Length; i++)
            {
                if (i > 0) _line.Append('\t');
                if (values[i] is null) { _line.Append("\\N"); continue; }
                var text = Convert.ToString(values[i], CultureInfo.InvariantCulture)!;
                if (text.AsSpan().IndexOfAny("\\\t\n\r") < 0) { _line.Append(text); continue; }
                foreach (var ch in text)
                    _line.Append(ch switch { '\\' => "\\\\", '\t' => "\\t", '\n' => "\\n", '\r' => "\\r", _ => ch.ToString() });
            }
            _line.Append('\n');
            copy.Write(_line);
        }
    }

    /// <summary>One prepared INSERT reused for every row of a table (positional values, in column order).</summary>
    private static Inserter Insert(SqliteConnection c, SqliteTransaction tx, string table, string columns)
    {
        var names = columns.Split(',', StringSplitOptions.TrimEntries);
        var cmd = new SqliteCommand($"INSERT INTO {table} ({columns}) VALUES ({string.Join(", ", names.Select((_, i) => $"@p{i}"))})", c, tx);
        foreach (var i in Enumerable.Range(0, names.Length)) cmd.Parameters.Add(new SqliteParameter($"@p{i}", null));
        cmd.Prepare();
        return new Inserter(cmd);
    }

    private sealed class Inserter(SqliteCommand cmd)
    {
        public void Run(params object?[] values)
        {
            for (var i = 0; i < values.Length; i++) cmd.Parameters[i].Value = values[i] ?? DBNull.Value;
            cmd.ExecuteNonQuery();
        }
    }
}
