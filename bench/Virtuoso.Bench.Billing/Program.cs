// Benchmark (issue 5, item 7): one billing pass over a marketplace of 100,000 stored machines on SQLite against a
// bare baseline that reads the due rows once and inserts the same ledger rows in one batched transaction. Rounds
// alternate the order of the two; each run gets a fresh copy of the prepared database file. Prints a Markdown
// table, the medians and their ratio. Run through bench/billing.sh.
//
// Usage: Virtuoso.Bench.Billing --work DIR [--smoke] [--rounds 5] [--machines 100000] [--running 20000] [--storage-due 10000]
//        [--running-due 10000] [--buyers 1000] [--providers 10] [--hosts 50] [--seed 1] [--batch-size 5000] [--prepared FILE]
// --prepared FILE reuses a database prepared earlier with the same scale (a copy of a run's prepared.db), instead of
// building one (about a minute); the file is left in place. --batch-size sets the daemon's Virtuoso:BillingBatchSize.
// --smoke is a quick check that every step runs and every check passes (bench/billing.sh with BENCH_SMOKE=1): two
// rounds (both orders) over 2,000 machines with 200 charges due, in batches of 64 (several, the last one partial);
// options given as well still apply.
using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Virtuoso.Bench.Billing;

var opts = new Dictionary<string, string>(StringComparer.Ordinal);
var smoke = false;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--smoke") { smoke = true; continue; }
    if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 == args.Length) return Usage($"unexpected argument '{args[i]}'");
    opts[args[i][2..]] = args[++i];
}
int Int(string name, int full, int small) => opts.Remove(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : smoke ? small : full;
var work = opts.Remove("work", out var w) ? w : null;
var reuse = opts.Remove("prepared", out var pr) ? pr : null;
var rounds = Int("rounds", 5, 2);
var batchSize = Int("batch-size", new Virtuoso.FrontEnd.MarketOptions().BillingBatchSize, 64);
var scale = new Scale(Int("machines", 100_000, 2_000), Int("running", 20_000, 400), Int("storage-due", 10_000, 100), Int("running-due", 10_000, 100),
    Int("buyers", 1_000, 50), Int("providers", 10, 3), Int("hosts", 50, 9), Int("seed", 1, 1));
if (work is null) return Usage("--work DIR is required");
if (opts.Count > 0) return Usage($"unknown option --{opts.Keys.First()}");
scale.Validate();
Directory.CreateDirectory(work);

var prepared = reuse ?? Path.Combine(work, "prepared.db");
var watch = Stopwatch.StartNew();
if (reuse is null) await Scenario.PrepareAsync(prepared, scale);
else if (!File.Exists(reuse)) return Usage($"--prepared {reuse}: no such file");
var before = await Checks.ReadAsync(prepared);
Console.Error.WriteLine($"{(reuse is null ? "prepared" : "reusing")} {scale.Machines:N0} machines ({scale.Running:N0} running; {scale.StorageDue:N0} storage and {scale.RunningDue:N0} running periods due), " +
    $"{scale.Buyers:N0} buyers, {scale.Providers} providers, {scale.Hosts} hosts, {before.Transfers:N0} transfers of history, batches of {batchSize:N0}, " +
    $"{new FileInfo(prepared).Length / 1_048_576} MB, in {watch.Elapsed.TotalSeconds:F1} s");

var copies = 0;
async Task<Cost> Pass()
{
    var path = Copy();
    var (cost, result) = await Contenders.PassAsync(path, batchSize);
    await Checks.PassAsync(path, scale, before, result);
    Drop(path);
    return cost;
}
async Task<Cost> Baseline()
{
    var path = Copy();
    var (cost, inserted) = await Contenders.BaselineAsync(path);
    await Checks.BaselineAsync(path, scale, before, inserted);
    Drop(path);
    return cost;
}
string Copy()
{
    var path = Path.Combine(work, $"run{++copies}.db");
    File.Copy(prepared, path, overwrite: true);
    return path;
}
void Drop(string path)
{
    SqliteConnection.ClearAllPools();
    foreach (var f in new[] { path, path + "-wal", path + "-shm" }) File.Delete(f);
}

// Warm-up, not counted: in production the daemon runs every minute in a process that is long warm (JIT, Dapper's
// caches, SQLite's library loaded).
var (warmPass, warmBaseline) = (await Pass(), await Baseline());
Console.Error.WriteLine($"warm-up: pass {Ms(warmPass.Wall)}, baseline {Ms(warmBaseline.Wall)} (checked, not counted)");

var passes = new List<Cost>();
var baselines = new List<Cost>();
Console.WriteLine("| round | pass, wall | baseline, wall | ratio | pass, CPU | baseline, CPU | ratio |");
Console.WriteLine("|---|---|---|---|---|---|---|");
for (var round = 1; round <= rounds; round++)
{
    Cost pass, baseline;
    if (round % 2 == 1) { pass = await Pass(); baseline = await Baseline(); }
    else { baseline = await Baseline(); pass = await Pass(); }
    passes.Add(pass);
    baselines.Add(baseline);
    Console.WriteLine($"| {round}{(round % 2 == 1 ? "" : " (baseline first)")} | {Ms(pass.Wall)} | {Ms(baseline.Wall)} | {Ratio(pass.Wall, baseline.Wall)} " +
        $"| {Ms(pass.Cpu)} | {Ms(baseline.Cpu)} | {Ratio(pass.Cpu, baseline.Cpu)} |");
}
var (passWall, baselineWall) = (Median(passes.Select(p => p.Wall)), Median(baselines.Select(b => b.Wall)));
var (passCpu, baselineCpu) = (Median(passes.Select(p => p.Cpu)), Median(baselines.Select(b => b.Cpu)));
Console.WriteLine($"| **median** | **{Ms(passWall)}** | **{Ms(baselineWall)}** | **{Ratio(passWall, baselineWall)}** " +
    $"| **{Ms(passCpu)}** | **{Ms(baselineCpu)}** | **{Ratio(passCpu, baselineCpu)}** |");
Console.WriteLine();
Console.WriteLine($"**Ratio: {Ratio(passWall, baselineWall)}** wall-clock, {Ratio(passCpu, baselineCpu)} CPU (medians; target ≤ 2×). Every run checked: " +
    $"{scale.ChargesDue:N0} transfers ({scale.StorageDue:N0} storage, {scale.RunningDue:N0} running), balances equal the ledger and sum to zero, nothing left due.");
if (reuse is null) File.Delete(prepared);
return 0;

static string Ms(TimeSpan t) => $"{t.TotalMilliseconds:F0} ms";
static string Ratio(TimeSpan a, TimeSpan b) => $"{a / b:F2}×";

static TimeSpan Median(IEnumerable<TimeSpan> xs)
{
    var s = xs.Order().ToList();
    return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
}

static int Usage(string why)
{
    Console.Error.WriteLine($"error: {why}\nusage: Virtuoso.Bench.Billing --work DIR [--rounds N] [--machines N] [--running N] [--storage-due N] " +
        "[--running-due N] [--buyers N] [--providers N] [--hosts N] [--seed N] [--batch-size N] [--prepared FILE] [--smoke]");
    return 2;
}
