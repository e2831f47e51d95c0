using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Events;

/// <summary>A market whose operator can log in, and whose event collector runs only when a test says (a pass at start-up, then hourly).</summary>
public class EventsMarket : MarketFixture
{
    public const string OperatorPassword = "operator-events-password";
    internal static readonly IReadOnlyDictionary<string, string?> Settings = new Dictionary<string, string?>
    {
        ["Virtuoso:OperatorPassword"] = OperatorPassword,
        ["Virtuoso:EventCollectIntervalSeconds"] = "3600",
    };

    public EventsMarket() : base(new SqliteTestDatabase(), Settings) { }
    private protected EventsMarket(TestDatabase database) : base(database, Settings) { }

    internal EventCollector Collector => Factory.Services.GetRequiredService<EventCollector>();

    internal async Task<Session> OperatorAsync()
    {
        var login = await Session.Ok<SessionResponse>(await Anonymous().PostAsync("/api/v1/sessions", JsonContent.Create(new LoginRequest(Ledger.Operator, OperatorPassword))));
        return new Session(Session.WithToken(Anonymous(), login.Token), Ledger.Operator, OperatorPassword, login.Token, this);
    }

    /// <summary>A host of its own on a fresh fake agent, once the host monitor has seen it online (the collector reads online hosts only).</summary>
    internal async Task<(string Host, FakeAgent Agent)> OwnHostAsync()
    {
        var agent = await FakeAgent.StartAsync("events");
        var name = UniqueName("events-host");
        await Provider.AddHostAsync(HostSpecs.Virt13(name, agent));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await Provider.HostAsync(name)).Online != true)
        {
            Assert.True(DateTime.UtcNow < deadline, $"host {name} never came online");
            await Task.Delay(100);
        }
        return (name, agent);
    }
}

public sealed class PostgresEventsMarket() : EventsMarket(new PostgresTestDatabase());

public sealed class EventCollectorTests(EventsMarket market) : EventCollectorTests<EventsMarket>(market);

public sealed class EventCollectorPostgresTests(PostgresEventsMarket market) : EventCollectorTests<PostgresEventsMarket>(market);

/// <summary>Issue 19 point 3: the agents' events gathered into the front-end's log, and the operator's view of them all.</summary>
public abstract class EventCollectorTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : EventsMarket
{
    private async Task<List<EventResponse>> AllAsync(Session who, string query = "") =>
        await Session.Ok<List<EventResponse>>(await who.GetAsync("/api/v1/events/all" + query));

    [Fact]
    public async Task Collect_StoresEachEventOnce_InTheAgentsOrder_AndMovesTheCursor()
    {
        var (host, agent) = await market.OwnHostAsync();
        await using var _ = agent;
        var machine = Guid.NewGuid();
        var t = DateTimeOffset.UtcNow;
        agent.AppendEvent("created", machine, t, "stopped", 1, "linux-busybox");
        agent.AppendEvent("started", machine, t.AddSeconds(1), "running", 1);
        agent.AppendEvent("vmmp", machine, t.AddSeconds(2), detail: "QUERY");

        await market.Collector.CollectAllAsync();
        await market.Collector.CollectAllAsync(); // nothing new: nothing stored twice
        agent.AppendEvent("stopped", machine, t.AddSeconds(3), "stopped", 2);
        await market.Collector.CollectAllAsync();

        var op = await market.OperatorAsync();
        var events = await AllAsync(op, $"?host={host}");
        Assert.Equal(["stopped", "vmmp", "started", "created"], events.Select(e => e.Kind));
        Assert.All(events, e => Assert.Equal((EventCollector.Origin, host, machine), (e.Origin, e.Host, e.Machine)));
        Assert.Equal("linux-busybox (state stopped, version 1)", events[^1].Message);
        Assert.Equal(400, await market.CountAsync("SELECT position FROM event_cursors WHERE host = @host", ("host", host)));
        Assert.Equal(4, await market.CountAsync("SELECT COUNT(*) FROM events WHERE host = @host", ("host", host)));
    }

    [Fact]
    public async Task TwoCollectorsReadingTheSamePage_StoreItOnce()
    {
        var (host, agent) = await market.OwnHostAsync();
        await using var _ = agent;
        for (var i = 0; i < 5; i++) agent.AppendEvent("failed", Guid.NewGuid(), detail: $"attempt {i}");
        agent.Hold("events");

        var first = market.Collector.CollectAllAsync();
        var second = market.Collector.CollectAllAsync();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (agent.Held("events") < 2) { Assert.True(DateTime.UtcNow < deadline, "the two collectors never both read"); await Task.Delay(20); }
        agent.Release("events");
        await Task.WhenAll(first, second);

        Assert.Equal(5, await market.CountAsync("SELECT COUNT(*) FROM events WHERE host = @host", ("host", host)));
        Assert.Equal(500, await market.CountAsync("SELECT position FROM event_cursors WHERE host = @host", ("host", host)));

        // Even a cursor set back (by hand here) stores nothing twice: (host_log, host_position) is unique.
        await market.Factory.Services.GetRequiredService<Virtuoso.FrontEnd.Data.Database>().ReadAsync(c => Dapper.SqlMapper.ExecuteAsync(c, "UPDATE event_cursors SET position = 0 WHERE host = @host", new { host }));
        await market.Collector.CollectAllAsync();
        Assert.Equal(5, await market.CountAsync("SELECT COUNT(*) FROM events WHERE host = @host", ("host", host)));
        Assert.Equal(500, await market.CountAsync("SELECT position FROM event_cursors WHERE host = @host", ("host", host)));
    }

    [Fact]
    public async Task AReplacedLog_IsReadFromItsStart()
    {
        var (host, agent) = await market.OwnHostAsync();
        await using var _ = agent;
        agent.AppendEvent("created", Guid.NewGuid());
        agent.AppendEvent("deleted", Guid.NewGuid());
        await market.Collector.CollectAllAsync();

        agent.ReplaceEventLog(); // the provider reinstalled the agent with a new data directory
        agent.AppendEvent("accelerator", state: "kvm", detail: "a probe boot proved KVM works");
        await market.Collector.CollectAllAsync();

        var events = await AllAsync(await market.OperatorAsync(), $"?host={host}");
        Assert.Equal(["accelerator", "deleted", "created"], events.Select(e => e.Kind));
        Assert.Equal(100, await market.CountAsync("SELECT position FROM event_cursors WHERE host = @host", ("host", host)));
    }

    [Fact]
    public async Task AMachinesEventsOnTwoHosts_AreListedInEachHostsOrder_AndByTimeBetweenThem()
    {
        var (origin, a) = await market.OwnHostAsync();
        var (destination, b) = await market.OwnHostAsync();
        await using var _ = a;
        await using var __ = b;
        var machine = Guid.NewGuid();
        var t = new DateTimeOffset(2031, 1, 1, 12, 0, 0, TimeSpan.Zero); // later than anything else in the log
        a.AppendEvent("exported", machine, t, "stopped", 3);
        b.AppendEvent("migration", machine, t.AddSeconds(1), detail: "copying");
        b.AppendEvent("migrated", machine, t.AddSeconds(4), "stopped", 4);
        a.AppendEvent("retired", machine, t.AddSeconds(3), version: 3);
        a.AppendEvent("unexported", machine, t.AddSeconds(2)); // the origin's clock was set back: still after "retired"

        await market.Collector.CollectAllAsync();

        var events = await AllAsync(await market.OperatorAsync(), $"?machine={machine:D}");
        Assert.Equal(["migrated", "unexported", "retired", "migration", "exported"], events.Select(e => e.Kind));
        Assert.Equal([destination, origin, origin, destination, origin], events.Select(e => e.Host));
    }

    [Fact]
    public async Task Owners_SeeOnlyTheAgentKindsMeantForThem_TheOperatorSeesAll()
    {
        var buyer = await market.SignupAsync(Roles.Buyer, "events-buyer");
        var (stored, _) = await buyer.StoredMachineAsync();
        var spare = market.Spare;
        spare.AppendEvent("started", stored.Id, state: "running", version: 2);
        spare.AppendEvent("vmmp", stored.Id, detail: "QUERY");
        spare.AppendEvent("failed", stored.Id, detail: "qemu exited");
        spare.AppendEvent("accelerator", state: "tcg", detail: "no /dev/kvm");

        await market.Collector.CollectAllAsync();

        var mine = (await buyer.EventsAsync(stored.Id)).Where(e => e.Origin == EventCollector.Origin).ToList();
        Assert.Equal(["failed"], mine.Select(e => e.Kind));
        var provider = (await market.Provider.EventsAsync()).Where(e => e.Origin == EventCollector.Origin).ToList();
        Assert.Contains(provider, e => e.Kind == "accelerator" && e.Message == "no /dev/kvm (state tcg)");
        Assert.DoesNotContain(provider, e => e.Machine == stored.Id);
        var all = await AllAsync(await market.OperatorAsync(), $"?machine={stored.Id:D}");
        Assert.Equal(["failed", "vmmp", "started"], all.Where(e => e.Origin == EventCollector.Origin).Select(e => e.Kind));
        Assert.Contains(all, e => e.Origin == EventLog.FrontEnd && e.Kind == "stored"); // and the front-end's own
    }

    [Fact]
    public async Task AllEvents_FilterByHostMachineAndKind_AndPage()
    {
        var (host, agent) = await market.OwnHostAsync();
        await using var _ = agent;
        var (m1, m2) = (Guid.NewGuid(), Guid.NewGuid());
        agent.AppendEvent("created", m1);
        agent.AppendEvent("created", m2);
        agent.AppendEvent("started", m1);
        agent.AppendEvent("failed", m1);
        await market.Collector.CollectAllAsync();
        var op = await market.OperatorAsync();

        Assert.Equal(["created"], (await AllAsync(op, $"?host={host}&machine={m2:D}")).Select(e => e.Kind));
        Assert.Equal([m2, m1], (await AllAsync(op, $"?host={host}&kind=created")).Select(e => e.Machine));
        Assert.Empty(await AllAsync(op, "?host=no-such-host"));
        var first = await op.GetAsync($"/api/v1/events/all?host={host}&limit=3");
        var page = await Session.Ok<List<EventResponse>>(first);
        Assert.Contains("before=", first.Headers.GetValues("Link").Single());
        var rest = await AllAsync(op, $"?host={host}&limit=3&before={page[^1].Seq}");
        Assert.Equal(["failed", "started", "created", "created"], page.Concat(rest).Select(e => e.Kind));
        Assert.Equal([m1, m1, m2, m1], page.Concat(rest).Select(e => e.Machine!.Value));
        // Everyone's events, the front-end's too, when unfiltered.
        Assert.Contains(await AllAsync(op, "?limit=1000"), e => e.Origin == EventLog.FrontEnd && e.Kind == "host-added");
    }

    [Theory]
    [InlineData("?host=not%20a%20host", ErrorCodes.InvalidFilter)]
    [InlineData("?machine=42", ErrorCodes.InvalidFilter)]
    [InlineData("?kind=Started%3B", ErrorCodes.InvalidFilter)]
    [InlineData("?before=999999999", ErrorCodes.InvalidCursor)]
    [InlineData("?limit=0", ErrorCodes.Validation)]
    public async Task AllEvents_RefuseABadFilter(string query, string code) =>
        await Problem.AssertAsync(await (await market.OperatorAsync()).GetAsync("/api/v1/events/all" + query), 400, code);

    [Fact]
    public async Task AllEvents_AreTheOperatorsAlone()
    {
        var buyer = await market.SharedBuyerAsync();
        await Problem.AssertAsync(await buyer.GetAsync("/api/v1/events/all"), 403, ErrorCodes.WrongRole);
        await Problem.AssertAsync(await market.Provider.GetAsync("/api/v1/events/all?host=alpha"), 403, ErrorCodes.WrongRole);
        await Problem.AssertAsync(await market.Anonymous().GetAsync("/api/v1/events/all"), 401, ErrorCodes.Unauthenticated);
    }
}
