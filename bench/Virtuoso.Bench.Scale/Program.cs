// Scale benchmark (issue 19 point 4): how the marketplace's search holds up as the marketplace grows. bench/scale.sh starts
// PostgreSQL, three front-ends and two HAProxy instances (one in front of replica 1 only, one in front of all three) and
// calls this program:
//   prepare --database CONN --url URL --hosts N   fills a fresh marketplace with N hosts of ten stored machines each
//                                                 (SQL straight into the front-end's schema: accounts through the API)
//   load --url URL --label L --hosts N ...        buyers' searches, GET /api/v1/machines/{id}/search, from --clients
//                                                 (--request machine: GET /api/v1/machines/{id} instead, the floor)
//                                                 concurrent clients for --seconds, after a warm-up; one TSV line out
//   report FILE                                   the Markdown table of every load line, and the fitted power laws
// No agent is involved: search reads the database only, and the hosts' "last seen" is set at prepare time with the
// online window set beyond the run (bench/scale.sh), so no host monitor pass reaches out to 100,000 made-up addresses.
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Npgsql;
using Virtuoso.Bench;
using Virtuoso.Contracts.Api;

var inv = CultureInfo.InvariantCulture;
if (args.Length == 0) return Usage("a command is required");
var opts = new Dictionary<string, string>();
for (var i = args[0] == "report" ? 2 : 1; i < args.Length; i++)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 == args.Length) return Usage($"unexpected argument '{args[i]}'");
    opts[args[i][2..]] = args[++i];
}
string Opt(string name) => opts.TryGetValue(name, out var v) ? v : throw new ArgumentException($"--{name} is required");

switch (args[0])
{
    case "prepare":
    {
        var hosts = int.Parse(Opt("hosts"), inv);
        var sw = Stopwatch.StartNew();
        using var http = new HttpClient { BaseAddress = new Uri(Opt("url")) };
        foreach (var (name, type) in new[] { ("scale-provider", "provider"), ("scale-owner", "buyer") })
        {
            var r = await http.PostAsJsonAsync("/api/v1/accounts", new SignupRequest(name, name + "-password", $"{name}@example.org", type));
            if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"sign-up of {name}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
        }
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await using var c = new NpgsqlConnection(Opt("database"));
        await c.OpenAsync();
        await using var tx = await c.BeginTransactionAsync();
        // Prices vary over the hosts (ten memory prices, seven storage prices), so the ranking has work to do.
        await Exec(c, tx, """
            INSERT INTO hosts (name, owner, address, port, processor, speed, speed_unit, speed_price, memory, memory_unit, memory_price,
                running_period, storage, storage_unit, storage_price, storage_period, connect_speed, secret, last_seen, created_at, methods, bogomips)
            SELECT 'scale-' || i, 'scale-provider', '127.0.0.1', 7001, 'x86_64', 20000, 1000, '0.00001', 8192, 4,
                to_char(0.000001 * (1 + i % 10), 'FM0.000000'), 3600, 40000, 100, to_char(0.01 * (1 + i % 7), 'FM0.00'), 30, '1Gbps', 'unused',
                @now, @now, 'SCP RSYNC DEDUP', 20000
            FROM generate_series(1, @hosts) i
            """, now, hosts);
        // Ten stored machines on each, half of the host's speed, memory and storage in all.
        await Exec(c, tx, """
            INSERT INTO machines (id, owner, name, processor, speed, memory, disk, os, image, mac, state, version, host, storage_bid, running_bid,
                storage_price, storage_period_days, running_price, running_period_seconds, stay, arrived_at, storage_periods_charged,
                running_periods_charged, running_seconds_used, created_at, next_storage_at)
            SELECT gen_random_uuid()::text, 'scale-owner', 'm' || k, 'x86_64', 1000, 410, 2000, 'Linux (busybox)', 'linux-busybox',
                '52:54:' || lpad(to_hex((n >> 24) & 255), 2, '0') || ':' || lpad(to_hex((n >> 16) & 255), 2, '0') || ':' ||
                    lpad(to_hex((n >> 8) & 255), 2, '0') || ':' || lpad(to_hex(n & 255), 2, '0'),
                'stored', 1, 'scale-' || h, '30', '3', '0.01', 30, '0.00001', 3600, 1, @now, 1, 0, '0', @now, @now + 2592000000
            FROM (SELECT h, k, h * 10 + k AS n FROM generate_series(1, @hosts) h, generate_series(1, 10) k) g
            """, now, hosts);
        await tx.CommitAsync();
        await using (var analyze = new NpgsqlCommand("ANALYZE", c)) await analyze.ExecuteNonQueryAsync();
        Console.Error.WriteLine($"prepared {hosts} hosts and {hosts * 10} machines in {sw.Elapsed.TotalSeconds:F1} s");
        return 0;
    }
    case "load":
    {
        var url = Opt("url");
        var clients = int.Parse(opts.GetValueOrDefault("clients", "20"), inv);
        var seconds = double.Parse(opts.GetValueOrDefault("seconds", "10"), inv);
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = clients, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
        using var http = new HttpClient(handler) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
        // One buyer per load run, logged in, with a machine of its own for each client (Searches below): nothing one
        // search computes is what the next one asks for.
        var name = "scale-buyer-" + Guid.NewGuid().ToString("N")[..8];
        (await http.PostAsJsonAsync("/api/v1/accounts", new SignupRequest(name, name + "-password", $"{name}@example.org", "buyer"))).EnsureSuccessStatusCode();
        var session = await (await http.PostAsJsonAsync("/api/v1/sessions", new LoginRequest(name, name + "-password"))).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<SessionResponse>();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", session!.Token);
        var hosts = int.Parse(Opt("hosts"), inv);
        var paths = new List<string>();
        foreach (var search in Searches(clients))
        {
            var machine = await (await http.PostAsJsonAsync("/api/v1/machines", search.Machine)).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<MachineResponse>();
            var path = $"/api/v1/machines/{machine!.Id}/search?hours={search.Hours}";
            // Search ranks every host and answers the best 100 (its default limit), saying how many it ranked; as many
            // of them match as the bids allow.
            using var first = await http.GetAsync(path);
            var found = (await first.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<List<SearchResult>>())!;
            var ranked = first.Headers.TryGetValues("X-Total-Count", out var total) ? int.Parse(total.Single(), inv) : -1;
            var matching = found.Count(r => r.Matches);
            var expected = Math.Min(100, (int)Math.Round(hosts * search.Share));
            if (ranked != hosts || found.Count != Math.Min(100, hosts) || !found.All(r => r.Host.StartsWith("scale-", StringComparison.Ordinal))
                || Math.Abs(matching - expected) > Math.Max(1, expected / 10))
                throw new InvalidOperationException($"search for {search.Machine.Name} ranked {ranked} hosts and answered {found.Count} ({matching} matching), " +
                    $"not the {hosts} prepared and the best {Math.Min(100, hosts)} of them (about {expected} matching)");
            // The floor (--request machine): the same client, balancer, replica, log-in and database, asking for the machine
            // itself, one row read by id. What search costs beyond that is what ranking the hosts adds.
            paths.Add(opts.GetValueOrDefault("request", "search") == "machine" ? $"/api/v1/machines/{machine.Id}" : path);
        }

        async Task<(List<double> Ms, int Errors)> RunAsync(TimeSpan length)
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(length.TotalSeconds * Stopwatch.Frequency);
            var all = await Task.WhenAll(Enumerable.Range(0, clients).Select(async client =>
            {
                var ms = new List<double>();
                var errors = 0;
                while (Stopwatch.GetTimestamp() < deadline)
                {
                    var t = Stopwatch.GetTimestamp();
                    try
                    {
                        using var r = await http.GetAsync(paths[client], HttpCompletionOption.ResponseContentRead);
                        if (r.IsSuccessStatusCode) ms.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds); else errors++;
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { errors++; } // a timeout (60 s) or a refused connection
                }
                return (ms, errors);
            }));
            return (all.SelectMany(a => a.ms).ToList(), all.Sum(a => a.errors));
        }
        await RunAsync(TimeSpan.FromSeconds(Math.Min(3, seconds))); // warm-up: connections, JIT, PostgreSQL's caches
        var wall = Stopwatch.StartNew();
        var (times, failed) = await RunAsync(TimeSpan.FromSeconds(seconds));
        var elapsed = wall.Elapsed.TotalSeconds;
        times.Sort();
        // hosts, label, requests, seconds, rps, p50, p99, errors
        Console.WriteLine(string.Join('\t', hosts.ToString(inv), Opt("label"), times.Count.ToString(inv), elapsed.ToString("F2", inv),
            (times.Count / elapsed).ToString("F1", inv), Percentile(times, 0.50).ToString("F1", inv), Percentile(times, 0.99).ToString("F1", inv), failed.ToString(inv)));
        return failed == 0 && times.Count > 0 ? 0 : 1;
    }
    case "report":
    {
        var lines = File.ReadAllLines(args[1]).Where(l => l.Length > 0).Select(l => l.Split('\t')).ToList();
        Console.WriteLine("| hosts | machines | replicas | requests | requests/s | p50 | p99 | errors |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var l in lines)
            Console.WriteLine($"| {int.Parse(l[0], inv):N0} | {int.Parse(l[0], inv) * 10:N0} | {l[1]} | {l[2]} | {l[4]} | {l[5]} ms | {l[6]} ms | {l[7]} |");
        Console.WriteLine();
        // How each grows with the size: the exponent b of the power law y = a·N^b fitted by least squares on logarithms
        // (the median over rounds at each size).
        foreach (var label in lines.Select(l => l[1]).Distinct())
        {
            var bySize = lines.Where(l => l[1] == label).GroupBy(l => double.Parse(l[0], inv)).OrderBy(g => g.Key)
                .Select(g => (N: g.Key, P50: Median(g.Select(l => double.Parse(l[5], inv))), P99: Median(g.Select(l => double.Parse(l[6], inv))),
                    Rps: Median(g.Select(l => double.Parse(l[4], inv))))).ToList();
            if (bySize.Count < 2) continue;
            Console.WriteLine($"* {Described(label)}: p50 grows as N^{PowerLaw.Exponent(bySize.Select(s => (s.N, s.P50))):F2}, " +
                $"p99 as N^{PowerLaw.Exponent(bySize.Select(s => (s.N, s.P99))):F2}, requests/s as N^{PowerLaw.Exponent(bySize.Select(s => (s.N, s.Rps))):F2}");
        }
        // Side by side (docs/benchmarks.md): search through one replica against the floor, the machine's own GET, per size.
        foreach (var size in lines.Select(l => l[0]).Distinct())
        {
            double P99(string label) => Median(lines.Where(l => l[0] == size && l[1] == label).Select(l => double.Parse(l[6], inv)).DefaultIfEmpty(double.NaN));
            if (!double.IsNaN(P99("1 floor")) && !double.IsNaN(P99("1")))
                Console.WriteLine($"* {int.Parse(size, inv):N0} hosts: search p99 ÷ the floor's p99 (one replica) = {P99("1") / P99("1 floor"):F2}; the floor's p99 {P99("1 floor"):F1} ms");
        }
        return 0;
    }
    default:
        return Usage($"unknown command '{args[0]}'");
}

// What each client searches for (issue 19: all 20 once searched for the same machine): machines of different sizes with
// bids that the prepared hosts' prices (ten memory prices and seven storage prices, `prepare`) meet on every host, on about
// a third, on one in seventy, or on none, or a machine too big for any host's room; and three usages a month. Share is the
// part of the hosts that match.
static IEnumerable<(RegisterRequest Machine, int Hours, double Share)> Searches(int clients)
{
    for (var i = 0; i < clients; i++)
    {
        long speed = 1000 * (1 + i % 4), memory = 128L << (i % 4 + (i / 4) % 2), disk = 1000 * (1 + i % 6);
        // Bids at the rates of the hosts whose storage price is the tiers-th of seven and memory price the tiers-th of ten:
        // 7 and 10 meet every host, 3 and 5 three sevenths of the storage prices and half the memory prices (3 in 14),
        // 1 and 1 the cheapest of both (1 in 70); 0: a cent, below every host.
        var (storageTiers, memoryTiers, share) = (i % 5) switch { 0 => (7, 10, 1.0), 1 => (3, 5, 3.0 / 14), 2 => (1, 1, 1.0 / 70), 3 => (0, 0, 0.0), _ => (7, 10, 0.0) };
        if (i % 5 == 4) memory = 8192; // more memory than any host has free
        var storageBid = (disk + 99) / 100 * 0.01m * storageTiers * 30;
        var runningBid = ((speed + 999) / 1000 * 0.00001m + (memory + 3) / 4 * 0.000001m * memoryTiers) * 3600;
        if (storageTiers == 0) (storageBid, runningBid) = (0.01m, 0.01m);
        yield return (new RegisterRequest(null, $"scale-search-{i}", "x86_64", speed, memory, disk, "Linux", storageBid, runningBid), new[] { 730, 200, 0 }[i % 3], share);
    }
}

static string Described(string label) => label.EndsWith(" floor", StringComparison.Ordinal)
    ? $"the floor (GET of a machine) through {label[..^6]} replica(s)" : $"{label} replica(s)";

static double Percentile(List<double> sorted, double q) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];

static double Median(IEnumerable<double> values)
{
    var v = values.Order().ToList();
    return v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2;
}

static async Task Exec(NpgsqlConnection c, NpgsqlTransaction tx, string sql, long now, int hosts)
{
    await using var cmd = new NpgsqlCommand(sql, c, tx) { CommandTimeout = 0 };
    cmd.Parameters.AddWithValue("now", now);
    cmd.Parameters.AddWithValue("hosts", hosts);
    await cmd.ExecuteNonQueryAsync();
}

static int Usage(string problem)
{
    Console.Error.WriteLine($"error: {problem}\nusage: Virtuoso.Bench.Scale prepare --database CONN --url URL --hosts N | load --url URL --label L --hosts N [--clients 20] [--seconds 10] [--request search|machine] | report FILE");
    return 2;
}
