using System.Net;
using System.Net.Http.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Billing;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Data;

/// <summary>
/// Production's deployment: several stateless front-end replicas on one PostgreSQL database (Database.cs). Two
/// in-process front-ends share a fresh database; where the point is what happens when they act at the same moment,
/// the test lines them up on a lock it holds and lets go once both wait for it, so the race is not left to timing.
/// </summary>
public sealed class ReplicaTests
{
    [Fact]
    public async Task TwoReplicasStartingTogether_RunEachMigrationOnce()
    {
        await using var replicas = await Replicas.CreateAsync();
        // Hold schema_migrations (created here as the migrator creates it) until both replicas wait, so that they migrate
        // at the same moment: without a lock between them, both would read it empty, apply 0001, and one would fail.
        await using var c = await replicas.Database.Database.OpenAsync();
        await c.ExecuteAsync("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE", transaction: tx);

        var started = replicas.StartAsync();
        await replicas.UntilWaitingAsync("", started);
        await tx.RollbackAsync();
        await started;

        var scripts = typeof(Program).Assembly.GetManifestResourceNames().Count(n => n.StartsWith("Virtuoso.FrontEnd.Data.Migrations.", StringComparison.Ordinal));
        Assert.True(scripts >= 2, $"found {scripts} migration scripts");
        Assert.Equal(scripts, await replicas.Database.CountAsync("SELECT COUNT(*) FROM schema_migrations"));
        Assert.Equal(scripts, await replicas.Database.CountAsync("SELECT COUNT(DISTINCT version) FROM schema_migrations"));
        var configurations = await Task.WhenAll(new[] { replicas.A, replicas.B }.Select(async r =>
            Snapshot.Of(await Session.Ok<List<ConfigurationResponse>>(await r.CreateClient().GetAsync("/api/v1/configurations")))));
        Assert.Contains("Configuration1", configurations[0]); // the seed ran, once: both replicas serve it
        Assert.Equal(configurations[0], configurations[1]);
    }

    [Fact]
    public async Task TwoBuyersStoringThroughTwoReplicasOnTheLastRoom_OneIsStoredAndChargedTheOtherRefusedAsNoRoom()
    {
        await using var replicas = await Replicas.CreateAsync();
        await replicas.StartAsync();
        await using var agent = await FakeAgent.StartAsync("shared");
        var provider = await Session.SignupAsync(replicas.A.CreateClient, MarketFixture.UniqueName("provider"), Roles.Provider);
        var host = await provider.AddHostAsync(HostSpecs.Virt13(MarketFixture.UniqueName("host"), agent) with { Speed = 4000 }); // room for one Configuration1
        var buyers = await Task.WhenAll(
            Session.SignupAsync(replicas.A.CreateClient, MarketFixture.UniqueName("buyer-a"), Roles.Buyer),
            Session.SignupAsync(replicas.B.CreateClient, MarketFixture.UniqueName("buyer-b"), Roles.Buyer));
        var machines = await Task.WhenAll(buyers.Select(b => b.RegisterAsync("Configuration1", 3m, 1m)));

        // Hold the host's row as a third store in progress would, until both stores wait for it.
        await using var c = await replicas.Database.Database.OpenAsync();
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("SELECT name FROM hosts WHERE name = @name FOR UPDATE", new { name = host.Name }, tx);
        var stores = Task.WhenAll(buyers.Select((b, i) => b.StoreRawAsync(machines[i].Id, host.Name)));
        await replicas.UntilWaitingAsync("hosts", stores);
        await tx.RollbackAsync();
        var responses = await stores;

        var winner = Assert.Single(Enumerable.Range(0, 2), i => responses[i].StatusCode == HttpStatusCode.OK);
        var loser = 1 - winner;
        await Problem.AssertAsync(responses[loser], 409, ErrorCodes.NoRoom);
        var stored = await buyers[winner].MachineAsync(machines[winner].Id);
        Assert.Equal(("stored", host.Name), (stored.State, stored.Host));
        Assert.Equal("registered", (await buyers[loser].MachineAsync(machines[loser].Id)).State);
        foreach (var replica in new[] { replicas.A, replicas.B })
        {
            var seen = await Session.Ok<HostResponse>(await Session.WithToken(replica.CreateClient(), provider.Token).GetAsync($"/api/v1/hosts/{host.Name}"));
            Assert.Equal((4000L, 64L, 100L), (seen.ReservedSpeed, seen.ReservedMemory, seen.ReservedStorage));
            Assert.Equal(machines[winner].Id, Assert.Single(seen.Machines!).Id);
        }
        Assert.Equal(1, await replicas.Database.CountAsync("SELECT COUNT(*) FROM transfers WHERE kind = @kind AND host = @host",
            ("kind", TransferKinds.Storage), ("host", host.Name)));
        var balances = await replicas.Database.BalancesAsync();
        Assert.Equal((1000m - 0.05m - 3m, 1000m - 0.05m, 1000m + 3m),
            (balances[buyers[winner].Username], balances[buyers[loser].Username], balances[provider.Username]));
        Assert.Equal(0m, balances.Values.Sum());
        Assert.Equal(machines[winner].Id, Assert.Single(agent.Machines.Keys)); // the loser's copy was removed from the agent
    }

    [Fact]
    public async Task HostDeletedThroughOneReplicaWhileAStoreOnItCommitsThroughTheOther_TheMachineGoesBackToRegistered()
    {
        await using var replicas = await Replicas.CreateAsync();
        await replicas.StartAsync();
        await using var agent = await FakeAgent.StartAsync("leaving");
        var provider = await Session.SignupAsync(replicas.A.CreateClient, MarketFixture.UniqueName("provider"), Roles.Provider);
        var host = await provider.AddHostAsync(HostSpecs.Virt13(MarketFixture.UniqueName("host"), agent));
        var buyer = await Session.SignupAsync(replicas.B.CreateClient, MarketFixture.UniqueName("buyer"), Roles.Buyer);
        var machine = await buyer.RegisterAsync("Configuration1", 3m, 1m);

        // Hold the host's row until the store and the delete both wait for it, the store first.
        await using var c = await replicas.Database.Database.OpenAsync();
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("SELECT name FROM hosts WHERE name = @name FOR UPDATE", new { name = host.Name }, tx);
        var store = buyer.StoreRawAsync(machine.Id, host.Name);
        await replicas.UntilWaitingAsync("hosts", store, count: 1);
        var delete = provider.DeleteAsync($"/api/v1/hosts/{host.Name}");
        await replicas.UntilWaitingAsync("hosts", Task.WhenAny(store, delete), count: 2);
        await tx.RollbackAsync();

        // Whichever gets the host first (the host monitors of both replicas take its row too, so the order is not the
        // test's to fix): the store lands and is evicted, or it finds the host being deleted and is refused. Either way
        // the machine is registered again, the host is gone, and no copy is left on the agent (issue 13).
        var stored = await store;
        Assert.True(stored.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound, $"store: {(int)stored.StatusCode} {await stored.Content.ReadAsStringAsync()}");
        var deleted = await delete;
        Assert.True(deleted.StatusCode == HttpStatusCode.NoContent, $"delete: {(int)deleted.StatusCode} {await deleted.Content.ReadAsStringAsync()}");
        var after = await buyer.MachineAsync(machine.Id);
        Assert.Equal(("registered", (string?)null), (after.State, after.Host));
        if (stored.StatusCode == HttpStatusCode.OK)
            Assert.Contains(await buyer.EventsAsync(machine.Id), e => e.Kind == "host-deleted");
        Assert.False(agent.Machines.ContainsKey(machine.Id), "the agent keeps no copy of a machine the marketplace no longer places there");
        Assert.Equal(0, await replicas.Database.CountAsync("SELECT COUNT(*) FROM hosts WHERE name = @name", ("name", host.Name)));
    }

    [Fact]
    public async Task LoginFailuresThroughOneReplica_CountOnTheOther()
    {
        // Issue 20: the throttle lives in the database, so N replicas do not allow N times the guesses.
        await using var replicas = await Replicas.CreateAsync();
        await replicas.StartAsync();
        var buyer = await Session.SignupAsync(replicas.A.CreateClient, MarketFixture.UniqueName("buyer"), Roles.Buyer);
        var address = TestClientAddress.Fresh();
        HttpClient From(VirtuosoFactory replica)
        {
            var http = replica.CreateClient();
            http.DefaultRequestHeaders.Add(TestClientAddress.Header, address);
            return http;
        }
        for (var i = 0; i < 5; i++)
            await Problem.AssertAsync(await From(i % 2 == 0 ? replicas.A : replicas.B).PostAsJsonAsync("/api/v1/sessions", new LoginRequest(buyer.Username, $"guess-{i}-password")),
                401, ErrorCodes.InvalidCredentials);
        await Problem.AssertAsync(await From(replicas.B).PostAsJsonAsync("/api/v1/sessions", new LoginRequest(buyer.Username, buyer.Password)), 429, ErrorCodes.RateLimited);
        await Problem.AssertAsync(await From(replicas.A).PostAsJsonAsync("/api/v1/sessions", new LoginRequest(buyer.Username, buyer.Password)), 429, ErrorCodes.RateLimited);
    }

    [Fact]
    public async Task WebFormsThroughAlternatingReplicas_AcceptEachOthersAntiforgeryTokens_WithTheKeyRingInTheDatabase()
    {
        // Issue 19: behind a balancer the page with a form comes from one replica and its post goes to another; the
        // anti-forgery token is data protection's, so the key ring must be the database's, not a file of each machine.
        await using var replicas = await Replicas.CreateAsync();
        await replicas.StartAsync();
        var balancer = new Alternating(replicas.A.Server.CreateHandler(), replicas.B.Server.CreateHandler());
        var name = MarketFixture.UniqueName("web-buyer");
        var anon = WebUser.Anonymous(balancer);
        var user = new WebUser(anon.Http, anon.Cookies, name, name + "-password");

        var signup = await user.PostFormAsync("/signup", new() { ["username"] = name, ["email"] = $"{name}@example.org", ["password"] = user.Password, ["type"] = "buyer" });
        Assert.True(signup.Status == HttpStatusCode.Redirect, $"sign-up through the other replica answered {signup.Status}: {signup.Problem}");
        for (var i = 0; i < 4; i++) // each form read from one replica and posted to the other, both ways round
        {
            var page = await user.PostFormAsync("/account/notifications?handler=threshold", new() { ["threshold"] = $"{10 + i}" }, "/account/notifications");
            Assert.True(page.Status == HttpStatusCode.Redirect, $"post {i} answered {page.Status}: {page.Problem}");
        }
        Assert.Equal(2, balancer.Served.Distinct().Count());

        var keys = await replicas.Database.Database.ReadAsync(c => c.QueryAsync<string>("SELECT xml FROM data_protection_keys"));
        Assert.Single(keys); // both replicas protect with the one key the first created
        Assert.Contains("<key id=", keys.Single(), StringComparison.Ordinal);
    }

    /// <summary>A round-robin balancer in front of in-process replicas: each request goes to the next one.</summary>
    private sealed class Alternating(params HttpMessageHandler[] replicas) : HttpMessageHandler
    {
        private readonly HttpMessageInvoker[] _invokers = replicas.Select(r => new HttpMessageInvoker(r)).ToArray();
        private int _next;
        public List<int> Served { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var i = _next++ % _invokers.Length;
            Served.Add(i);
            return _invokers[i].SendAsync(request, ct);
        }
    }

    [Fact]
    public async Task TwoSignupsThroughTwoReplicasAtOnce_BothGetExactlyTheirOpeningCredit()
    {
        await using var replicas = await Replicas.CreateAsync();
        await replicas.StartAsync();
        var names = new[] { MarketFixture.UniqueName("buyer-a"), MarketFixture.UniqueName("buyer-b") };

        // Both opening credits come from the deposit source: hold its row until both sign-ups wait for it.
        await using var c = await replicas.Database.Database.OpenAsync();
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("SELECT username FROM accounts WHERE username = 'deposits' FOR UPDATE", transaction: tx);
        var signups = Task.WhenAll(
            replicas.A.CreateClient().PostAsJsonAsync("/api/v1/accounts", new SignupRequest(names[0], names[0] + "-password", $"{names[0]}@example.org", Roles.Buyer)),
            replicas.B.CreateClient().PostAsJsonAsync("/api/v1/accounts", new SignupRequest(names[1], names[1] + "-password", $"{names[1]}@example.org", Roles.Buyer)));
        await replicas.UntilWaitingAsync("", signups);
        await tx.RollbackAsync();
        var responses = await signups;

        foreach (var response in responses)
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        var balances = await replicas.Database.BalancesAsync();
        Assert.Equal((1000m, 1000m, -2000m), (balances[names[0]], balances[names[1]], balances["deposits"]));
        Assert.Equal(0m, balances.Values.Sum());
    }

    [Fact]
    public async Task BillingPassesOnBothReplicasAtOnce_ChargeABegunStoragePeriodExactlyOnce()
    {
        await using var replicas = await Replicas.CreateAsync();
        await replicas.StartAsync();
        await using var agent = await FakeAgent.StartAsync("billed");
        var provider = await Session.SignupAsync(replicas.A.CreateClient, MarketFixture.UniqueName("provider"), Roles.Provider);
        var host = await provider.AddHostAsync(HostSpecs.Virt13(MarketFixture.UniqueName("host"), agent) with { StoragePeriod = 1 }); // 0.1 $ a day for Configuration1
        var buyer = await Session.SignupAsync(replicas.B.CreateClient, MarketFixture.UniqueName("buyer"), Roles.Buyer);
        var machine = await buyer.RegisterAsync("Configuration1", 3m, 1m);
        await buyer.StoreAsync(machine.Id, host.Name); // the first day is charged on arrival
        replicas.Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1)); // the second has begun

        // Both daemons reach the machine's row at the same moment: hold it until both wait for it.
        await using var c = await replicas.Database.Database.OpenAsync();
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("SELECT id FROM machines WHERE id = @id FOR UPDATE", new { id = machine.Id.ToString("D") }, tx);
        var passes = Task.WhenAll(new[] { replicas.A, replicas.B }.Select(r => Task.Run(() => r.Services.GetRequiredService<BillingDaemon>().PassAsync())));
        await replicas.UntilWaitingAsync("machines", passes);
        await tx.RollbackAsync();

        Assert.Equal(1, (await passes).Sum(p => p.StorageCharges));
        Assert.Equal(2, await replicas.Database.CountAsync("SELECT COUNT(*) FROM transfers WHERE machine = @machine AND kind = @kind",
            ("machine", machine.Id.ToString("D")), ("kind", TransferKinds.Storage)));
        var balances = await replicas.Database.BalancesAsync();
        Assert.Equal((1000m - 0.05m - 0.1m - 0.1m, 1000m + 0.2m), (balances[buyer.Username], balances[provider.Username]));
        Assert.Equal(0m, balances.Values.Sum());
    }

    [Fact]
    public async Task StoreThroughOneReplicaWhileTheOtherBills_BothComplete_NoDeadlock()
    {
        await using var replicas = await Replicas.CreateAsync();
        await replicas.StartAsync();
        await using var agent = await FakeAgent.StartAsync("billed");
        var provider = await Session.SignupAsync(replicas.A.CreateClient, MarketFixture.UniqueName("provider"), Roles.Provider);
        var host = await provider.AddHostAsync(HostSpecs.Virt13(MarketFixture.UniqueName("host"), agent) with
            { Speed = 1_000_000, Memory = 1_000_000, Storage = 1_000_000, StoragePeriod = 1 });
        var buyers = await Task.WhenAll(
            Session.SignupAsync(replicas.A.CreateClient, MarketFixture.UniqueName("buyer-a"), Roles.Buyer),
            Session.SignupAsync(replicas.A.CreateClient, MarketFixture.UniqueName("buyer-b"), Roles.Buyer));
        var stored = new Dictionary<string, Guid>();
        var spare = new Dictionary<string, Guid>();
        foreach (var b in buyers)
        {
            stored[b.Username] = (await b.StoreAsync((await b.RegisterAsync("Configuration1", 3m, 1m)).Id, host.Name)).Id;
            spare[b.Username] = (await b.RegisterAsync("Configuration1", 3m, 1m)).Id;
        }
        replicas.Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1)); // both stored machines owe their second day
        await Until(async () => (await provider.HostAsync(host.Name)).Online); // the host monitor has seen the agent at the new time
        // The daemon charges the machines in id order; the buyer of the later one stores meanwhile.
        var later = stored.MaxBy(p => p.Value.ToString("D"), StringComparer.Ordinal).Key;
        var storer = buyers.Single(b => b.Username == later);

        // Hold the storer's account until the store and the billing pass both wait for it, the store first.
        await using var c = await replicas.Database.Database.OpenAsync();
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("SELECT username FROM accounts WHERE username = @later FOR UPDATE", new { later }, tx);
        var store = storer.StoreRawAsync(spare[later], host.Name);
        await replicas.UntilWaitingAsync("", store, count: 1);
        var pass = Task.Run(() => replicas.B.Services.GetRequiredService<BillingDaemon>().PassAsync());
        await replicas.UntilWaitingAsync("", Task.WhenAny(store, pass), count: 2);
        await tx.RollbackAsync();

        var response = await store;
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"store: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal(2, (await pass).StorageCharges);
        var balances = await replicas.Database.BalancesAsync();
        Assert.Equal((1000m - 0.05m - 0.05m - 0.1m - 0.1m - 0.1m, 1000m + 0.5m), (balances[later], balances[provider.Username]));
        Assert.Equal(0m, balances.Values.Sum());
    }

    [Fact]
    public async Task StopChargingThroughOneReplicaWhileTheOtherBills_BothComplete_NoDeadlock()
    {
        await using var replicas = await Replicas.CreateAsync();
        await replicas.StartAsync();
        await using var agent = await FakeAgent.StartAsync("billed");
        // Named to sort before its buyer, so that name order locks the provider's account first.
        var provider = await Session.SignupAsync(replicas.A.CreateClient, MarketFixture.UniqueName("aaa-provider"), Roles.Provider);
        var daily = await provider.AddHostAsync(HostSpecs.Virt13(MarketFixture.UniqueName("host"), agent) with { StoragePeriod = 1 });
        var slow = await provider.AddHostAsync(HostSpecs.Virt13(MarketFixture.UniqueName("host"), agent) with { RunningPeriod = 2 * 86400 });
        var buyer = await Session.SignupAsync(replicas.A.CreateClient, MarketFixture.UniqueName("buyer"), Roles.Buyer);
        await buyer.StoreAsync((await buyer.RegisterAsync("Configuration1", 3m, 1m)).Id, daily.Name);
        var running = await buyer.StoreAsync((await buyer.RegisterAsync("Configuration1", 3m, 1m)).Id, slow.Name);
        await buyer.ActAsync(running.Id, "start"); // its first two days of running are charged
        replicas.Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1)); // the daily machine owes its second day

        // Hold the provider's account: the billing pass waits for it first, then the stop, which charges a running
        // period that began after the pass read what was due (so the pass does not hold the running machine's row).
        await using var c = await replicas.Database.Database.OpenAsync();
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("SELECT username FROM accounts WHERE username = @name FOR UPDATE", new { name = provider.Username }, tx);
        var pass = Task.Run(() => replicas.B.Services.GetRequiredService<BillingDaemon>().PassAsync());
        await replicas.UntilWaitingAsync("", pass, count: 1);
        replicas.Clock.Advance(TimeSpan.FromDays(1)); // the running machine's second period has begun
        var stop = buyer.PostAsync($"/api/v1/machines/{running.Id}/stop");
        await replicas.UntilWaitingAsync("", Task.WhenAny(stop, pass), count: 2);
        await tx.RollbackAsync();

        var response = await stop;
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"stop: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal(1, (await pass).StorageCharges);
        Assert.Equal(2, await replicas.Database.CountAsync("SELECT COUNT(*) FROM transfers WHERE machine = @machine AND kind = @kind",
            ("machine", running.Id.ToString("D")), ("kind", TransferKinds.Running)));
        var balances = await replicas.Database.BalancesAsync();
        Assert.Equal(1000m - 2 * 0.05m - 0.1m - 0.1m - 3m - 2 * 9.6768m, balances[buyer.Username]);
        Assert.Equal(0m, balances.Values.Sum());
    }

    [Fact]
    public async Task SessionFromOneReplica_WorksOnTheOther_AndLoggingOutOnEitherEndsIt()
    {
        await using var replicas = await Replicas.CreateAsync();
        await replicas.StartAsync();
        var onA = await Session.SignupAsync(replicas.A.CreateClient, MarketFixture.UniqueName("buyer"), Roles.Buyer);
        var onB = new Session(Session.WithToken(replicas.B.CreateClient(), onA.Token), onA.Username, onA.Password, onA.Token, null);

        var account = await onB.AccountAsync();
        Assert.Equal((onA.Username, 1000m), (account.Username, account.Balance));
        var registeredOnB = await onB.RegisterAsync("Configuration1", 3m, 1m);
        Assert.Equal(registeredOnB.Id, Assert.Single(await onA.MachinesAsync()).Id);

        Assert.Equal(HttpStatusCode.NoContent, (await onB.DeleteAsync("/api/v1/sessions/current")).StatusCode);
        await Problem.AssertAsync(await onA.GetAsync("/api/v1/account"), 401, ErrorCodes.Unauthenticated);
    }

    private static async Task Until(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(50);
        }
    }

    /// <summary>Two front-ends, <see cref="A"/> and <see cref="B"/>, on one fresh PostgreSQL database.</summary>
    private sealed class Replicas : IAsyncDisposable
    {
        private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "virtuoso-replicas-" + Guid.NewGuid().ToString("N"));

        private Replicas(PostgresTestDatabase database)
        {
            Database = database;
            A = new VirtuosoFactory(database.SettingFor("replica-a"), _dataDir, Clock);
            B = new VirtuosoFactory(database.SettingFor("replica-b"), _dataDir, Clock);
        }

        public PostgresTestDatabase Database { get; }
        /// <summary>Both replicas' clock: real time until a test moves it.</summary>
        public MovableClock Clock { get; } = new();
        public VirtuosoFactory A { get; }
        public VirtuosoFactory B { get; }

        public static async Task<Replicas> CreateAsync()
        {
            var database = new PostgresTestDatabase();
            await database.CreateAsync();
            return new Replicas(database);
        }

        /// <summary>Starts both front-ends at once (each runs the migrations as it starts, as separate processes would).</summary>
        public Task StartAsync() => Task.WhenAll(Task.Run(() => A.Server), Task.Run(() => B.Server));

        /// <summary>
        /// Waits until <paramref name="count"/> sessions of the replicas wait for a lock in statements mentioning
        /// <paramref name="table"/> (the host monitor's updates aside), or until <paramref name="work"/> ends (its
        /// assertions then say what went wrong).
        /// </summary>
        public async Task UntilWaitingAsync(string table, Task work, int count = 2)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!work.IsCompleted)
            {
                var waiting = await Database.CountAsync(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name IN ('virtuoso-replica-a', 'virtuoso-replica-b') " +
                    "AND wait_event_type = 'Lock' AND query ILIKE @pattern AND query NOT ILIKE 'UPDATE hosts SET last_seen%'",
                    ("pattern", $"%{table}%"));
                if (waiting >= count) return;
                Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {count} requests of the replicas to wait for a lock on {table}");
                await Task.Delay(10);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await A.DisposeAsync();
            await B.DisposeAsync();
            await Database.DisposeAsync();
            if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
        }
    }

    /// <summary>Real time plus an offset the test moves; timers keep real time, so the host monitor keeps its pace.</summary>
    private sealed class MovableClock : TimeProvider
    {
        private long _offset;

        public void Advance(TimeSpan by) => Interlocked.Add(ref _offset, by.Ticks);
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offset));
    }
}
