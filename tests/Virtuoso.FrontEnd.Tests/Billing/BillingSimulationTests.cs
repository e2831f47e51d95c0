using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.Contracts.Vmmp;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;
using Xunit.Abstractions;

namespace Virtuoso.FrontEnd.Tests.Billing;

/// <summary>
/// Issue 5 item 6: a seeded simulation of 90 days of a marketplace (buyers storing, starting, stopping, suspending,
/// resuming, migrating and deleting machines on three hosts with fake agents, providers editing prices, deposits, and a billing
/// daemon that is skipped for stretches, run on a second front-end, run twice at once, killed mid-pass or restarted),
/// checked after every step against an independent model of what should have been charged by then, and the zero-sum
/// invariant. <c>./test</c> runs every seed that ever failed; for more, set <c>VIRTUOSO_BILLING_SIM_SEEDS</c> (how
/// many more, default none), <c>VIRTUOSO_BILLING_SIM_FIRST_SEED</c> (default 1000) and <c>VIRTUOSO_BILLING_SIM_DAYS</c>
/// (default 90). A seed replays the same choices, except that machine ids are the front-end's random GUIDs: they decide
/// the daemon's order, so which machine a short balance suspends first may differ between runs of one seed (the model
/// follows the real ids, so the check is exact either way).
/// </summary>
public sealed class BillingSimulationTests(ITestOutputHelper output)
{
    /// <summary>Seeds kept because they once failed (run by default); see the attributes of the simulation.</summary>
    private static readonly int[] Kept = [1, 2, 3, 4, 5, 18];

    public static IEnumerable<object[]> MoreSeeds()
    {
        var count = Env("VIRTUOSO_BILLING_SIM_SEEDS", 0);
        var first = Env("VIRTUOSO_BILLING_SIM_FIRST_SEED", 1000);
        return Enumerable.Range(first, count).Where(s => !Kept.Contains(s)).Select(s => new object[] { s });
    }

    private static int Env(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : fallback;

    private static int Days => Env("VIRTUOSO_BILLING_SIM_DAYS", 90);

    // Every seed that ever failed, with what it found:
    [Theory]
    [InlineData(1)] // 1–5: a stop or suspend after a period had begun unbilled (daemon down or between passes) escaped that period (fixed in MachineService.PauseAsync);
                    // 1, 2, 5 also: two migrations of one machine at one instant, and GET .../migration answered the older one (fixed: ordered by seq)
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(18)] // the model let two passes run at once with an agent's suspend failure armed (a bug of the model)
    [MemberData(nameof(MoreSeeds))]
    public Task Simulation_OnSqlite_LedgerEqualsTheModelAfterEveryStep(int seed) =>
        new Simulation(seed, postgres: false, Days, output).RunAsync();

    [Theory]
    [InlineData(1)]
    public Task Simulation_OnPostgres_LedgerEqualsTheModelAfterEveryStep(int seed) =>
        new Simulation(seed, postgres: true, Days, output).RunAsync();
}

/// <summary>One seeded run: the market, the model, the random steps and the checks.</summary>
internal sealed class Simulation(int seed, bool postgres, int days, ITestOutputHelper output)
{
    private const decimal Fee = 0.05m;
    private const decimal OpeningCredit = 40m;
    private const string OperatorPassword = "simulated-operator";
    private const int MaxMachines = 12; // far below the daemon's batch of 500: a pass is one transaction

    private readonly Random _rng = new(seed);
    private readonly Random _migrationRng = new(seed * 7919 + 1);
    private readonly Model _model = new();
    private readonly List<string> _trace = [];
    private readonly Dictionary<string, Session> _users = [];
    private readonly Dictionary<string, FakeAgent> _agents = [];
    private readonly LedgerMirror _mirror = new();
    private BillingMarket _market = null!;
    private BillingFrontEnd _second = null!;
    private Session _operator = null!;
    private int _step, _skipPasses, _restarts, _deposits, _checked;
    private readonly System.Diagnostics.Stopwatch _inChecks = new(), _inPasses = new(), _inActions = new();
    /// <summary>How often each interesting case came up: printed, so that a change that starves one is noticed.</summary>
    private readonly SortedDictionary<string, int> _seen = new(StringComparer.Ordinal);

    private void Saw(string what) => _seen[what] = _seen.GetValueOrDefault(what) + 1;

    private DateTimeOffset Now => _market.Clock.GetUtcNow();

    public async Task RunAsync()
    {
        var started = DateTime.UtcNow;
        _market = await BillingMarket.CreateAsync(postgres, new Dictionary<string, string>
        {
            ["Virtuoso:OpeningCredit"] = OpeningCredit.ToString(CultureInfo.InvariantCulture),
            ["Virtuoso:RegistrationFee"] = Fee.ToString(CultureInfo.InvariantCulture),
            ["Virtuoso:OperatorPassword"] = OperatorPassword,
        });
        try
        {
            await SetUpAsync();
            var end = BillingMarket.Start.AddDays(days);
            while (Now < end)
            {
                _step++;
                Advance();
                for (var n = _rng.Next(3); n > 0; n--)
                {
                    _inActions.Start(); await ActAsync(); _inActions.Stop();
                    _inChecks.Start(); await CheckAsync(); _inChecks.Stop();
                }
                _inPasses.Start(); await DaemonAsync(); _inPasses.Stop();
                _inChecks.Start(); await CheckAsync(); _inChecks.Stop();
            }
            await _mirror.ReloadAsync(_market);
            _checked = 0;
            await CheckAsync();
            output.WriteLine($"seed {seed}: {_step} steps, {_mirror.Count} transfers, {_model.Machines.Count} machines left, " +
                $"{_restarts} restarts, {(DateTime.UtcNow - started).TotalSeconds:F1} s (actions {_inActions.Elapsed.TotalSeconds:F1} s, " +
                $"passes {_inPasses.Elapsed.TotalSeconds:F1} s, checks {_inChecks.Elapsed.TotalSeconds:F1} s)");
            _seen["pass's suspend failed on the agent"] = _model.FailedSuspends;
            foreach (var (what, n) in _seen) output.WriteLine($"  {n,5} × {what}");
        }
        catch (Exception e)
        {
            foreach (var line in _trace.TakeLast(40)) output.WriteLine(line);
            throw new Exception($"billing simulation seed {seed} ({(postgres ? "PostgreSQL" : "SQLite")}) failed at step {_step}, {Now:O}; " +
                $"last steps:\n{string.Join("\n", _trace.TakeLast(40))}", e);
        }
        finally
        {
            await _market.DisposeAsync();
        }
    }

    private void Trace(string what) => _trace.Add($"[{_step} {Now:yyyy-MM-dd HH:mm:ss.fff}] {what}");

    // ---- setup: two providers with three hosts, three buyers ----

    private async Task SetUpAsync()
    {
        _second = _market.StartFrontEnd();
        var users = await Task.WhenAll(
            _market.SignupAsync(Roles.Provider, "sim-provider"), _market.SignupAsync(Roles.Provider, "sim-provider"),
            _market.SignupAsync(Roles.Buyer, "sim-buyer"), _market.SignupAsync(Roles.Buyer, "sim-buyer"), _market.SignupAsync(Roles.Buyer, "sim-buyer"));
        var login = await Session.Ok<SessionResponse>(await _market.FrontEnd.CreateClient().PostAsJsonAsync("/api/v1/sessions", new LoginRequest("operator", OperatorPassword)));
        _operator = new Session(_market.FrontEnd.CreateClient(), "operator", OperatorPassword, login.Token, null);
        foreach (var u in users)
        {
            _users[u.Username] = u;
            _model.Balances[u.Username] = 0m;
            _model.Transfer($"account:{u.Username}:opening-credit", "opening-credit", OpeningCredit, "deposits", u.Username, null);
            if (u.Username.StartsWith("sim-buyer", StringComparison.Ordinal)) _model.Buyers.Add(u.Username);
        }
        // One host per kind of period: hourly running and monthly storage (the report's), four-hourly and weekly,
        // daily and daily; prices vary by seed, down to a billionth of a dollar.
        await AddHostAsync(users[0], runningPeriod: 3600, storagePeriod: 30);
        await AddHostAsync(users[0], runningPeriod: 14_400, storagePeriod: 7);
        await AddHostAsync(users[1], runningPeriod: 86_400, storagePeriod: 1);
        Trace("set up: " + string.Join("; ", _model.Hosts.Values.Select(h => h.ToString())));
    }

    private static readonly decimal[] SpeedPrices = [0.00001m, 0.000003m, 0.0000001m, 0.0000000000005m];
    private static readonly decimal[] MemoryPrices = [0.000001m, 0.0000007m, 0.00000001m, 0.0000000000005m];
    private static readonly decimal[] StoragePrices = [0.1m, 0.01m, 0.37m, 0.000000001m];

    private async Task AddHostAsync(Session provider, long runningPeriod, long storagePeriod)
    {
        var h = new HostModel
        {
            Owner = provider.Username,
            SpeedUnit = Pick(1000L, 2000L, 4000L), SpeedPrice = Pick(SpeedPrices),
            MemoryUnit = Pick(4L, 32L, 64L), MemoryPrice = Pick(MemoryPrices),
            RunningPeriod = runningPeriod,
            StorageUnit = Pick(50L, 100L, 1000L), StoragePrice = Pick(StoragePrices), StoragePeriod = storagePeriod,
        };
        var (host, agent) = await _market.AddHostAsync(provider, (name, a) => new AddHostRequest(name, "127.0.0.1", a.Port, "x86_64",
            1_000_000, h.SpeedUnit, h.SpeedPrice, 1_000_000, h.MemoryUnit, h.MemoryPrice, h.RunningPeriod,
            1_000_000, h.StorageUnit, h.StoragePrice, h.StoragePeriod, "1 Gbit/s", a.Secret));
        h.Name = host.Name;
        _model.Hosts[host.Name] = h;
        agent.HeartbeatInterval = TimeSpan.FromMilliseconds(5);
        _agents[host.Name] = agent;
    }

    private T Pick<T>(params T[] options) => options[_rng.Next(options.Length)];

    // ---- the clock: small and large steps, and steps landing exactly on (or just before) a period boundary ----

    private void Advance()
    {
        var roll = _rng.NextDouble();
        var boundaries = _model.NextBoundaries(Now).ToList();
        var soon = boundaries.Where(b => b > Now && b <= Now.AddHours(12)).Order().Take(3).ToList();
        if (roll < 0.25 && soon.Count > 0)
        {
            var before = Pick(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1));
            var at = soon[_rng.Next(soon.Count)] - before;
            if (at > Now)
            {
                Saw(before == TimeSpan.Zero ? "clock exactly on a period boundary" : $"clock {before.TotalMilliseconds} ms before a period boundary");
                _market.Clock.SetUtcNow(at);
                Trace($"clock to {at:O}, at or just before a period boundary");
                return;
            }
        }
        var ms = roll switch
        {
            < 0.45 => _rng.NextInt64(1, 600_000),                 // up to 10 minutes
            < 0.85 => _rng.NextInt64(600_000, 6 * 3_600_000L),    // up to 6 hours
            < 0.97 => _rng.NextInt64(6 * 3_600_000L, 86_400_000L),
            _ => _rng.NextInt64(86_400_000L, 5 * 86_400_000L),    // the clock jumps days
        };
        _market.Clock.Advance(TimeSpan.FromMilliseconds(ms));
        Trace($"clock +{TimeSpan.FromMilliseconds(ms)}");
    }

    // ---- actions ----

    private Session User(string name) => User(_users[name]);
    private Session User(Session user) => _market.As(user, _rng.Next(4) == 0 ? _second : null);

    private async Task ActAsync()
    {
        var roll = _rng.NextDouble();
        var machines = _model.Machines.Values.OrderBy(m => m.Number).ToList();
        if (roll < 0.10 && machines.Count < MaxMachines) await RegisterAsync(Pick([.. _model.Buyers]));
        else if (roll < 0.17) await DepositAsync();
        else if (roll < 0.21) await EditHostAsync();
        else if (roll < 0.23) ArmSuspendFailure();
        else if (machines.Count > 0)
        {
            var m = machines[_rng.Next(machines.Count)];
            var verb = m.State switch
            {
                "registered" => _rng.Next(8) == 0 ? "delete" : "store",
                "stored" => _rng.Next(12) == 0 ? "delete" : "start",
                "stopped" => _rng.Next(10) == 0 ? "delete" : "start",
                "suspended" => _rng.Next(10) == 0 ? "delete" : "resume",
                "running" => _rng.Next(2) == 0 ? "stop" : "suspend",
                _ => throw new InvalidOperationException(m.State),
            };
            // Migration (design §6.2) instead of a start or resume now and then. Its choices come from a random of their own,
            // so the seeds kept for older bugs still replay the same sequence of everything else.
            if (verb is "start" or "resume" && _migrationRng.Next(5) == 0) verb = "migrate";
            switch (verb)
            {
                case "migrate": await MigrateAsync(m); break;
                case "store": await StoreAsync(m); break;
                case "start" or "resume": await RunAsync(m, verb); break;
                case "stop" or "suspend": await PauseAsync(m, verb); break;
                case "delete": await DeleteAsync(m); break;
            }
        }
    }

    private static readonly (string Name, long Speed, long Memory, long Disk)[] Configurations =
        [("Configuration1", 4000, 64, 100), ("Configuration2", 2000, 32, 50), ("linux-busybox", 4000, 256, 1000)];

    private async Task RegisterAsync(string buyer)
    {
        var config = Pick(Configurations);
        var response = await User(buyer).PostAsync("/api/v1/machines", new RegisterRequest(config.Name, null, null, null, null, null, null, 1_000_000m, 1_000_000m));
        Trace($"{buyer} registers {config.Name} (balance {_model.Balances[buyer]}): {(int)response.StatusCode}");
        if (_model.Balances[buyer] < Fee)
        {
            Saw("register refused: insufficient funds");
            await Problem.AssertAsync(response, 402, ErrorCodes.InsufficientFunds);
            return;
        }
        var machine = await Session.Ok<MachineResponse>(response);
        var m = new MachineModel { Id = machine.Id, Number = _model.Machines.Count == 0 ? 1 : _model.Machines.Values.Max(x => x.Number) + 1, Owner = buyer, Speed = config.Speed, Memory = config.Memory, Disk = config.Disk };
        _model.Machines[m.Id] = m;
        _model.Transfer($"machine:{m.Id:N}:registration-fee", "registration-fee", Fee, buyer, "operator", m.Id);
    }

    private async Task StoreAsync(MachineModel m)
    {
        var h = Pick([.. _model.Hosts.Values]);
        var storage = h.StorageCharge(m);
        var balance = _model.Balances[m.Owner];
        var response = await User(m.Owner).StoreRawAsync(m.Id, h.Name);
        Trace($"{m} store on {h.Name} for {storage} (balance {balance}): {(int)response.StatusCode}");
        if (balance < 0) { Saw("store refused: negative balance"); await Problem.AssertAsync(response, 402, ErrorCodes.NegativeBalance); return; }
        if (balance < storage) { Saw("store refused: insufficient funds"); await Problem.AssertAsync(response, 402, ErrorCodes.InsufficientFunds); return; }
        Saw("stored");
        await Session.Ok<MachineResponse>(response);
        // Prices are fixed on arrival: later edits of the host never reach this machine (§5.2.3).
        m.State = "stored"; m.Version++; m.Host = h.Name; m.Stay++; m.Arrived = Now;
        m.StoragePrice = storage; m.StorageDays = h.StoragePeriod; m.RunningPrice = h.RunningCharge(m); m.RunningSeconds = h.RunningPeriod;
        m.StorageCharged = 1; m.RunningCharged = 0; m.UsedTicks = 0; m.RunningSince = null;
        _model.Transfer(m.StorageKey(1), "storage", storage, m.Owner, h.Owner, m.Id);
    }

    private async Task RunAsync(MachineModel m, string verb)
    {
        var balance = _model.Balances[m.Owner];
        var needsCharge = m.RunningCharged * m.PeriodTicks - m.UsedTicks <= 0;
        var response = await User(m.Owner).PostAsync($"/api/v1/machines/{m.Id:D}/{verb}");
        Trace($"{m} {verb}, needs charge {needsCharge} of {m.RunningPrice} (balance {balance}): {(int)response.StatusCode}");
        if (balance < 0) { Saw($"{verb} refused: negative balance"); await Problem.AssertAsync(response, 402, ErrorCodes.NegativeBalance); return; }
        if (needsCharge && balance < m.RunningPrice) { Saw($"{verb} refused: insufficient funds"); await Problem.AssertAsync(response, 402, ErrorCodes.InsufficientFunds); return; }
        Saw(needsCharge ? $"{verb} charging a period" : $"{verb} within prepaid time");
        await Session.Ok<MachineResponse>(response);
        m.State = "running"; m.RunningSince = Now;
        if (needsCharge)
        {
            m.RunningCharged++;
            _model.Transfer(m.RunningKey(m.RunningCharged), "running", m.RunningPrice, m.Owner, _model.Hosts[m.Host!].Owner, m.Id);
        }
    }

    private async Task PauseAsync(MachineModel m, string verb)
    {
        var h = _model.Hosts[m.Host!];
        var fails = verb == "suspend" && h.SuspendFailures > 0;
        var response = await User(m.Owner).PostAsync($"/api/v1/machines/{m.Id:D}/{verb}");
        Trace($"{m} {verb}{(fails ? " (the agent fails it)" : "")}: {(int)response.StatusCode}");
        if (fails)
        {
            h.SuspendFailures--;
            Saw("suspend failed on the agent");
            await Problem.AssertAsync(response, 502, ErrorCodes.AgentFailed);
            return;
        }
        await Session.Ok<MachineResponse>(response);
        if (_model.Pause(m, verb == "stop" ? "stopped" : "suspended", Now) > 0) Saw($"{verb} charging periods begun while it ran");
        else Saw(verb);
    }

    /// <summary>
    /// Migrate to another host with a random method; one in five fails on the destination (RESP FAIL) and must change nothing.
    /// On success the model is <see cref="Model.Migrate"/>: storage charged on arrival at the new host's price, prepaid
    /// running time starting from zero.
    /// </summary>
    private async Task MigrateAsync(MachineModel m)
    {
        var others = _model.Hosts.Values.Where(h => h.Name != m.Host).OrderBy(h => h.Name, StringComparer.Ordinal).ToList();
        var h = others[_migrationRng.Next(others.Count)];
        var method = VmmpMethods.All[_migrationRng.Next(VmmpMethods.All.Count)];
        var fails = _migrationRng.Next(5) == 0;
        _agents[h.Name].Behaviour = fails ? FakeMigration.Fail : FakeMigration.Succeed;
        var balance = _model.Balances[m.Owner];
        var user = User(m.Owner);
        var response = await user.PostAsync($"/api/v1/machines/{m.Id:D}/migrate", new MigrateRequest(h.Name, method));
        Trace($"{m} migrate to {h.Name} with {method}{(fails ? " (the destination fails it)" : "")}, arrival {h.StorageCharge(m)} (balance {balance}): {(int)response.StatusCode}");
        if (balance < 0) { Saw("migrate refused: negative balance"); await Problem.AssertAsync(response, 402, ErrorCodes.NegativeBalance); return; }
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var deadline = DateTime.UtcNow.AddSeconds(30);
        MigrationResponse ended;
        while (true)
        {
            ended = await Session.Ok<MigrationResponse>(await user.GetAsync($"/api/v1/machines/{m.Id:D}/migration"));
            if (ended.Phase is MigrationStates.Done or MigrationStates.Reverted) break;
            if (DateTime.UtcNow > deadline) Assert.Fail($"{m}: migration still {ended.Phase}");
            await Task.Delay(10);
        }
        _agents[h.Name].Behaviour = FakeMigration.Succeed;
        if (fails)
        {
            Saw("migration reverted");
            Assert.Equal(MigrationStates.Reverted, ended.Phase);
            return;
        }
        Assert.True(ended.Phase == MigrationStates.Done, $"{m}: migration {ended.Phase}: {ended.Error}");
        Saw(_model.Migrate(m, h, Now) > 0 ? "migrated, charging storage begun on the origin" : "migrated");
    }

    private async Task DeleteAsync(MachineModel m)
    {
        var response = await User(m.Owner).DeleteAsync($"/api/v1/machines/{m.Id:D}");
        Trace($"{m} delete: {(int)response.StatusCode}");
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        _model.Machines.Remove(m.Id);
    }

    private async Task DepositAsync()
    {
        var buyer = Pick([.. _model.Buyers]);
        var amount = Pick(5m, 12.5m, 40m, 0.000000001m, 0.2016m);
        var reference = $"sim-{seed}-{++_deposits}";
        var request = new DepositRequest(buyer, amount, reference);
        Assert.False((await Session.Ok<DepositResponse>(await User(_operator).PostAsync("/api/v1/deposits", request))).Repeated);
        // The same deposit sent again (a retry, maybe through the other front-end) moves nothing.
        if (_rng.Next(3) == 0) Assert.True((await Session.Ok<DepositResponse>(await User(_operator).PostAsync("/api/v1/deposits", request))).Repeated);
        Trace($"deposit {amount} to {buyer}");
        _model.Transfer($"deposit:{reference}", "deposit", amount, "deposits", buyer, null);
    }

    private async Task EditHostAsync()
    {
        var h = Pick([.. _model.Hosts.Values]);
        h.SpeedPrice = Pick(SpeedPrices); h.MemoryPrice = Pick(MemoryPrices); h.StoragePrice = Pick(StoragePrices);
        h.RunningPeriod = Pick(600L, 3600L, 14_400L, 86_400L); h.StoragePeriod = Pick(1L, 7L, 30L, 31L);
        await Session.Ok<HostResponse>(await _market.As(_users[h.Owner]).PatchAsync($"/api/v1/hosts/{h.Name}",
            new EditHostRequest(null, h.SpeedPrice, null, h.MemoryPrice, h.RunningPeriod, null, h.StoragePrice, h.StoragePeriod, null, null, null)));
        Trace($"edit {h}");
    }

    private void ArmSuspendFailure()
    {
        var h = Pick([.. _model.Hosts.Values]);
        _agents[h.Name].FailNext("suspend");
        h.SuspendFailures++;
        Trace($"the agent of {h.Name} will fail its next suspend");
    }

    // ---- the daemon, crashing now and then ----

    private async Task DaemonAsync()
    {
        if (_skipPasses > 0)
        {
            _skipPasses--;
            Trace("daemon down: no pass");
            return;
        }
        var roll = _rng.NextDouble();
        if (roll < 0.05)
        {
            _skipPasses = _rng.Next(1, 25);
            Saw("daemon down for a stretch");
            Trace($"daemon crashes for {_skipPasses + 1} steps");
            return;
        }
        if (roll < 0.10 && _model.DueStorageKeys(Now).ToList() is { Count: > 0 } due)
        {
            // Killed mid-pass: the database refuses one of the pass's inserts, so its transaction rolls back whole.
            var key = due[_rng.Next(due.Count)];
            await _market.FailTransferAsync(key);
            Trace($"pass killed at {key}");
            Saw("pass killed mid-transaction");
            await Assert.ThrowsAnyAsync<Exception>(() => _market.PassAsync());
            await _market.ClearFaultsAsync();
            if (_restarts < 2 && _rng.Next(2) == 0) await RestartAsync();
            return;
        }
        if (roll < 0.12 && _restarts < 2)
        {
            await RestartAsync();
        }
        // Two passes at once only when no agent is set to fail a suspend: which of the two meets the failure would decide
        // whether the machine ends up suspended, and the model could not know.
        var together = roll < 0.22 && _model.Hosts.Values.All(h => h.SuspendFailures == 0);
        var expected = _model.Pass(Now);
        if (together)
        {
            Trace("two passes at once on two front-ends");
            Saw("two passes at once");
            await Task.WhenAll(_market.PassAsync(), _market.PassAsync(_second));
        }
        else if (roll < 0.35)
        {
            Trace("pass on the second front-end");
            Assert.Equal(expected, (await _market.PassAsync(_second)).Suspended.ToList());
        }
        else
        {
            Trace("pass");
            Assert.Equal(expected, (await _market.PassAsync()).Suspended.ToList());
            if (_rng.Next(10) == 0)
            {
                // Again at the same moment: nothing is charged twice; a machine whose suspend failed is tried again.
                Trace("pass again");
                Assert.Equal(_model.Pass(Now), (await _market.PassAsync()).Suspended.ToList());
            }
        }
        if (expected.Count > 0) Saw("pass suspending for lack of funds");
        Trace($"model: suspended {string.Join(", ", expected.Select(id => _model.Machines[id].ToString()))}");
    }

    private async Task RestartAsync()
    {
        _restarts++;
        Saw("front-end restarted");
        Trace("front-end restarted");
        await _market.RestartAsync();
    }

    // ---- checks ----

    private async Task CheckAsync()
    {
        // The ledger: exactly the model's transfers, key for key, to the last digit. Transfers are immutable, so each is
        // compared once when it appears (and all of them again whenever the mirror is read whole, and at the end).
        if (await _mirror.RefreshAsync(_market) || _step % 50 == 0) _checked = 0;
        foreach (var key in _model.Keys.Skip(_checked))
        {
            var e = _model.Ledger[key];
            if (!_mirror.Rows.TryGetValue(key, out var row)) Assert.Fail($"missing transfer {key} ({e})");
            if ((e.Kind, e.Amount, e.From, e.To, e.Machine?.ToString("D")) != (row.Kind, row.Dollars, row.FromAccount, row.ToAccount, row.Machine))
                Assert.Fail($"transfer {key}: expected {e}, ledger has {row}");
        }
        _checked = _model.Keys.Count;
        if (_mirror.Count != _model.Ledger.Count)
            Assert.Fail("unexpected transfers: " + string.Join("; ", _mirror.Rows.Keys.Except(_model.Ledger.Keys).Take(10).Select(k => _mirror.Rows[k].ToString())));

        // Balances: the model's, and their sum is exactly zero (operator and deposit source included).
        var balances = await _market.BalancesAsync();
        foreach (var (account, balance) in _model.Balances)
            Assert.True(balances.GetValueOrDefault(account) == balance, $"{account}: balance {balances.GetValueOrDefault(account)}, model {balance}");
        Assert.Equal(0m, balances.Values.Sum());
        Assert.Equal(0m, _model.Balances.Values.Sum());
        foreach (var buyer in _model.Buyers)
            if (_model.Balances[buyer] <= 0) Saw(_model.Balances[buyer] == 0 ? "check with a buyer at exactly zero" : "check with a buyer below zero");

        // Machines: the front-end's billing state is the model's, and the agent holds the same version (§7.1.5).
        var rows = await _market.MachinesAsync();
        Assert.Equal(_model.Machines.Keys.Order(), rows.Keys.Order());
        foreach (var m in _model.Machines.Values)
        {
            var row = rows[m.Id];
            Assert.True((m.State, m.Version, m.Stay) == (row.State, row.Version, row.Stay), $"{m}: front-end has {row.State} v{row.Version} stay {row.Stay}");
            if (m.Host is null) continue;
            Assert.True((m.StorageCharged, m.RunningCharged, m.UsedTicks / (decimal)TimeSpan.TicksPerSecond) == (row.StoragePeriodsCharged, row.RunningPeriodsCharged, row.SecondsUsed),
                $"{m}: front-end has storage {row.StoragePeriodsCharged}, running {row.RunningPeriodsCharged}, used {row.SecondsUsed} s");
            var onAgent = _agents[m.Host].Machines[m.Id];
            var agentState = m.State switch { "running" => AgentStates.Running, "suspended" => AgentStates.Suspended, _ => AgentStates.Stopped };
            Assert.True((agentState, m.Version) == (onAgent.State, onAgent.Version), $"{m}: agent has {onAgent.State} v{onAgent.Version}");
        }
    }
}

/// <summary>
/// What should have been charged, from first principles (design §4), without the core's BillingPlan or RunningTime:
/// storage period k of a stay begins (k−1)·period after arrival and is always charged; running period k begins when
/// the machine has run (k−1)·period on its host, is charged when the buyer can pay, else the machine is suspended.
/// Time in ticks; periods begun by the daemon's passes, which come at the simulation's steps.
/// </summary>
internal sealed class Model
{
    public readonly Dictionary<string, decimal> Balances = new() { ["operator"] = 0m, ["deposits"] = 0m };
    public readonly Dictionary<string, Entry> Ledger = [];
    /// <summary>The keys of <see cref="Ledger"/> in the order the model made them.</summary>
    public readonly List<string> Keys = [];
    public readonly Dictionary<string, HostModel> Hosts = [];
    public readonly Dictionary<Guid, MachineModel> Machines = [];
    public readonly List<string> Buyers = [];
    /// <summary>Suspends for lack of funds that the agent failed (the machine stayed running).</summary>
    public int FailedSuspends { get; private set; }

    public sealed record Entry(string Kind, decimal Amount, string From, string To, Guid? Machine);

    public void Transfer(string key, string kind, decimal amount, string from, string to, Guid? machine)
    {
        Assert.True(amount > 0, $"{key}: {amount}");
        if (!Ledger.TryAdd(key, new Entry(kind, amount, from, to, machine))) Assert.Fail($"the model charged {key} twice");
        Keys.Add(key);
        Balances[from] -= amount;
        Balances[to] += amount;
    }

    /// <summary>Machines on a host, in the daemon's order (their ids as text): it decides who is suspended first when money is short.</summary>
    private IEnumerable<MachineModel> OnHosts() => Machines.Values.Where(m => m.Host is not null).OrderBy(m => m.Key, StringComparer.Ordinal);

    /// <summary>A billing pass at <paramref name="now"/>; returns the machines it suspends for lack of funds (or tries to).</summary>
    public List<Guid> Pass(DateTimeOffset now)
    {
        var unpaid = new List<MachineModel>();
        foreach (var m in OnHosts())
        {
            var provider = Hosts[m.Host!].Owner;
            var storageBegun = (now - m.Arrived).Ticks / (m.StorageDays * TimeSpan.TicksPerDay) + 1;
            for (var k = m.StorageCharged + 1; k <= storageBegun; k++)
            {
                Transfer(m.StorageKey(k), "storage", m.StoragePrice, m.Owner, provider, m.Id);
                m.StorageCharged = k;
            }
            if (m.State != "running") continue;
            var runningBegun = m.UsedAt(now) / m.PeriodTicks + 1;
            for (var k = m.RunningCharged + 1; k <= runningBegun; k++)
            {
                if (Balances[m.Owner] < m.RunningPrice) { unpaid.Add(m); break; }
                Transfer(m.RunningKey(k), "running", m.RunningPrice, m.Owner, provider, m.Id);
                m.RunningCharged = k;
            }
        }
        foreach (var m in unpaid)
        {
            var h = Hosts[m.Host!];
            if (h.SuspendFailures > 0) { h.SuspendFailures--; FailedSuspends++; continue; } // stays running; the next pass tries again
            Pause(m, "suspended", now);
        }
        return [.. unpaid.Select(m => m.Id)];
    }

    /// <summary>
    /// Stop or suspend: the time run is kept. Every period that began while it ran is due: those no pass charged yet
    /// are charged now, in order, while the buyer can pay.
    /// </summary>
    public int Pause(MachineModel m, string state, DateTimeOffset now)
    {
        var charged = m.RunningCharged;
        m.UsedTicks = m.UsedAt(now);
        m.RunningSince = null;
        m.State = state;
        m.Version++;
        var begun = (m.UsedTicks + m.PeriodTicks - 1) / m.PeriodTicks;
        for (var k = m.RunningCharged + 1; k <= begun && Balances[m.Owner] >= m.RunningPrice; k++)
        {
            Transfer(m.RunningKey(k), "running", m.RunningPrice, m.Owner, Hosts[m.Host!].Owner, m.Id);
            m.RunningCharged = k;
        }
        return (int)(m.RunningCharged - charged);
    }

    /// <summary>
    /// A committed migration (design §4, §6.2): storage periods begun on the old host and not charged yet are charged to its
    /// owner; then a new stay on the new host at its prices of now, its first storage period charged on arrival, and no
    /// prepaid running time (it is not carried to another host). State kept, version + 1. Returns the old host's periods charged.
    /// </summary>
    public int Migrate(MachineModel m, HostModel to, DateTimeOffset now)
    {
        var from = Hosts[m.Host!];
        var begun = (now - m.Arrived).Ticks / (m.StorageDays * TimeSpan.TicksPerDay) + 1;
        var charged = 0;
        for (var k = m.StorageCharged + 1; k <= begun; k++, charged++)
            Transfer(m.StorageKey(k), "storage", m.StoragePrice, m.Owner, from.Owner, m.Id);
        m.Version++; m.Host = to.Name; m.Stay++; m.Arrived = now;
        m.StoragePrice = to.StorageCharge(m); m.StorageDays = to.StoragePeriod; m.RunningPrice = to.RunningCharge(m); m.RunningSeconds = to.RunningPeriod;
        m.StorageCharged = 1; m.RunningCharged = 0; m.UsedTicks = 0; m.RunningSince = null;
        Transfer(m.StorageKey(1), "storage", m.StoragePrice, m.Owner, to.Owner, m.Id);
        return charged;
    }

    /// <summary>Storage keys a pass at <paramref name="now"/> will insert (storage is charged whatever the balance).</summary>
    public IEnumerable<string> DueStorageKeys(DateTimeOffset now) =>
        OnHosts().Where(m => (now - m.Arrived).Ticks / (m.StorageDays * TimeSpan.TicksPerDay) + 1 > m.StorageCharged).Select(m => m.StorageKey(m.StorageCharged + 1));

    /// <summary>When the next storage and running periods of each machine begin.</summary>
    public IEnumerable<DateTimeOffset> NextBoundaries(DateTimeOffset now)
    {
        foreach (var m in OnHosts())
        {
            yield return m.Arrived + TimeSpan.FromTicks(m.StorageCharged * m.StorageDays * TimeSpan.TicksPerDay);
            if (m.RunningSince is { } since)
                yield return since + TimeSpan.FromTicks(m.RunningCharged * m.PeriodTicks - m.UsedTicks);
        }
    }
}

internal sealed class HostModel
{
    public string Name { get; set; } = "";
    public string Owner { get; set; } = "";
    public long SpeedUnit { get; set; }
    public decimal SpeedPrice { get; set; }
    public long MemoryUnit { get; set; }
    public decimal MemoryPrice { get; set; }
    public long RunningPeriod { get; set; }
    public long StorageUnit { get; set; }
    public decimal StoragePrice { get; set; }
    public long StoragePeriod { get; set; }
    /// <summary>Suspends its agent was told to fail (FakeAgent.FailNext).</summary>
    public int SuspendFailures { get; set; }

    private static long Chunks(long amount, long unit) => (amount + unit - 1) / unit;

    /// <summary>Design §3.1: whole chunks, dollars per second per chunk, times the period.</summary>
    public decimal RunningCharge(MachineModel m) => (Chunks(m.Speed, SpeedUnit) * SpeedPrice + Chunks(m.Memory, MemoryUnit) * MemoryPrice) * RunningPeriod;

    /// <summary>Design §3.1: whole chunks, dollars per day per chunk, times the period in days.</summary>
    public decimal StorageCharge(MachineModel m) => Chunks(m.Disk, StorageUnit) * StoragePrice * StoragePeriod;

    public override string ToString() =>
        $"{Name}: {SpeedUnit}@{SpeedPrice} {MemoryUnit}@{MemoryPrice} per {RunningPeriod} s; {StorageUnit}@{StoragePrice} per {StoragePeriod} d";
}

internal sealed class MachineModel
{
    public Guid Id { get; init; }
    /// <summary>Order of registration: the simulation picks machines by it, so that a seed's choices do not depend on the random ids.</summary>
    public int Number { get; init; }
    public string Key => Id.ToString("D");
    public string Owner { get; init; } = "";
    public long Speed { get; init; }
    public long Memory { get; init; }
    public long Disk { get; init; }
    public string State { get; set; } = "registered";
    public long Version { get; set; }
    public string? Host { get; set; }
    /// <summary>Arrivals on a host so far; numbers the charges (the key's stay).</summary>
    public long Stay { get; set; }
    public DateTimeOffset Arrived { get; set; }
    public decimal StoragePrice { get; set; }
    public long StorageDays { get; set; }
    public decimal RunningPrice { get; set; }
    public long RunningSeconds { get; set; }
    public long StorageCharged { get; set; }
    public long RunningCharged { get; set; }
    /// <summary>Ticks run on this host before the current run.</summary>
    public long UsedTicks { get; set; }
    public DateTimeOffset? RunningSince { get; set; }

    public long PeriodTicks => RunningSeconds * TimeSpan.TicksPerSecond;
    public long UsedAt(DateTimeOffset now) => UsedTicks + (RunningSince is { } s ? (now - s).Ticks : 0);

    // The ledger's key format (ChargeKeyTests pin it): machine, stay on a host, kind, period.
    public string StorageKey(long period) => $"machine:{Id:N}:stay:{Stay}:storage:{period}";
    public string RunningKey(long period) => $"machine:{Id:N}:stay:{Stay}:running:{period}";

    public override string ToString() => $"{Id.ToString("N")[..8]} ({Owner}, {State} v{Version}{(Host is null ? "" : $" on {Host}")})";
}

/// <summary>The transfers table read incrementally (new ids only), reloaded whole when its count disagrees.</summary>
internal sealed class LedgerMirror
{
    public Dictionary<string, LedgerRow> Rows { get; } = [];
    private long _lastId;
    public int Count => Rows.Count;

    /// <summary>Reads the new rows; true when it had to read everything again.</summary>
    public async Task<bool> RefreshAsync(BillingMarket market)
    {
        var fresh = await market.Data.ReadAsync(async c => (await Dapper.SqlMapper.QueryAsync<LedgerRow>(c,
            "SELECT id, key, kind, amount, from_account, to_account, machine, host, at FROM transfers WHERE id > @last ORDER BY id", new { last = _lastId })).ToList());
        foreach (var row in fresh)
        {
            if (!Rows.TryAdd(row.Key, row)) Assert.Fail($"key {row.Key} twice in the ledger");
            _lastId = Math.Max(_lastId, row.Id);
        }
        // PostgreSQL may commit a smaller id after a larger one (two transactions at once): then read everything.
        if (await market.Database.CountAsync("SELECT COUNT(*) FROM transfers") == Rows.Count) return false;
        await ReloadAsync(market);
        return true;
    }

    public async Task ReloadAsync(BillingMarket market)
    {
        Rows.Clear();
        _lastId = 0;
        foreach (var row in await market.TransfersAsync())
        {
            if (!Rows.TryAdd(row.Key, row)) Assert.Fail($"key {row.Key} twice in the ledger");
            _lastId = Math.Max(_lastId, row.Id);
        }
    }
}
