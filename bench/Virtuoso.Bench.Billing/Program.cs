// Benchmark (issue 5, item 7; issue 19 point 4): one billing pass over a marketplace of stored machines against a bare baseline
// that reads the due rows once and inserts the same ledger rows in one batched transaction, on SQLite (a file) or on PostgreSQL
// (--postgres). Rounds alternate the order of the two; each run gets a fresh copy of the prepared database (a copy of the file, or
// a database cloned from a template). Prints a Markdown table per size, the medians and their ratio, and with several sizes how
// each grows with the size (the exponent of a fitted power law). Run through bench/billing.sh.
//
// Usage: Virtuoso.Bench.Billing --work DIR [--postgres CONN] [--smoke] [--rounds 5[,N…]] [--machines 100000[,1000000…]] [--running N]
//        [--storage-due N] [--running-due N] [--buyers N] [--providers N] [--hosts N] [--seed 1] [--batch-size 5000] [--prepared FILE]
// --machines takes one size or several, comma-separated. The rest of the marketplace grows with it: of every 100,000 machines,
// 20,000 run, 10,000 owe a storage period and 10,000 a running period, owned by 1,000 buyers, on 50 hosts of 10 providers; --running,
// --storage-due, --running-due, --buyers, --providers and --hosts set them exactly (one size only).
// --postgres CONN: a PostgreSQL superuser's connection string (e.g. Host=127.0.0.1;Port=5432;Username=postgres;Database=postgres);
// the benchmark creates and drops its own databases there (vbench_billing_*). Without it, SQLite files under --work.
// --prepared FILE (SQLite, one size) reuses a database prepared earlier with the same scale (a copy of a run's prepared-N.db),
// instead of building one (about a minute); the file is left in place. --batch-size sets the daemon's Virtuoso:BillingBatchSize.
// --keep (PostgreSQL) leaves the last size's template database, vbench_billing_template, in place, to look into.
// --smoke is a quick check that every step runs and every check passes (bench/billing.sh with BENCH_SMOKE=1): two rounds (both
// orders) over 2,000 machines with 200 charges due, in batches of 64 (several, the last one partial); options given as well still
// apply.
using System.Globalization;
using Npgsql;
using Virtuoso.Bench;
using Virtuoso.Bench.Billing;

var opts = new Dictionary<string, string>(StringComparer.Ordinal);
var (smoke, keep) = (false, false);
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--smoke") { smoke = true; continue; }
    if (args[i] == "--keep") { keep = true; continue; }
    if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 == args.Length) return Usage($"unexpected argument '{args[i]}'");
    opts[args[i][2..]] = args[++i];
}
int? Given(string name) => opts.Remove(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : null;
var work = opts.Remove("work", out var w) ? w : null;
var reuse = opts.Remove("prepared", out var pr) ? pr : null;
var postgres = opts.Remove("postgres", out var pg) ? pg : null;
// --rounds N, or one count per size (--rounds 3,1 with --machines 100000,1000000).
var roundCounts = opts.Remove("rounds", out var rs) ? rs.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToList() : [smoke ? 2 : 5];
var batchSize = Given("batch-size") ?? (smoke ? 64 : new Virtuoso.FrontEnd.MarketOptions().BillingBatchSize);
var sizes = opts.Remove("machines", out var m) ? m.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToList() : [smoke ? 2_000 : 100_000];
var (running, storageDue, runningDue, buyers, providers, hosts, seed) =
    (Given("running"), Given("storage-due"), Given("running-due"), Given("buyers"), Given("providers"), Given("hosts"), Given("seed") ?? 1);
if (work is null) return Usage("--work DIR is required");
if (roundCounts.Count != 1 && roundCounts.Count != sizes.Count) return Usage("--rounds takes one count, or one per size of --machines");
if (opts.Count > 0) return Usage($"unknown option --{opts.Keys.First()}");
if (sizes.Count > 1 && new[] { running, storageDue, runningDue, buyers, providers, hosts }.Any(x => x is not null))
    return Usage("--running, --storage-due, --running-due, --buyers, --providers and --hosts need a single --machines");
if (reuse is not null && (sizes.Count > 1 || postgres is not null)) return Usage("--prepared is for SQLite and a single --machines");

// The smoke marketplace keeps the shape it always had (2,000 machines: 400 running, 100 + 100 due, 50 buyers, 3 providers, 9 hosts).
Scale ScaleOf(int machines) => smoke && sizes.Count == 1
    ? new Scale(machines, running ?? 400, storageDue ?? 100, runningDue ?? 100, buyers ?? 50, providers ?? 3, hosts ?? 9, seed)
    : new Scale(machines, running ?? machines / 5, storageDue ?? machines / 10, runningDue ?? machines / 10, buyers ?? Math.Max(1, machines / 100),
        providers ?? Math.Max(1, machines / 10_000), hosts ?? Math.Max(1, machines / 2_000), seed);
foreach (var size in sizes) ScaleOf(size).Validate();
Directory.CreateDirectory(work);

IStore store = postgres is null ? new SqliteStore(work, reuse) : new PostgresStore(postgres, keep);
if (postgres is not null)
{
    // The server's CPU counts too: on PostgreSQL most of the work is the server's.
    await using var c = new NpgsqlConnection(postgres);
    await c.OpenAsync();
    await using var q = new NpgsqlCommand("SELECT setting FROM pg_settings WHERE name = 'data_directory'", c);
    var dataDirectory = (string)(await q.ExecuteScalarAsync())!;
    var postmaster = int.Parse(File.ReadLines(Path.Combine(dataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture);
    var server = new ServerCpu(postmaster);
    Cost.Server = server.Read;
}

// The contenders: the pass, the baseline (one prepared INSERT per row) and, on PostgreSQL, the bulk baseline (one INSERT of every row).
var names = postgres is null ? new[] { "pass", "baseline" } : ["pass", "baseline", "bulk baseline"];
var summary = new List<(Scale Scale, TimeSpan[] Wall, TimeSpan[] Cpu)>();
var warm = false;
try
{
    foreach (var (size, index) in sizes.Select((x, i) => (x, i)))
    {
        var scale = ScaleOf(size);
        var rounds = roundCounts[Math.Min(index, roundCounts.Count - 1)];
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await store.PrepareAsync(scale);
        var probe = await store.CopyAsync();
        var before = await Checks.ReadAsync(probe);
        await store.DropAsync(probe);
        Console.Error.WriteLine($"{(reuse is null ? "prepared" : "reusing")} on {store.Name}: {scale.Machines:N0} machines ({scale.Running:N0} running; " +
            $"{scale.StorageDue:N0} storage and {scale.RunningDue:N0} running periods due), {scale.Buyers:N0} buyers, {scale.Providers} providers, " +
            $"{scale.Hosts} hosts, {before.Transfers:N0} transfers of history, batches of {batchSize:N0}, {await store.SizeAsync()}, in {watch.Elapsed.TotalSeconds:F1} s");

        // What the first run created; every later run, of any contender, must create exactly the same transfers.
        (Checks.Charged Transfers, string Who)? first = null;
        async Task<Cost> Run(int contender)
        {
            var db = await store.CopyAsync();
            Cost cost;
            Checks.Charged charged;
            if (contender == 0)
            {
                (cost, var result) = await Contenders.PassAsync(db, batchSize);
                charged = await Checks.PassAsync(db, scale, before, result);
            }
            else
            {
                (cost, var inserted) = await Contenders.BaselineAsync(db, bulk: contender == 2);
                charged = await Checks.BaselineAsync(db, scale, before, inserted);
            }
            if (first is { } f) f.Transfers.RequireSame(charged, names[contender], f.Who);
            else first = (charged, names[contender]);
            await store.DropAsync(db);
            return cost;
        }

        // Warm-up (first size only), not counted: in production the daemon runs every minute in a process that is long warm (JIT,
        // Dapper's caches, SQLite's library loaded).
        if (!warm)
        {
            var warmUp = new List<string>();
            for (var i = 0; i < names.Length; i++) warmUp.Add($"{names[i]} {Ms((await Run(i)).Wall)}");
            Console.Error.WriteLine($"warm-up: {string.Join(", ", warmUp)} (checked, not counted)");
            warm = true;
        }

        var costs = names.Select(_ => new List<Cost>()).ToArray();
        var serverNote = postgres is null ? "" : " (this process + PostgreSQL)";
        Console.WriteLine($"{store.Name}, {scale.Machines:N0} machines, {scale.ChargesDue:N0} charges due, wall-clock and CPU{serverNote}; ratio = pass ÷ baseline:");
        Console.WriteLine();
        var header = new List<string> { "round" };
        foreach (var what in new[] { "wall", "CPU" })
            for (var i = 0; i < names.Length; i++) header.AddRange(i == 0 ? [$"{names[i]}, {what}"] : [$"{names[i]}, {what}", "ratio"]);
        Console.WriteLine($"| {string.Join(" | ", header)} |");
        Console.WriteLine($"|{string.Concat(Enumerable.Repeat("---|", header.Count))}");
        string Row(string label, Func<int, TimeSpan> wall, Func<int, TimeSpan> cpu, Func<int, string> cpuText, string mark = "")
        {
            var cells = new List<string> { label };
            foreach (var (value, text) in new[] { (wall, (Func<int, string>)(i => Ms(wall(i)))), (cpu, cpuText) })
                for (var i = 0; i < names.Length; i++)
                    cells.AddRange(i == 0 ? [mark + text(i) + mark] : [mark + text(i) + mark, mark + Ratio(value(0), value(i)) + mark]);
            return $"| {string.Join(" | ", cells)} |";
        }
        for (var round = 1; round <= rounds; round++)
        {
            // Each round starts with a different contender, in turn.
            var order = Enumerable.Range(0, names.Length).Select(i => (i + round - 1) % names.Length).ToList();
            var got = new Cost[names.Length];
            foreach (var i in order) got[i] = await Run(i);
            for (var i = 0; i < names.Length; i++) costs[i].Add(got[i]);
            Console.WriteLine(Row($"{round}{(order[0] == 0 ? "" : $" ({names[order[0]]} first)")}", i => got[i].Wall, i => got[i].TotalCpu, i => Cpu(got[i])));
        }
        var wallMedians = costs.Select(c => Median(c.Select(x => x.Wall))).ToArray();
        var cpuMedians = costs.Select(c => Median(c.Select(x => x.TotalCpu))).ToArray();
        Console.WriteLine(Row("**median**", i => wallMedians[i], i => cpuMedians[i], i => Ms(cpuMedians[i]), "**"));
        Console.WriteLine();
        Console.WriteLine($"**Ratio: {Ratio(wallMedians[0], wallMedians[1])}** wall-clock, {Ratio(cpuMedians[0], cpuMedians[1])} CPU (medians; target ≤ 2×)" +
            (names.Length > 2 ? $"; against the bulk baseline {Ratio(wallMedians[0], wallMedians[2])} wall-clock, {Ratio(cpuMedians[0], cpuMedians[2])} CPU" : "") +
            $". Every run checked: {scale.ChargesDue:N0} transfers ({scale.StorageDue:N0} storage, {scale.RunningDue:N0} running), the same in every run" +
            ", and after a pass: balances equal the ledger and sum to zero, one event per machine charged, nothing left due.");
        Console.WriteLine();
        summary.Add((scale, wallMedians, cpuMedians));
    }
}
finally
{
    await store.CleanUpAsync();
}

if (summary.Count > 1)
{
    Console.WriteLine($"{store.Name}, medians by size:");
    Console.WriteLine();
    var header = new List<string> { "machines", "charges due" };
    foreach (var what in new[] { "wall", "CPU" })
        for (var i = 0; i < names.Length; i++) header.AddRange(i == 0 ? [$"{names[i]}, {what}"] : [$"{names[i]}, {what}", "ratio"]);
    Console.WriteLine($"| {string.Join(" | ", header)} |");
    Console.WriteLine($"|{string.Concat(Enumerable.Repeat("---|", header.Count))}");
    foreach (var (scale, wall, cpu) in summary)
    {
        var cells = new List<string> { $"{scale.Machines:N0}", $"{scale.ChargesDue:N0}" };
        foreach (var v in new[] { wall, cpu })
            for (var i = 0; i < names.Length; i++) cells.AddRange(i == 0 ? [Ms(v[i])] : [Ms(v[i]), Ratio(v[0], v[i])]);
        Console.WriteLine($"| {string.Join(" | ", cells)} |");
    }
    Console.WriteLine();
    // How each grows with the size: the exponent b of y = a·N^b over the sizes (N in machines).
    foreach (var (what, pick) in new (string, Func<(Scale Scale, TimeSpan[] Wall, TimeSpan[] Cpu), TimeSpan[]>)[] { ("wall-clock", s => s.Wall), ("CPU", s => s.Cpu) })
        Console.WriteLine($"* {what}: " + string.Join(", ", names.Select((n, i) =>
            $"{n} grows as N^{PowerLaw.Exponent(summary.Select(s => ((double)s.Scale.Machines, pick(s)[i].TotalMilliseconds))).ToString("F2", CultureInfo.InvariantCulture)}")));
}
return 0;

static string Ms(TimeSpan t) => $"{t.TotalMilliseconds:F0} ms";
static string Cpu(Cost c) => c.ServerCpu == TimeSpan.Zero ? Ms(c.Cpu) : $"{Ms(c.TotalCpu)} ({c.Cpu.TotalMilliseconds:F0} + {c.ServerCpu.TotalMilliseconds:F0})";
static string Ratio(TimeSpan a, TimeSpan b) => $"{a / b:F2}×";

static TimeSpan Median(IEnumerable<TimeSpan> xs)
{
    var s = xs.Order().ToList();
    return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
}

static int Usage(string why)
{
    Console.Error.WriteLine($"error: {why}\nusage: Virtuoso.Bench.Billing --work DIR [--postgres CONN] [--rounds N] [--machines N[,N…]] [--running N] [--storage-due N] " +
        "[--running-due N] [--buyers N] [--providers N] [--hosts N] [--seed N] [--batch-size N] [--prepared FILE] [--keep] [--smoke]");
    return 2;
}
