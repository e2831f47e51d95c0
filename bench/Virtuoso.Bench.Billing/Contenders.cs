using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Virtuoso.Core;
using Virtuoso.Core.Billing;
using Virtuoso.FrontEnd;
using Virtuoso.FrontEnd.Agents;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.Bench.Billing;

/// <summary>
/// Elapsed (wall-clock) time, the CPU time this process spent meanwhile (user + kernel, all threads), and the CPU time the
/// database server spent (PostgreSQL: its postmaster and every backend, <see cref="ServerCpu"/>; zero for SQLite, which runs in this
/// process). Both contenders run on one thread at a time, so CPU time is their own work; on a loaded machine it moves less than
/// wall time, but it leaves out waiting for the disk (fsync at every commit).
/// </summary>
internal readonly record struct Cost(TimeSpan Wall, TimeSpan Cpu, TimeSpan ServerCpu)
{
    /// <summary>The CPU time the database server has used so far, when it is another process.</summary>
    public static Func<TimeSpan> Server { get; set; } = () => TimeSpan.Zero;

    public TimeSpan TotalCpu => Cpu + ServerCpu;

    public static Meter Start() => new(System.Diagnostics.Stopwatch.StartNew(), Environment.CpuUsage.TotalTime, Server());

    public sealed class Meter(System.Diagnostics.Stopwatch wall, TimeSpan cpu, TimeSpan server)
    {
        public Cost Stop() => new(wall.Elapsed, Environment.CpuUsage.TotalTime - cpu, Server() - server);
    }
}

/// <summary>
/// The CPU time (user + kernel) of a PostgreSQL server: its postmaster's own and that of the children it has reaped (backends
/// that ended), plus that of its children still running (from /proc). Counted in clock ticks of 10 ms.
/// </summary>
internal sealed class ServerCpu(int postmaster)
{
    private const double TickMs = 10;

    public TimeSpan Read()
    {
        long ticks = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(dir);
            if (name.Length == 0 || !char.IsAsciiDigit(name[0])) continue;
            string stat;
            try { stat = File.ReadAllText(Path.Combine(dir, "stat")); }
            catch (IOException) { continue; } // ended meanwhile
            // pid (comm) state ppid … utime stime cutime cstime (fields 14–17); comm may hold spaces, so split after its ')'.
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var pid = int.Parse(name, System.Globalization.CultureInfo.InvariantCulture);
            var ppid = int.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture);
            if (pid == postmaster) ticks += long.Parse(f[11]) + long.Parse(f[12]) + long.Parse(f[13]) + long.Parse(f[14]);
            else if (ppid == postmaster) ticks += long.Parse(f[11]) + long.Parse(f[12]);
        }
        return TimeSpan.FromMilliseconds(ticks * TickMs);
    }
}

/// <summary>The two contenders, each run against its own fresh copy of the prepared database.</summary>
internal static class Contenders
{
    /// <summary>The front-end's billing daemon, wired as Program.cs wires it, doing one pass at <see cref="Scenario.Now"/>.</summary>
    public static async Task<(Cost Cost, BillingDaemon.PassResult Result)> PassAsync(Database db, int batchSize)
    {
        var clock = new FixedClock(Scenario.Now);
        var options = Options.Create(new MarketOptions { DaemonsEnabled = false, BillingBatchSize = batchSize });
        var ledger = new Ledger(db);
        var events = new EventLog(db, clock);
        // No agent is ever reached: the hosts have no certificates and cleartext agents are not allowed (issue 20), so a pass
        // that tried to suspend a machine would see it fail (the buyers can pay every charge, so none is).
        var agents = new AgentClient(options, new AgentConnector(options, new MarketTrust(db, clock), NullLogger<AgentConnector>.Instance));
        var writer = new MachineWriter(db, ledger, new Charges(ledger), events, clock, options);
        var networks = new Virtuoso.FrontEnd.Networks.NetworkService(db, events, clock);
        var underlay = new Virtuoso.FrontEnd.Networks.Underlay(db, NullLogger<Virtuoso.FrontEnd.Networks.Underlay>.Instance);
        var sync = new Virtuoso.FrontEnd.Networks.NetworkSync(db, agents, underlay, clock, options, NullLogger<Virtuoso.FrontEnd.Networks.NetworkSync>.Instance);
        // Instruments nobody listens to, as in a front-end whose /metrics is never scraped.
        var metrics = new Virtuoso.FrontEnd.Telemetry.FrontEndMetrics(
            new Microsoft.Extensions.DependencyInjection.ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
            db, clock, options, Options.Create(new Virtuoso.FrontEnd.Telemetry.MetricsOptions()));
        var machines = new MachineService(db, ledger, events, agents, writer, new MachineActions(db, agents, writer, new CrashPoints(options), clock, options,
                new Virtuoso.FrontEnd.Images.ImageCatalogue(db, options, clock, NullLogger<Virtuoso.FrontEnd.Images.ImageCatalogue>.Instance),
                new Virtuoso.FrontEnd.Isos.IsoService(db, new Virtuoso.FrontEnd.Isos.BlobDirectory(Path.GetTempPath()), events, clock, options,
                    NullLogger<Virtuoso.FrontEnd.Isos.IsoService>.Instance), networks, sync, underlay, metrics),
            new PortForwards(db, events), networks, sync, new Virtuoso.FrontEnd.Hosts.HostSnapshot(db, clock, options, NullLogger<Virtuoso.FrontEnd.Hosts.HostSnapshot>.Instance), clock, options);
        var daemon = new BillingDaemon(db, ledger, events, machines.SuspendUnpaidAsync, clock, options, metrics, NullLogger<BillingDaemon>.Instance);

        var meter = Cost.Start();
        var result = await daemon.PassAsync();
        return (meter.Stop(), result);
    }

    /// <summary>
    /// The least any pass must do: read the due machine rows once (the same indexed query) and insert one ledger
    /// row per charge due, with the key, amount and accounts the pass would use, through one prepared statement in
    /// one transaction. No balances, no machine updates, no events. <paramref name="bulk"/> (PostgreSQL): the same rows in one
    /// <c>INSERT … SELECT FROM unnest(…)</c> instead, the least a client can do over a network connection short of COPY.
    /// </summary>
    public static async Task<(Cost Cost, int Inserted)> BaselineAsync(Database db, bool bulk = false)
    {
        var nowMs = Scenario.Now.ToUnixTimeMilliseconds();

        var meter = Cost.Start();
        await using var c = await db.OpenAsync();
        var owners = new Dictionary<string, string>();
        await using (var q = Command(c, "SELECT name, owner FROM hosts"))
        await using (var r = await q.ExecuteReaderAsync())
            while (await r.ReadAsync()) owners[r.GetString(0)] = r.GetString(1);

        var charges = new List<(string Key, string Kind, string Amount, string From, string To, string Machine, string Host)>();
        await using (var q = Command(c, $"SELECT {MachineRow.Columns} FROM machines " +
            "WHERE host IS NOT NULL AND (next_storage_at <= @now OR running_due_at <= @now) ORDER BY id"))
        {
            Parameter(q, "now", System.Data.DbType.Int64).Value = nowMs;
            await using var r = await q.ExecuteReaderAsync();
            int id = r.GetOrdinal("id"), owner = r.GetOrdinal("owner"), host = r.GetOrdinal("host"), stay = r.GetOrdinal("stay"),
                storagePrice = r.GetOrdinal("storage_price"), runningPrice = r.GetOrdinal("running_price"),
                storageCharged = r.GetOrdinal("storage_periods_charged"), runningCharged = r.GetOrdinal("running_periods_charged"),
                nextStorage = r.GetOrdinal("next_storage_at");
            while (await r.ReadAsync())
            {
                var machine = Guid.Parse(r.GetString(id));
                var storage = !r.IsDBNull(nextStorage) && r.GetInt64(nextStorage) <= nowMs;
                var key = storage
                    ? ChargeKey.Storage(machine, r.GetInt64(stay), r.GetInt64(storageCharged) + 1)
                    : ChargeKey.Running(machine, r.GetInt64(stay), r.GetInt64(runningCharged) + 1);
                var h = r.GetString(host);
                charges.Add((key, storage ? TransferKinds.Storage : TransferKinds.Running, r.GetString(storage ? storagePrice : runningPrice),
                    r.GetString(owner), owners[h], machine.ToString("D"), h));
            }
        }

        // As the front-end writes (Database.WriteAsync): SQLite takes its write lock at BEGIN, PostgreSQL reads committed.
        await using (var tx = c is SqliteConnection s ? s.BeginTransaction(deferred: false) : await c.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted))
        {
            if (bulk)
            {
                // PostgreSQL: every row in one statement, its columns as arrays, instead of a round trip per row.
                await c.ExecuteAsync("INSERT INTO transfers (key, kind, amount, from_account, to_account, machine, host, at) " +
                    "SELECT k, kd, a, f, t, m, h, @at FROM unnest(@keys, @kinds, @amounts, @from, @to, @machines, @hosts) AS r(k, kd, a, f, t, m, h)",
                    new { at = nowMs, keys = charges.Select(x => x.Key).ToArray(), kinds = charges.Select(x => x.Kind).ToArray(), amounts = charges.Select(x => x.Amount).ToArray(),
                        from = charges.Select(x => x.From).ToArray(), to = charges.Select(x => x.To).ToArray(), machines = charges.Select(x => x.Machine).ToArray(),
                        hosts = charges.Select(x => x.Host).ToArray() }, tx);
                await tx.CommitAsync();
                return (meter.Stop(), charges.Count);
            }
            await using var insert = Command(c, "INSERT INTO transfers (key, kind, amount, from_account, to_account, machine, host, at) " +
                "VALUES (@key, @kind, @amount, @from, @to, @machine, @host, @at)", tx);
            var p = new[] { "key", "kind", "amount", "from", "to", "machine", "host" }.Select(n => Parameter(insert, n, System.Data.DbType.String)).ToArray();
            Parameter(insert, "at", System.Data.DbType.Int64).Value = nowMs;
            await insert.PrepareAsync();
            foreach (var ch in charges)
            {
                (p[0].Value, p[1].Value, p[2].Value, p[3].Value, p[4].Value, p[5].Value, p[6].Value) = (ch.Key, ch.Kind, ch.Amount, ch.From, ch.To, ch.Machine, ch.Host);
                await insert.ExecuteNonQueryAsync();
            }
            await tx.CommitAsync();
        }
        return (meter.Stop(), charges.Count);
    }

    private static DbCommand Command(DbConnection c, string sql, DbTransaction? tx = null)
    {
        var command = c.CreateCommand();
        command.CommandText = sql;
        command.Transaction = tx;
        return command;
    }

    private static DbParameter Parameter(DbCommand command, string name, System.Data.DbType type)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.DbType = type;
        p.Value = "";
        command.Parameters.Add(p);
        return p;
    }
}
