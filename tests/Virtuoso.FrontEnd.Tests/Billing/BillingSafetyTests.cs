using System.Globalization;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Contracts.Api;
using Virtuoso.Core;
using Virtuoso.Core.Billing;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Billing;

/// <summary>
/// Issue 5 item 4: two front-ends billing against one database, a pass killed at any moment and a clock that jumps
/// forward by days all leave every due period charged exactly once. What is due is worked out here from the times
/// the test itself started and stopped each machine, not from the front-end's state.
/// </summary>
public abstract class BillingSafetyTests(bool postgres) : IAsyncLifetime
{
    private BillingMarket _market = null!;
    private Session _provider = null!, _buyer = null!;
    private readonly Dictionary<Guid, Tracked> _machines = [];
    private readonly List<(HostResponse Host, FakeAgent Agent)> _hosts = [];

    private protected bool Postgres => postgres;
    private DateTimeOffset Now => _market.Clock.GetUtcNow();

    public async Task InitializeAsync()
    {
        _market = await BillingMarket.CreateAsync(postgres);
        var users = await Task.WhenAll(_market.SignupAsync(Roles.Provider), _market.SignupAsync(Roles.Buyer));
        (_provider, _buyer) = (users[0], users[1]);
        await _market.DepositAsync(_buyer.Username, 1_000_000m, "plenty");
        // Ten-minute running periods and daily storage; hourly and weekly.
        _hosts.Add(await _market.AddHostAsync(_provider, (n, a) => BillingDaemonTests.Virt13(n, a) with { RunningPeriod = 600, StoragePeriod = 1 }));
        _hosts.Add(await _market.AddHostAsync(_provider, (n, a) => BillingDaemonTests.Virt13(n, a) with { RunningPeriod = 3600, StoragePeriod = 7 }));
    }

    public async Task DisposeAsync() => await _market.DisposeAsync();

    /// <summary>What the test knows of a machine: where and when it arrived, and when it ran.</summary>
    private sealed class Tracked(Guid id, HostResponse host, DateTimeOffset arrived, bool copy = false)
    {
        /// <summary>A copy made in the database starts with its first storage period counted but not in the ledger.</summary>
        public int FirstStorage { get; } = copy ? 2 : 1;
        public Guid Id { get; } = id;
        public HostResponse Host { get; } = host;
        public DateTimeOffset Arrived { get; } = arrived;
        public long UsedTicks { get; set; }
        public DateTimeOffset? RunningSince { get; set; }
        public long Used(DateTimeOffset now) => UsedTicks + (RunningSince is { } s ? (now - s).Ticks : 0);
    }

    private async Task<Tracked> StoreAsync(HostResponse host, bool start)
    {
        var b = _market.As(_buyer);
        var machine = await b.RegisterAsync("Configuration1", 1_000_000m, 1_000_000m);
        await b.StoreAsync(machine.Id, host.Name);
        var t = new Tracked(machine.Id, host, Now);
        _machines[t.Id] = t;
        if (start) await ToggleAsync(t, _market.FrontEnd);
        return t;
    }

    /// <summary>Starts a stopped machine or stops a running one, through <paramref name="on"/>.</summary>
    private async Task ToggleAsync(Tracked m, BillingFrontEnd on)
    {
        var now = Now;
        if (m.RunningSince is null)
        {
            await _market.As(_buyer, on).ActAsync(m.Id, "start");
            m.RunningSince = now;
        }
        else
        {
            await _market.As(_buyer, on).ActAsync(m.Id, "stop");
            m.UsedTicks = m.Used(now);
            m.RunningSince = null;
        }
    }

    /// <summary>
    /// Every machine has exactly the storage periods begun since it arrived and the running periods begun while it
    /// ran, each once, numbered 1..n without a gap; the front-end's counters agree; balances add up.
    /// </summary>
    private async Task AssertEveryDuePeriodChargedOnceAsync()
    {
        var transfers = await _market.TransfersAsync();
        Assert.Equal(transfers.Count, transfers.Select(t => t.Key).Distinct().Count());
        var rows = await _market.MachinesAsync();
        foreach (var m in _machines.Values)
        {
            var mine = transfers.Where(t => t.Machine == m.Id.ToString("D")).ToList();
            var storageTicks = m.Host.StoragePeriod * TimeSpan.TicksPerDay;
            var storage = (Now - m.Arrived).Ticks / storageTicks + 1;
            Assert.Equal(Enumerable.Range(m.FirstStorage, (int)storage - m.FirstStorage + 1).Select(k => ChargeKey.Storage(m.Id, 1, k)), mine.Where(t => t.Kind == TransferKinds.Storage).Select(t => t.Key).Order(StringComparer.Ordinal).OrderBy(k => k.Length));

            var periodTicks = m.Host.RunningPeriod * TimeSpan.TicksPerSecond;
            var used = m.Used(Now);
            // Running: every period begun so far (the one in progress included). Stopped: those begun while it ran; a
            // stop exactly at a boundary leaves the new period uncharged unless a pass at that same instant came first.
            var running = mine.Where(t => t.Kind == TransferKinds.Running).Select(t => long.Parse(t.Key[(t.Key.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture)).Order().ToList();
            var n = running.Count;
            Assert.Equal(Enumerable.Range(1, n).Select(k => (long)k), running);
            if (m.RunningSince is not null) Assert.Equal(used / periodTicks + 1, n);
            else if (used > 0) Assert.InRange(n, (used + periodTicks - 1) / periodTicks, used / periodTicks + 1);
            else Assert.Equal(0, n);
            Assert.Equal((storage, (long)n), (rows[m.Id].StoragePeriodsCharged, rows[m.Id].RunningPeriodsCharged));
        }
        await _market.AssertLedgerConsistentAsync();
    }

    // ---- (a) two front-ends at once ----

    [Fact]
    public async Task TwoFrontEnds_PassingAtOnceManyTimes_WhileTheBuyerStartsAndStops_ChargeEveryDuePeriodExactlyOnce()
    {
        var other = _market.StartFrontEnd();
        var rng = new Random(5);
        for (var i = 0; i < 6; i++) await StoreAsync(_hosts[i % 2].Host, start: i < 4);

        for (var step = 0; step < 40; step++)
        {
            _market.Clock.Advance(TimeSpan.FromMilliseconds(rng.NextInt64(1, step % 10 == 9 ? 3 * 86_400_000L : 5_400_000L)));
            var m = _machines.Values.ElementAt(rng.Next(_machines.Count));
            var fe = rng.Next(2) == 0 ? _market.FrontEnd : other;
            await Task.WhenAll(
                _market.PassAsync(), _market.PassAsync(other), _market.PassAsync(), _market.PassAsync(other),
                ToggleAsync(m, fe));
            await AssertEveryDuePeriodChargedOnceAsync();
        }
    }

    // ---- (b) a pass killed at any moment ----

    [Fact]
    public async Task PassKilledAtAnyOfItsCharges_ThenAFreshFrontEndPasses_ChargesEveryDuePeriodExactlyOnce()
    {
        for (var i = 0; i < 4; i++) await StoreAsync(_hosts[i % 2].Host, start: i % 2 == 0);
        _market.Clock.Advance(TimeSpan.FromDays(2) + TimeSpan.FromMinutes(7));

        // Which charges this pass is to make (found by a pass on a throwaway copy of the state would be circular:
        // take them from the test's own count of what is due).
        var before = await _market.TransfersAsync();
        var due = new List<string>();
        foreach (var m in _machines.Values)
        {
            var storage = (Now - m.Arrived).Ticks / (m.Host.StoragePeriod * TimeSpan.TicksPerDay) + 1;
            for (var k = 2; k <= storage; k++) due.Add(ChargeKey.Storage(m.Id, 1, k));
            if (m.RunningSince is not null)
                for (var k = 2; k <= m.Used(Now) / (m.Host.RunningPeriod * TimeSpan.TicksPerSecond) + 1; k++) due.Add(ChargeKey.Running(m.Id, 1, k));
        }
        Assert.True(due.Count > 300, $"{due.Count} charges due");

        // Killed at its first, a middle and its last charge: each time nothing of it remains, and a new front-end
        // (the old one gone, as after a crash) starts over.
        foreach (var key in new[] { due[0], due[due.Count / 2], due[^1] })
        {
            await _market.FailTransferAsync(key);
            await Assert.ThrowsAnyAsync<Exception>(() => _market.PassAsync());
            await _market.ClearFaultsAsync();
            Assert.Equal(before.Count, (await _market.TransfersAsync()).Count);
            await _market.RestartAsync();
        }
        await _market.PassAsync();
        Assert.Equal(due.Order(StringComparer.Ordinal), (await _market.TransfersAsync()).Select(t => t.Key).Except(before.Select(t => t.Key)).Order(StringComparer.Ordinal));
        await AssertEveryDuePeriodChargedOnceAsync();
    }

    /// <summary>
    /// More machines than one batch (500): copies of a stored machine, made straight in the database (the daemon reads
    /// only rows, and the agent is never asked about machines whose charges are all covered). Returns their ids, sorted
    /// as the daemon takes them.
    /// </summary>
    private async Task<List<Guid>> CloneAsync(Tracked template, int count)
    {
        var ids = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToList();
        await _market.Data.WriteAsync(async (c, tx) =>
        {
            var columns = (await c.QueryAsync<string>(_market.Data.Dialect == Dialect.Sqlite
                ? "SELECT name FROM pragma_table_info('machines')"
                : "SELECT column_name FROM information_schema.columns WHERE table_name = 'machines' AND table_schema = current_schema()", transaction: tx)).ToList();
            // Not the private address (issue 16): two machines of one network never share one (a unique index).
            var copied = string.Join(", ", columns.Where(col => col is not ("id" or "network" or "private_address")));
            foreach (var id in ids)
                await c.ExecuteAsync($"INSERT INTO machines (id, {copied}) SELECT @id, {copied} FROM machines WHERE id = @template",
                    new { id = id.ToString("D"), template = template.Id.ToString("D") }, tx);
            return 0;
        });
        foreach (var id in ids) _machines[id] = new Tracked(id, template.Host, template.Arrived, copy: true);
        return [.. ids.OrderBy(id => id.ToString("D"), StringComparer.Ordinal)];
    }

    [Fact]
    public async Task PassKilledBetweenBatches_KeepsTheBatchesItCommitted_AndAFreshFrontEndChargesTheRestExactlyOnce()
    {
        var all = await ManyStoredMachinesAsync(1100, TimeSpan.FromDays(3));

        // The second batch (machines 501–1000 in id order) fails: the first stays charged, the third never ran.
        await _market.FailTransferAsync(ChargeKey.Storage(all[700], 1, 3));
        await Assert.ThrowsAnyAsync<Exception>(() => _market.PassAsync());
        await _market.ClearFaultsAsync();
        Assert.Equal(all.Take(500).ToHashSet(), await ChargedAsync(4));

        await _market.RestartAsync();
        var result = await _market.PassAsync();
        Assert.Equal(3 * (all.Count - 500), result.StorageCharges);
        await AssertEveryDuePeriodChargedOnceAsync();
    }

    /// <summary>
    /// Holds the database's write lock (SQLite) or a lock on the transfers table (PostgreSQL) as a long transaction of
    /// someone else would, so that a pass stops at its first batch's write until the hold is disposed.
    /// </summary>
    private protected async Task<IAsyncDisposable> HoldWritesAsync()
    {
        var c = await _market.Data.OpenAsync();
        var tx = c is Microsoft.Data.Sqlite.SqliteConnection s ? s.BeginTransaction(deferred: false) : await c.BeginTransactionAsync();
        if (!postgres) await c.ExecuteAsync("UPDATE accounts SET email = email WHERE username = 'operator'", transaction: tx);
        else await c.ExecuteAsync("LOCK TABLE transfers IN SHARE ROW EXCLUSIVE MODE", transaction: tx);
        return new Hold(c, tx);
    }

    private sealed class Hold(System.Data.Common.DbConnection c, System.Data.Common.DbTransaction tx) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await tx.RollbackAsync();
            await c.DisposeAsync();
        }
    }

    /// <summary>Until <paramref name="pass"/> waits for the hold. PostgreSQL shows it; SQLite cannot, so it is given time.</summary>
    private protected async Task UntilPassWaitsAsync(Task pass)
    {
        if (!postgres) await Task.Delay(500);
        else
            for (var i = 0; i < 200 && await WaitingAsync() == 0; i++) await Task.Delay(50);
        Assert.False(pass.IsCompleted, "the pass did not wait for the hold");
        if (postgres) Assert.Equal(1, await WaitingAsync());
    }

    private Task<long> WaitingAsync() => _market.Database.CountAsync(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND application_name LIKE 'virtuoso-billing-%'");

    private protected async Task<List<Guid>> ManyStoredMachinesAsync(int clones, TimeSpan later)
    {
        var template = await StoreAsync(_hosts[0].Host, start: false);
        var all = (await CloneAsync(template, clones)).Append(template.Id).OrderBy(id => id.ToString("D"), StringComparer.Ordinal).ToList();
        _market.Clock.Advance(later);
        return all;
    }

    /// <summary>Machines whose storage period <paramref name="period"/> is charged.</summary>
    private async Task<HashSet<Guid>> ChargedAsync(int period) =>
        (await _market.TransfersAsync()).Where(t => t.Kind == TransferKinds.Storage && t.Key.EndsWith($":storage:{period}", StringComparison.Ordinal))
            .Select(t => Guid.Parse(t.Machine!)).ToHashSet();

    [Fact]
    public async Task PassCancelledMidWay_FinishesTheBatchInHand_StopsBeforeTheNext_AndTheNextPassChargesTheRestExactlyOnce()
    {
        var all = await ManyStoredMachinesAsync(1100, TimeSpan.FromDays(2));

        using var cancel = new CancellationTokenSource();
        Task pass;
        await using (await HoldWritesAsync())
        {
            pass = Task.Run(() => _market.PassAsync(ct: cancel.Token)); // SQLite's driver blocks the caller while it waits
            await UntilPassWaitsAsync(pass);
            await cancel.CancelAsync();
        }
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pass);
        Assert.Equal(all.Take(500).ToHashSet(), await ChargedAsync(3));

        Assert.Equal(2 * (all.Count - 500), (await _market.PassAsync()).StorageCharges);
        await AssertEveryDuePeriodChargedOnceAsync();
    }

    [Fact]
    public async Task PassCancelledBeforeItBegins_ChargesNothing()
    {
        await ManyStoredMachinesAsync(10, TimeSpan.FromDays(2));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _market.PassAsync(ct: cancelled.Token));

        Assert.Empty(await ChargedAsync(2));
        await _market.PassAsync();
        await AssertEveryDuePeriodChargedOnceAsync();
    }

    /// <summary>PostgreSQL: the pass's connection dies mid-transaction (its process killed) and its front-end is gone.</summary>
    private protected async Task PassWhoseConnectionDiesMidTransaction_ThenAFreshFrontEnd_ChargesEveryDuePeriodOnce()
    {
        var all = await ManyStoredMachinesAsync(700, TimeSpan.FromDays(2));
        await _market.PassAsync();
        _market.Clock.Advance(TimeSpan.FromDays(1)); // every machine's fourth period is due: the pass dies in its first batch

        Task pass;
        await using (await HoldWritesAsync())
        {
            pass = Task.Run(() => _market.PassAsync());
            await UntilPassWaitsAsync(pass);
            Assert.Equal(1, await _market.Database.CountAsync(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND application_name LIKE 'virtuoso-billing-%'"));
            await Assert.ThrowsAnyAsync<Exception>(() => pass);
        }
        await _market.RestartAsync();
        Assert.Empty(await ChargedAsync(4));

        await _market.PassAsync();
        Assert.Equal(all.ToHashSet(), await ChargedAsync(4));
        await AssertEveryDuePeriodChargedOnceAsync();
    }

    // ---- (c) the clock jumps ----

    [Fact]
    public async Task ClockJumpingForwardByDays_BetweenPassesOnTwoFrontEnds_ChargesEveryPeriodOnce()
    {
        var other = _market.StartFrontEnd();
        for (var i = 0; i < 4; i++) await StoreAsync(_hosts[i % 2].Host, start: i < 2);
        foreach (var days in new[] { 1, 0, 9, 30, 2, 0, 15 })
        {
            _market.Clock.Advance(TimeSpan.FromDays(days) + TimeSpan.FromMilliseconds(1234));
            await Task.WhenAll(_market.PassAsync(other), _market.PassAsync());
            await AssertEveryDuePeriodChargedOnceAsync();
        }
    }

    // ---- (d) a charge already in the ledger ----

    [Fact]
    public async Task ADueChargeWhoseKeyIsAlreadyInTheLedger_IsNotMadeTwice_AndTheRestOfItsBatchIsCharged()
    {
        var machines = new List<Tracked>();
        for (var i = 0; i < 4; i++) machines.Add(await StoreAsync(_hosts[0].Host, start: false));
        _market.Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1)); // daily storage: everyone's second period is due
        // What another writer leaves when it charges a period between a pass's due query and its row locks, as far as the ledger
        // goes: that period's key. On PostgreSQL the batch's bulk insert then records fewer transfers than planned, so the batch
        // rolls back to its savepoint and is billed again one charge at a time.
        var key = ChargeKey.Storage(machines[1].Id, 1, 2);
        var ledger = _market.FrontEnd.Services.GetRequiredService<Ledger>();
        Assert.True(await _market.Data.WriteAsync((c, tx) => ledger.TransferAsync(c, tx, key, TransferKinds.Storage, new Money(0.25m),
            _buyer.Username, _provider.Username, machines[1].Id, machines[1].Host.Name, Now)));

        var result = await _market.PassAsync();
        Assert.Equal((4, 3), (result.Machines, result.StorageCharges));
        Assert.Single(await _market.TransfersAsync(), t => t.Key == key);
        Assert.Equal(3, await _market.Database.CountAsync("SELECT COUNT(*) FROM events WHERE kind = 'charged'"));
        await AssertEveryDuePeriodChargedOnceAsync();
        Assert.Equal((0, 0), ((await _market.PassAsync()).StorageCharges, (await _market.PassAsync()).RunningCharges));
    }
}

public sealed class BillingSafetySqliteTests() : BillingSafetyTests(postgres: false);

/// <summary>Production's deployment: replicas on PostgreSQL, where they bill truly at the same time.</summary>
public sealed class BillingSafetyPostgresTests() : BillingSafetyTests(postgres: true)
{
    [Fact]
    public Task PassWhoseConnectionDiesMidTransaction_ThenAFreshFrontEndPasses_ChargesEveryDuePeriodOnce() =>
        PassWhoseConnectionDiesMidTransaction_ThenAFreshFrontEnd_ChargesEveryDuePeriodOnce();
}
