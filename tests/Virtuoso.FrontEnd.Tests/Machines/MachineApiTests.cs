using System.Net;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Machines;

/// <summary>MachineApiTests on SQLite, the default dialect.</summary>
public sealed class MachineApiTests(MarketFixture market) : MachineApiTests<MarketFixture>(market);

/// <summary>MachineApiTests on PostgreSQL, production's dialect: the same money path to the cent, refusals and races.</summary>
public sealed class MachineApiPostgresTests(PostgresMarketFixture market) : MachineApiTests<PostgresMarketFixture>(market);

/// <summary>
/// MachineService through the API on fake agents: the "Done when" money path, every refusal of
/// issue 2 item 9 that concerns machines (each one changing nothing), failed agent calls, events. Written once,
/// run on each dialect's <typeparamref name="TMarket"/>.
/// </summary>
public abstract class MachineApiTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    private const string Busybox = "linux-busybox";

    // ---- the "Done when" journey, exactly (design §3.1, report Figure 31 and Figure 20) ----

    [Fact]
    public async Task MoneyPath_LinuxBusyboxThenConfiguration1OnBeta_ChargesExactlyTheReportsPrices()
    {
        var before = await market.BalancesAsync();
        var buyer = await market.SignupAsync(Roles.Buyer, "money-buyer");
        Assert.Equal(1000m, await buyer.BalanceAsync());

        var machine = await buyer.RegisterAsync(Busybox, storageBid: 30m, runningBid: 3m);
        Assert.Equal(("registered", 0L, 4000L, 256L, 1000L, (string?)Busybox), (machine.State, machine.Version, machine.Speed, machine.Memory, machine.Disk, machine.Image));
        Assert.Equal(999.95m, await buyer.BalanceAsync());

        var search = await buyer.SearchAsync(machine.Id);
        var alpha = search.Single(r => r.Host == "alpha");
        var beta = search.Single(r => r.Host == "beta");
        Assert.True(alpha.Matches, string.Join(", ", alpha.Reasons));
        Assert.True(beta.Matches, string.Join(", ", beta.Reasons));
        Assert.Empty(alpha.Reasons);
        Assert.Equal((3m, 2.448m), (alpha.StorageRate, alpha.RunningRate));
        Assert.Equal((30m, 0.3744m), (beta.StorageRate, beta.RunningRate));
        Assert.Equal((30m, 30L, 0.3744m, 3600L), (beta.StorageCharge, beta.StoragePeriodDays, beta.RunningCharge, beta.RunningPeriodSeconds));
        Assert.Equal(("x86_64", "127.0.0.1"), (beta.Processor, beta.Address));
        // Issue 18: sorted by the monthly total, 730 hours (always on) assumed: beta $303.312, alpha $1790.04.
        Assert.Equal((730m, 303.312m, 1790.04m), (beta.Hours, beta.MonthlyTotal, alpha.MonthlyTotal));
        Assert.True(search.IndexOf(beta) < search.IndexOf(alpha), "cheapest a month first");

        var stored = await buyer.StoreAsync(machine.Id, "beta");
        Assert.Equal(("stored", 1L, "beta"), (stored.State, stored.Version, stored.Host));
        Assert.Equal((30m, 30L, 0.3744m, 3600L), (stored.StoragePrice, stored.StoragePeriodDays, stored.RunningPrice, stored.RunningPeriodSeconds));
        Assert.Equal(969.95m, await buyer.BalanceAsync());
        AgentAgrees(market.Beta, stored);

        var started = await buyer.ActAsync(machine.Id, "start");
        Assert.Equal(("running", 1L), (started.State, started.Version));
        Assert.Equal(969.5756m, await buyer.BalanceAsync());
        AgentAgrees(market.Beta, started);

        var suspended = await buyer.ActAsync(machine.Id, "suspend");
        Assert.Equal(("suspended", 2L), (suspended.State, suspended.Version));
        AgentAgrees(market.Beta, suspended);

        var resumed = await buyer.ActAsync(machine.Id, "resume");
        Assert.Equal(("running", 2L), (resumed.State, resumed.Version));
        Assert.Equal(969.5756m, await buyer.BalanceAsync()); // inside the prepaid hour: nothing charged
        AgentAgrees(market.Beta, resumed);

        var stopped = await buyer.ActAsync(machine.Id, "stop");
        Assert.Equal(("stopped", 3L), (stopped.State, stopped.Version));
        Assert.Equal(969.5756m, await buyer.BalanceAsync());
        AgentAgrees(market.Beta, stopped);

        // The blank Configuration1 (Figure 20's row of the table): 3 on store, 0.2016 on start.
        var blank = await buyer.RegisterAsync("Configuration1", storageBid: 3m, runningBid: 1m);
        Assert.Null(blank.Image);
        Assert.Equal(969.5256m, await buyer.BalanceAsync());
        Assert.True((await buyer.SearchAsync(blank.Id)).Single(r => r.Host == "beta").Matches);
        var blankStored = await buyer.StoreAsync(blank.Id, "beta");
        Assert.Equal((3m, 0.2016m), (blankStored.StoragePrice, blankStored.RunningPrice));
        Assert.Equal(969.5256m - 3m, await buyer.BalanceAsync());
        AgentAgrees(market.Beta, await buyer.ActAsync(blank.Id, "start"));
        Assert.Equal(969.5256m - 3m - 0.2016m, await buyer.BalanceAsync());

        // Double entry: the provider got exactly what the buyer paid for storage and running, the operator the fees.
        var after = await market.BalancesAsync();
        Assert.Equal(before[market.Provider.Username] + 30m + 0.3744m + 3m + 0.2016m, after[market.Provider.Username]);
        Assert.Equal(before["operator"] + 0.05m + 0.05m, after["operator"]);
        Assert.Equal(before["deposits"] - 1000m, after["deposits"]);
        Assert.Equal(0m, after.Values.Sum());

        // The account page shows the prices each machine was stored at.
        var account = await buyer.AccountAsync();
        var page = account.Machines.Single(m => m.Id == machine.Id);
        Assert.Equal(("beta", 30m, 0.3744m), (page.Host, page.StoragePrice, page.RunningPrice));
        Assert.Equal(30m + 0.3744m + 3m + 0.2016m, (await market.Provider.AccountAsync()).Hosts.Single(h => h.Name == "beta").Income);
    }

    // ---- register and edit: bad input is refused and changes nothing ----

    [Theory]
    [InlineData("""{"config":"Configuration1","storageBid":-1,"runningBid":1}""")]
    [InlineData("""{"config":"Configuration1","storageBid":3,"runningBid":0}""")]
    [InlineData("""{"config":"Configuration1"}""")] // no bids: zero is meaningless
    [InlineData("""{"config":"Configuration1","storageBid":1e15,"runningBid":1}""")]
    [InlineData("""{"config":"Configuration1","storageBid":3,"runningBid":1e40}""")] // beyond decimal
    [InlineData("""{"config":"Configuration1","storageBid":"NaN","runningBid":1}""")]
    [InlineData("""{"config":"Configuration1","storageBid":NaN,"runningBid":1}""")]
    [InlineData("""{"config":"Configuration1","storageBid":3,"runningBid":"Infinity"}""")]
    [InlineData("""{"config":"Configuration1","storageBid":"three","runningBid":1}""")]
    [InlineData("""{"config":"Configuration1","storageBid":3,"runningBid":1,"memory":-64}""")]
    [InlineData("""{"name":"custom","speed":-4000,"memory":64,"disk":100,"os":"linux","storageBid":3,"runningBid":1}""")]
    [InlineData("""{"name":"custom","speed":0,"memory":64,"disk":100,"os":"linux","storageBid":3,"runningBid":1}""")]
    [InlineData("""{"name":"custom","speed":4000,"memory":0,"disk":100,"os":"linux","storageBid":3,"runningBid":1}""")]
    [InlineData("""{"name":"custom","speed":4000,"memory":64,"disk":0,"os":"linux","storageBid":3,"runningBid":1}""")]
    [InlineData("""{"name":"custom","speed":4000,"memory":64,"disk":100000000000000,"os":"linux","storageBid":3,"runningBid":1}""")]
    [InlineData("""{"name":"custom","speed":1e30,"memory":64,"disk":100,"os":"linux","storageBid":3,"runningBid":1}""")]
    [InlineData("""{"name":"custom","speed":"fast","memory":64,"disk":100,"os":"linux","storageBid":3,"runningBid":1}""")]
    [InlineData("""{"name":"custom","speed":4000,"memory":64,"disk":100,"storageBid":3,"runningBid":1}""")] // no os
    [InlineData("""{"name":"","speed":4000,"memory":64,"disk":100,"os":"linux","storageBid":3,"runningBid":1}""")]
    [InlineData("""{"config":"Configuration1","storageBid":3,"runningBid":1""")] // truncated JSON
    public async Task Register_WithInvalidPricesOrSizes_IsRefusedAsValidationAndChangesNothing(string body)
    {
        var buyer = await market.SharedBuyerAsync();
        var balance = await buyer.BalanceAsync();
        var machines = (await buyer.MachinesAsync()).Count;

        var response = await buyer.PostAsync("/api/v1/machines", body);

        await Problem.AssertAsync(response, 400, ErrorCodes.Validation);
        Assert.Equal(balance, await buyer.BalanceAsync());
        Assert.Equal(machines, (await buyer.MachinesAsync()).Count);
    }

    [Theory]
    [InlineData("""{"storageBid":-1}""")]
    [InlineData("""{"runningBid":0}""")]
    [InlineData("""{"storageBid":1e15}""")]
    [InlineData("""{"runningBid":"NaN"}""")]
    [InlineData("""{"runningBid":NaN}""")]
    [InlineData("""{"storageBid":"cheap"}""")]
    [InlineData("""{"speed":0}""")]
    [InlineData("""{"speed":-1}""")]
    [InlineData("""{"memory":-64}""")]
    [InlineData("""{"memory":1e30}""")]
    [InlineData("""{"disk":0}""")]
    [InlineData("""{"disk":100000000000000}""")]
    [InlineData("""{"name":""}""")]
    public async Task Edit_WithInvalidPricesOrSizes_IsRefusedAsValidationAndChangesNothing(string body)
    {
        var buyer = await market.SharedBuyerAsync();
        var machine = await buyer.RegisterAsync("Configuration1", 3m, 1m);
        var balance = await buyer.BalanceAsync();

        var response = await buyer.PatchAsync($"/api/v1/machines/{machine.Id}", body);

        await Problem.AssertAsync(response, 400, ErrorCodes.Validation);
        Snapshot.Same(machine, await buyer.MachineAsync(machine.Id));
        Assert.Equal(balance, await buyer.BalanceAsync());
    }

    [Fact]
    public async Task Edit_WhileRegistered_ChangesSpecAndBids()
    {
        var buyer = await market.SharedBuyerAsync();
        var machine = await buyer.RegisterAsync("Configuration1", 3m, 1m);

        var edited = await Session.Ok<MachineResponse>(await buyer.PatchAsync($"/api/v1/machines/{machine.Id}",
            new EditMachineRequest("renamed", null, null, 128, 200, null, 4m, 2m)));

        Assert.Equal(("renamed", 4000L, 128L, 200L, 4m, 2m, 0L), (edited.Name, edited.Speed, edited.Memory, edited.Disk, edited.StorageBid, edited.RunningBid, edited.Version));
        Snapshot.Same(edited, await buyer.MachineAsync(machine.Id));
    }

    [Fact]
    public async Task Register_UnknownConfiguration_IsRefusedAndChangesNothing()
    {
        var buyer = await market.SharedBuyerAsync();
        var balance = await buyer.BalanceAsync();
        var machines = (await buyer.MachinesAsync()).Count;

        var response = await buyer.PostAsync("/api/v1/machines", new RegisterRequest("Configuration99", null, null, null, null, null, null, 3m, 1m));

        await Problem.AssertAsync(response, 404, ErrorCodes.UnknownConfiguration);
        Assert.Equal(balance, await buyer.BalanceAsync());
        Assert.Equal(machines, (await buyer.MachinesAsync()).Count);
    }

    [Theory]
    [InlineData(127L, null)] // Debian's kernel needs ~96 MB; the image states 128
    [InlineData(64L, null)]
    [InlineData(null, 999L)]
    public async Task Register_PreconfiguredBelowItsImageMinimum_IsRefusedAndChangesNothing(long? memory, long? disk)
    {
        var buyer = await market.SharedBuyerAsync();
        var balance = await buyer.BalanceAsync();
        var machines = (await buyer.MachinesAsync()).Count;

        var response = await buyer.PostAsync("/api/v1/machines", new RegisterRequest(Busybox, null, null, null, memory, disk, null, 30m, 3m));

        await Problem.AssertAsync(response, 400, ErrorCodes.BelowImageMinimum);
        Assert.Equal(balance, await buyer.BalanceAsync());
        Assert.Equal(machines, (await buyer.MachinesAsync()).Count);
    }

    [Fact]
    public async Task Register_PreconfiguredAtExactlyItsImageMinimum_IsAccepted()
    {
        var buyer = await market.SharedBuyerAsync();

        var response = await buyer.PostAsync("/api/v1/machines", new RegisterRequest(Busybox, null, null, null, 128, 1000, null, 30m, 3m));

        var machine = await Session.Ok<MachineResponse>(response);
        Assert.Equal((128L, 1000L, (string?)Busybox), (machine.Memory, machine.Disk, machine.Image));
    }

    [Theory]
    [InlineData("""{"memory":100}""")]
    [InlineData("""{"disk":500}""")]
    [InlineData("""{"memory":64,"disk":2000}""")]
    public async Task Edit_PreconfiguredBelowItsImageMinimum_IsRefusedAndChangesNothing(string body)
    {
        var buyer = await market.SharedBuyerAsync();
        var machine = await buyer.RegisterAsync(Busybox, 30m, 3m);

        var response = await buyer.PatchAsync($"/api/v1/machines/{machine.Id}", body);

        await Problem.AssertAsync(response, 400, ErrorCodes.BelowImageMinimum);
        Snapshot.Same(machine, await buyer.MachineAsync(machine.Id));
    }

    // ---- store: refused with a reason, nothing changes ----

    [Fact]
    public async Task Store_OnHostWithoutRoom_IsRefusedAsNoRoomAndChangesNothing()
    {
        var buyer = await market.SharedBuyerAsync();
        var tiny = await market.AddHostAsync((name, agent) => HostSpecs.Virt13(name, agent) with { Storage = 999 });
        var machine = await buyer.RegisterAsync(Busybox, 30m, 3m); // 1000 MB of disk

        var problem = await RefusedStore(buyer, machine, tiny.Name, 409, ErrorCodes.NoRoom);

        Assert.Contains("MB of disk free; the machine needs", Problem.Detail(problem)); // not-enough-storage, as a sentence
    }

    [Fact]
    public async Task Store_OnHostWhoseRoomOtherMachinesTook_IsRefusedAsNoRoom()
    {
        var buyer = await market.SharedBuyerAsync();
        // 10000 bogomips: two 4000-bogomips machines fit, a third does not (reserved whether running or not, design §3.2).
        var host = await market.AddHostAsync((name, agent) => HostSpecs.Virt13(name, agent) with { Storage = 1_000_000 });
        foreach (var _ in Enumerable.Range(0, 2))
            await buyer.StoreAsync((await buyer.RegisterAsync("Configuration1", 3m, 1m)).Id, host.Name);
        var third = await buyer.RegisterAsync("Configuration1", 3m, 1m);

        var problem = await RefusedStore(buyer, third, host.Name, 409, ErrorCodes.NoRoom);

        Assert.Contains("bogomips of processor speed free; the machine needs", Problem.Detail(problem)); // not-enough-speed, as a sentence
    }

    [Fact]
    public async Task Store_OverRunningBid_IsRefusedWithReason()
    {
        var buyer = await market.SharedBuyerAsync();
        var machine = await buyer.RegisterAsync(Busybox, storageBid: 30m, runningBid: 1m); // alpha asks 2.448 $/hour

        var problem = await RefusedStore(buyer, machine, "alpha", 409, ErrorCodes.OverBid);

        Assert.Contains("Your running bid", Problem.Detail(problem)); // over-running-bid, as a sentence
        Assert.DoesNotContain("over-storage-bid", Problem.Detail(problem));
        Assert.Equal(new[] { "over-running-bid" }, (await buyer.SearchAsync(machine.Id)).Single(r => r.Host == "alpha").Reasons);
    }

    // ---- issue 18: the monthly total of a usage profile, and what deleting gives up ----

    [Theory]
    [InlineData("5", "alpha", 15.24, 31.872)]      // 3 + 5 × 2.448 against 30 + 5 × 0.3744
    [InlineData("13", "alpha", 34.824, 34.8672)]
    [InlineData("14", "beta", 37.272, 35.2416)]
    [InlineData("100", "beta", 247.8, 67.44)]
    [InlineData("0", "alpha", 3, 30)]
    [InlineData("744", "beta", 1824.312, 308.5536)]
    public async Task Search_Hours_SortsByTheMonthlyTotal_CheapestFirst(string hours, string first, decimal alphaTotal, decimal betaTotal)
    {
        // Roomy hosts priced like alpha and beta (the fixture's own may be full by now).
        var a = await market.AddHostAsync((name, agent) => HostSpecs.Virt8(name, agent) with { Speed = 1_000_000, Memory = 1_000_000, Storage = 1_000_000 });
        var b = await market.AddHostAsync();
        var buyer = await market.SharedBuyerAsync();
        var machine = await buyer.RegisterAsync(Busybox, storageBid: 30m, runningBid: 3m);

        var search = await Session.Ok<List<SearchResult>>(await buyer.GetAsync($"/api/v1/machines/{machine.Id}/search?hours={hours}&limit=1000"));

        var (alpha, beta) = (search.Single(r => r.Host == a.Name), search.Single(r => r.Host == b.Name));
        Assert.True(alpha.Matches && beta.Matches);
        Assert.Equal((alphaTotal, betaTotal), (alpha.MonthlyTotal, beta.MonthlyTotal));
        Assert.All(search, r => Assert.Equal(decimal.Parse(hours, System.Globalization.CultureInfo.InvariantCulture), r.Hours));
        Assert.Equal(first, search.IndexOf(alpha) < search.IndexOf(beta) ? "alpha" : "beta");
        // Matching hosts first, each part cheapest a month first.
        var matching = search.TakeWhile(r => r.Matches).ToList();
        Assert.All(search.Skip(matching.Count), r => Assert.False(r.Matches));
        Assert.Equal(matching.Select(r => r.MonthlyTotal).Order(), matching.Select(r => r.MonthlyTotal));
        Assert.Equal(search.Skip(matching.Count).Select(r => r.MonthlyTotal).Order(), search.Skip(matching.Count).Select(r => r.MonthlyTotal));
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("745")]
    [InlineData("lots")]
    [InlineData("1e2")]
    [InlineData("12,5")]
    public async Task Search_BadHours_Is400InvalidHours(string hours)
    {
        var buyer = await market.SharedBuyerAsync();
        var machine = await buyer.RegisterAsync(Busybox, storageBid: 30m, runningBid: 3m);

        var problem = await Problem.AssertAsync(await buyer.GetAsync($"/api/v1/machines/{machine.Id}/search?hours={Uri.EscapeDataString(hours)}"), 400, ErrorCodes.InvalidHours);

        Assert.Contains("0 to 744", Problem.Detail(problem));
    }

    [Fact]
    public async Task Search_Limit_ShowsTheBestFirstAndCountsEveryHostRanked()
    {
        // Issue 19: a marketplace of 10,000 hosts answers the best few, and says how many it ranked.
        await market.AddHostAsync();
        await market.AddHostAsync();
        var buyer = await market.SharedBuyerAsync();
        var machine = await buyer.RegisterAsync(Busybox, storageBid: 30m, runningBid: 3m);

        var all = await buyer.GetAsync($"/api/v1/machines/{machine.Id}/search?limit=1000");
        var every = await Session.Ok<List<SearchResult>>(all);
        var two = await buyer.GetAsync($"/api/v1/machines/{machine.Id}/search?limit=2");
        var best = await Session.Ok<List<SearchResult>>(two);

        Assert.True(every.Count >= 3, $"{every.Count} hosts");
        Assert.Equal(every.Take(2).Select(r => r.Host), best.Select(r => r.Host));
        Assert.Equal(every.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), two.Headers.GetValues("X-Total-Count").Single());
        Assert.Equal(every.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), all.Headers.GetValues("X-Total-Count").Single());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1001")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("all")]
    public async Task Search_BadLimit_Is400InvalidLimit(string limit)
    {
        var buyer = await market.SharedBuyerAsync();
        var machine = await buyer.RegisterAsync(Busybox, storageBid: 30m, runningBid: 3m);

        var problem = await Problem.AssertAsync(await buyer.GetAsync($"/api/v1/machines/{machine.Id}/search?limit={Uri.EscapeDataString(limit)}"), 400, ErrorCodes.InvalidLimit);

        Assert.Contains("1 to 1000", Problem.Detail(problem));
    }

    [Fact]
    public async Task Search_WithASnapshot_RanksWhatItReadUntilTheSnapshotIsOld_WithoutOneEverySearchReads()
    {
        // Issue 19: Virtuoso:SearchSnapshotSeconds lets a replica reuse what it read of the hosts; 0 (the default) reads each time.
        await using var snapshotting = market.Factory.WithWebHostBuilder(b => b.UseSetting("Virtuoso:SearchSnapshotSeconds", "3600"));
        var buyer = await market.SharedBuyerAsync();
        var machine = await buyer.RegisterAsync(Busybox, storageBid: 30m, runningBid: 3m);
        var through = Session.WithToken(snapshotting.CreateClient(), buyer.Token);
        async Task<List<string>> HostsAsync(HttpClient http) =>
            (await Session.Ok<List<SearchResult>>(await http.GetAsync($"/api/v1/machines/{machine.Id}/search?limit=1000"))).Select(r => r.Host).ToList();

        var before = await HostsAsync(through);
        var added = await market.AddHostAsync();

        Assert.DoesNotContain(added.Name, await HostsAsync(through)); // the snapshot of an hour ago
        Assert.Contains(added.Name, (await buyer.SearchAsync(machine.Id)).Select(r => r.Host)); // no snapshot: read now
        Assert.Equal(before, await HostsAsync(through));
    }

    [Fact]
    public async Task Search_WithASnapshotPastItsWindow_RanksTheOldReadingWhileTheNextIsReadInTheBackground()
    {
        // Issue 19: no search waits for a reading but the first; an old one is read anew in the background.
        await using var snapshotting = market.Factory.WithWebHostBuilder(b => b.UseSetting("Virtuoso:SearchSnapshotSeconds", "1"));
        var buyer = await market.SharedBuyerAsync();
        var machine = await buyer.RegisterAsync(Busybox, storageBid: 30m, runningBid: 3m);
        var through = Session.WithToken(snapshotting.CreateClient(), buyer.Token);
        async Task<List<string>> HostsAsync() =>
            (await Session.Ok<List<SearchResult>>(await through.GetAsync($"/api/v1/machines/{machine.Id}/search?limit=1000"))).Select(r => r.Host).ToList();

        await HostsAsync(); // the first reading
        var added = await market.AddHostAsync();
        await Task.Delay(TimeSpan.FromSeconds(1.2)); // the first reading is old now

        Assert.DoesNotContain(added.Name, await HostsAsync()); // ranked while the next reading is made, not after
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await HostsAsync()).Contains(added.Name))
        {
            Assert.True(DateTime.UtcNow < deadline, "search never ranked a reading made after the host was added");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Search_Reasons_AreCodesWithASentenceEach()
    {
        var buyer = await market.SharedBuyerAsync();
        var host = await market.RoomyHostAsync(); // priced like beta (virt13)
        var machine = await buyer.RegisterAsync(Busybox, storageBid: 3m, runningBid: 0.3m);

        var beta = (await buyer.SearchAsync(machine.Id)).Single(r => r.Host == host.Name);

        Assert.Equal(["over-storage-bid", "over-running-bid"], beta.Reasons);
        Assert.Equal(["Your storage bid ($3/month) is below this host's price ($30/month).", "Your running bid ($0.3/hour) is below this host's price ($0.3744/hour)."],
            beta.Explanations!);
    }

    [Fact]
    public async Task Forfeit_OfAStoredMachine_IsItsPaidStorage_NothingMoreCharged_ThenDeleteChargesNothing()
    {
        var buyer = await market.SignupAsync(Roles.Buyer, "forfeit-buyer");
        var machine = await buyer.RegisterAsync(Busybox, storageBid: 30m, runningBid: 3m);
        var registered = await Session.Ok<ForfeitResponse>(await buyer.GetAsync($"/api/v1/machines/{machine.Id}/forfeit"));
        Assert.Equal(((string?)null, 0m, (DateTimeOffset?)null, 0m), (registered.Host, registered.Total, registered.StoragePaidUntil, registered.RunningSeconds));

        var host = await market.RoomyHostAsync(); // priced like beta (virt13)
        var before = DateTimeOffset.UtcNow;
        await buyer.StoreAsync(machine.Id, host.Name); // $30 for 30 days, seconds ago
        var f = await Session.Ok<ForfeitResponse>(await buyer.GetAsync($"/api/v1/machines/{machine.Id}/forfeit"));

        Assert.Equal((host.Name, 30.00m, 0m, 0m, 30.00m, 0m), (f.Host, f.Storage, f.RunningSeconds, f.Running, f.Total, f.ChargedNow));
        Assert.InRange(f.StoragePaidUntil!.Value, before.AddDays(30).AddSeconds(-1), DateTimeOffset.UtcNow.AddDays(30).AddSeconds(1));
        var balance = await buyer.BalanceAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await buyer.DeleteAsync($"/api/v1/machines/{machine.Id}")).StatusCode);
        Assert.Equal(balance, await buyer.BalanceAsync());
    }

    [Fact]
    public async Task Forfeit_OfSomeoneElsesMachine_IsNotFound()
    {
        var owner = await market.SharedBuyerAsync();
        var machine = await owner.RegisterAsync(Busybox, storageBid: 30m, runningBid: 3m);
        var intruder = await market.SignupAsync(Roles.Buyer, "forfeit-intruder");

        await Problem.AssertAsync(await intruder.GetAsync($"/api/v1/machines/{machine.Id}/forfeit"), 404, ErrorCodes.NotFound);
    }

    [Fact]
    public async Task Store_OverStorageBid_IsRefusedWithReason()
    {
        var buyer = await market.SharedBuyerAsync();
        var host = await market.RoomyHostAsync(); // priced like beta (virt13): 30 $/month for linux-busybox
        var machine = await buyer.RegisterAsync(Busybox, storageBid: 29.99m, runningBid: 3m);

        var problem = await RefusedStore(buyer, machine, host.Name, 409, ErrorCodes.OverBid);

        Assert.Contains("Your storage bid ($29.99/month) is below this host's price ($30/month).", Problem.Detail(problem)); // a sentence, not a code
    }

    [Fact]
    public async Task Store_OnOfflineHost_IsRefusedAsHostOffline()
    {
        var buyer = await market.SharedBuyerAsync();
        var dead = await market.AddHostAsync((name, agent) => HostSpecs.Virt13(name, agent) with { Port = Ports.Closed() });
        Assert.False(dead.Online);
        var machine = await buyer.RegisterAsync("Configuration1", 3m, 1m);

        await RefusedStore(buyer, machine, dead.Name, 409, ErrorCodes.HostOffline);

        Assert.Equal(new[] { "offline" }, (await buyer.SearchAsync(machine.Id)).Single(r => r.Host == dead.Name).Reasons);
    }

    [Fact]
    public async Task Store_OnUnknownHost_IsRefusedAsNotFound()
    {
        var buyer = await market.SharedBuyerAsync();
        var machine = await buyer.RegisterAsync("Configuration1", 3m, 1m);

        await RefusedStore(buyer, machine, "no-such-host", 404, ErrorCodes.NotFound);
    }

    [Fact]
    public async Task Store_CostingMoreThanTheBalance_IsRefusedAsInsufficientFunds()
    {
        var buyer = await market.SharedBuyerAsync();
        // 10 chunks × 100 $/day × 30 days = 30000 $, more than any opening credit.
        var dear = await market.AddHostAsync((name, agent) => HostSpecs.Virt13(name, agent) with { StoragePrice = 100m });
        var machine = await buyer.RegisterAsync(Busybox, storageBid: 1_000_000m, runningBid: 3m);

        await RefusedStore(buyer, machine, dear.Name, 402, ErrorCodes.InsufficientFunds);
    }

    /// <summary>Issue 18: an agent that refuses the host's secret fails the host's connection test, so the host is offline (with
    /// the reason for its provider) and a store there is refused before any agent call.</summary>
    [Fact]
    public async Task Store_WhenTheAgentRejectsTheHostSecret_IsRefusedAsOffline_AndChangesNothing()
    {
        var buyer = await market.SharedBuyerAsync();
        var impostor = await market.AddHostAsync((name, agent) => HostSpecs.Virt13(name, agent) with { Secret = "not-the-agents-secret" });
        Assert.Equal((false, ConnectionCodes.WrongSecret), (impostor.Online, impostor.LastFailure));
        var machine = await buyer.RegisterAsync("Configuration1", 3m, 1m);
        var creates = market.Spare.Creates.Count;

        await RefusedStore(buyer, machine, impostor.Name, 409, ErrorCodes.HostOffline);

        Assert.Equal(creates, market.Spare.Creates.Count);
    }

    [Fact]
    public async Task Store_WhenTheAgentCreateFails_ChangesNothing()
    {
        var buyer = await market.SharedBuyerAsync();
        var host = await market.AddHostAsync();
        var machine = await buyer.RegisterAsync("Configuration1", 3m, 1m);
        market.Spare.FailNext("create");

        await RefusedStore(buyer, machine, host.Name, 502, ErrorCodes.AgentFailed);

        var after = await market.Provider.HostAsync(host.Name);
        Assert.Equal((0L, 0L, 0L), (after.ReservedSpeed, after.ReservedMemory, after.ReservedStorage));
        Assert.Empty(after.Machines!);
        // And it was a passing failure: the same store then succeeds.
        Assert.Equal("stored", (await buyer.StoreAsync(machine.Id, host.Name)).State);
    }

    // ---- racing requests: the version guard lets exactly one win, and the agent keeps what the front-end records ----

    [Fact]
    public async Task Store_SameMachineTwiceAtOnceOnOneHost_StoresItOnceChargesOnceAndTheAgentKeepsIt()
    {
        var buyer = await market.SharedBuyerAsync();
        var host = await market.AddHostAsync();
        var machine = await buyer.RegisterAsync("Configuration1", 3m, 1m);
        var balance = await buyer.BalanceAsync();

        var responses = await WhileHeld("create", () => buyer.StoreRawAsync(machine.Id, host.Name), () => buyer.StoreRawAsync(machine.Id, host.Name));

        // Issue 13: the first holds the machine by its intent; the second is refused as busy before it reaches the agent.
        Assert.Equal(HttpStatusCode.OK, responses[0].StatusCode);
        await Problem.AssertAsync(responses[1], 409, ErrorCodes.Busy);
        Assert.Single(market.Spare.Calls, c => c == $"create {machine.Id:D}");
        var stored = await buyer.MachineAsync(machine.Id);
        Assert.Equal(("stored", 1L, host.Name), (stored.State, stored.Version, stored.Host));
        Assert.Equal(balance - 3m, await buyer.BalanceAsync());
        AgentAgrees(market.Spare, stored); // the loser's undo must not delete the winner's disk
    }

    [Fact]
    public async Task Store_TwoMachinesAtOnceForTheLastRoom_StoresAndChargesOnlyOne()
    {
        var buyer = await market.SharedBuyerAsync();
        var host = await market.AddHostAsync((name, agent) => HostSpecs.Virt13(name, agent) with { Speed = 4000 }); // room for one Configuration1
        var first = await buyer.RegisterAsync("Configuration1", 3m, 1m);
        var second = await buyer.RegisterAsync("Configuration1", 3m, 1m);
        var balance = await buyer.BalanceAsync();

        var responses = await WhileHeld("create", () => buyer.StoreRawAsync(first.Id, host.Name), () => buyer.StoreRawAsync(second.Id, host.Name));

        // The first store's intent holds the room from its claim: the second is refused before any copy is made.
        Assert.Equal(HttpStatusCode.OK, responses[0].StatusCode);
        await Problem.AssertAsync(responses[1], 409, ErrorCodes.NoRoom);
        var states = new[] { await buyer.MachineAsync(first.Id), await buyer.MachineAsync(second.Id) };
        var winner = Assert.Single(states, m => m.State == "stored");
        var loser = Assert.Single(states, m => m.State == "registered");
        Assert.Equal(balance - 3m, await buyer.BalanceAsync());
        AgentAgrees(market.Spare, winner);
        Assert.False(market.Spare.Machines.ContainsKey(loser.Id), "the loser's copy is removed from the agent");
        Assert.Equal(4000L, (await market.Provider.HostAsync(host.Name)).ReservedSpeed);
    }

    [Fact]
    public async Task Start_TwiceAtOnce_StartsOnceAndChargesOnePeriod()
    {
        var buyer = await market.SharedBuyerAsync();
        var (stored, _) = await buyer.StoredMachineAsync();
        var balance = await buyer.BalanceAsync();

        var responses = await WhileHeld("start", () => buyer.PostAsync($"/api/v1/machines/{stored.Id}/start"), () => buyer.PostAsync($"/api/v1/machines/{stored.Id}/start"));

        Assert.Equal(HttpStatusCode.OK, responses[0].StatusCode);
        await Problem.AssertAsync(responses[1], 409, ErrorCodes.Busy);
        Assert.Single(market.Spare.Calls, c => c == $"start {stored.Id:D}");
        var running = await buyer.MachineAsync(stored.Id);
        Assert.Equal(("running", 1L), (running.State, running.Version));
        Assert.Equal(balance - 0.2016m, await buyer.BalanceAsync());
        AgentAgrees(market.Spare, running);
    }

    /// <summary>
    /// Sends <paramref name="first"/> and holds its agent call; sends <paramref name="second"/> meanwhile and lets it finish;
    /// then lets the first go on. The answers, in that order.
    /// </summary>
    private async Task<HttpResponseMessage[]> WhileHeld(string operation, Func<Task<HttpResponseMessage>> first, Func<Task<HttpResponseMessage>> second)
    {
        market.Spare.Hold(operation);
        try
        {
            var one = first();
            await Until(() => market.Spare.Held(operation) == 1 || one.IsCompleted);
            var two = await second();
            market.Spare.Release(operation);
            return [await one, two];
        }
        finally
        {
            market.Spare.Release(operation);
        }
    }

    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(10);
        }
    }

    /// <summary>Store is refused with <paramref name="status"/> and <paramref name="code"/>; the machine, the balance and the agent are untouched.</summary>
    private async Task<System.Text.Json.JsonElement> RefusedStore(Session buyer, MachineResponse machine, string host, int status, string code)
    {
        var balance = await buyer.BalanceAsync();
        var agentMachines = AllAgents().Sum(a => a.Machines.Count);

        var problem = await Problem.AssertAsync(await buyer.StoreRawAsync(machine.Id, host), status, code);

        Snapshot.Same(machine, await buyer.MachineAsync(machine.Id));
        Assert.Equal(balance, await buyer.BalanceAsync());
        Assert.Equal(agentMachines, AllAgents().Sum(a => a.Machines.Count));
        Assert.All(AllAgents(), a => Assert.False(a.Machines.ContainsKey(machine.Id)));
        return problem;
    }

    // ---- the state table on the server (design §3.3): every refusal is the same and changes nothing ----

    [Fact]
    public async Task ActionsTheStateDoesNotAllow_AreRefusedAsInvalidStateAndChangeNothing()
    {
        var buyer = await market.SharedBuyerAsync();
        var host = await market.RoomyHostAsync();
        var machine = await buyer.RegisterAsync("Configuration1", 3m, 1m);
        var id = machine.Id;

        // registered: start, stop, suspend, resume, serial, console
        await Refused(buyer, id, ["start", "stop", "suspend", "resume", "serial", "console"]);
        await buyer.StoreAsync(id, host.Name);
        // stored: edit, store, search, stop, suspend, resume, console
        await Refused(buyer, id, ["edit", "store", "search", "stop", "suspend", "resume", "console"]);
        await buyer.ActAsync(id, "start");
        // running: edit, store, search, start, resume, delete
        await Refused(buyer, id, ["edit", "store", "search", "start", "resume", "delete"]);
        await buyer.ActAsync(id, "suspend");
        // suspended: start, stop, suspend, edit, store, search, console
        await Refused(buyer, id, ["start", "stop", "suspend", "edit", "store", "search", "console"]);
        await buyer.ActAsync(id, "resume");
        await buyer.ActAsync(id, "stop");
        // stopped: stop, suspend, resume, edit, store, search, console
        await Refused(buyer, id, ["stop", "suspend", "resume", "edit", "store", "search", "console"]);
    }

    private async Task Refused(Session buyer, Guid id, string[] actions)
    {
        var machine = await buyer.MachineAsync(id);
        var balance = await buyer.BalanceAsync();
        var calls = market.Spare.Calls.Count;
        var agentSide = market.Spare.Machines.GetValueOrDefault(id);
        foreach (var action in actions)
        {
            var response = await Call(buyer, action, id);
            var problem = await Problem.AssertAsync(response, 409, ErrorCodes.InvalidState);
            Assert.Contains(machine.State, Problem.Detail(problem));
            Assert.DoesNotContain(action, machine.Actions);
        }
        Snapshot.Same(machine, await buyer.MachineAsync(id));
        Assert.Equal(balance, await buyer.BalanceAsync());
        Assert.Equal(calls, market.Spare.Calls.Count); // refused before any agent was asked
        Assert.Equal(agentSide, market.Spare.Machines.GetValueOrDefault(id));
    }

    private Task<HttpResponseMessage> Call(Session buyer, string action, Guid id) => action switch
    {
        "edit" => buyer.PatchAsync($"/api/v1/machines/{id}", new EditMachineRequest("renamed", null, null, null, null, null, 5m, null)),
        "store" => buyer.StoreRawAsync(id, "beta"),
        "search" => buyer.GetAsync($"/api/v1/machines/{id}/search"),
        "serial" => buyer.GetAsync($"/api/v1/machines/{id}/serial"),
        "delete" => buyer.DeleteAsync($"/api/v1/machines/{id}"),
        "get" => buyer.GetAsync($"/api/v1/machines/{id}"),
        _ => buyer.PostAsync($"/api/v1/machines/{id}/{action}"),
    };

    [Fact]
    public async Task Machine_ListsExactlyTheActionsItsStateAllows()
    {
        var buyer = await market.SharedBuyerAsync();
        var registered = await buyer.RegisterAsync("Configuration1", 3m, 1m);
        Assert.Equal(new[] { "search", "edit", "store", "delete" }, registered.Actions);

        var (stored, _) = await buyer.StoredMachineAsync();
        Assert.Equal(new[] { "start", "delete", "migrate" }, stored.Actions);
        Assert.Equal(new[] { "stop", "suspend", "console" }, (await buyer.ActAsync(stored.Id, "start")).Actions);
        Assert.Equal(new[] { "resume", "delete", "migrate" }, (await buyer.ActAsync(stored.Id, "suspend")).Actions);
        await buyer.ActAsync(stored.Id, "resume");
        Assert.Equal(new[] { "start", "delete", "migrate" }, (await buyer.ActAsync(stored.Id, "stop")).Actions);
        Assert.Equal(new[] { "start", "delete", "migrate" }, (await buyer.MachinesAsync()).Single(m => m.Id == stored.Id).Actions);
    }

    // ---- ownership: another buyer's machine is as if it did not exist (§6.1.4) ----

    [Fact]
    public async Task AnotherBuyersMachine_AnswersExactlyLikeANonexistentOne()
    {
        var owner = await market.SharedBuyerAsync();
        var other = await market.SignupAsync(Roles.Buyer, "other-buyer");
        var registered = await owner.RegisterAsync("Configuration1", 3m, 1m);
        var (stored, _) = await owner.StoredMachineAsync();
        var running = await owner.ActAsync((await owner.StoredMachineAsync()).Machine.Id, "start");
        var machines = new[] { registered, stored, running };
        var balances = await market.BalancesAsync();
        var calls = market.Spare.Calls.Count;
        var nobody = Guid.NewGuid();

        foreach (var machine in machines)
            foreach (var action in new[] { "get", "edit", "search", "store", "start", "stop", "suspend", "resume", "serial", "delete" })
            {
                var theirs = await Problem.AssertAsync(await Call(other, action, machine.Id), 404, ErrorCodes.NotFound);
                var none = await Problem.AssertAsync(await Call(other, action, nobody), 404, ErrorCodes.NotFound);
                Assert.Equal(none.GetProperty("title").GetString(), theirs.GetProperty("title").GetString());
                Assert.Equal(Problem.Detail(none), Problem.Detail(theirs));
            }

        foreach (var machine in machines)
            Snapshot.Same(machine, await owner.MachineAsync(machine.Id));
        Assert.Empty(await other.MachinesAsync());
        Assert.Empty(await other.EventsAsync(stored.Id));
        Assert.Equal(balances, await market.BalancesAsync());
        Assert.Equal(calls, market.Spare.Calls.Count);
    }

    // ---- failed agent calls (§6.3.4): nothing changes ----

    [Theory]
    [InlineData("stop")]
    [InlineData("suspend")]
    public async Task StopOrSuspend_WhenTheAgentFails_LeavesTheMachineRunningAtTheSameVersion(string verb)
    {
        var buyer = await market.SharedBuyerAsync();
        var (stored, _) = await buyer.StoredMachineAsync();
        var running = await buyer.ActAsync(stored.Id, "start");
        var balance = await buyer.BalanceAsync();
        market.Spare.FailNext(verb);

        var problem = await Problem.AssertAsync(await buyer.PostAsync($"/api/v1/machines/{stored.Id}/{verb}"), 502, ErrorCodes.AgentFailed);

        Assert.Contains(market.Spare.Name, Problem.Detail(problem));
        Snapshot.Same(running, await buyer.MachineAsync(stored.Id));
        Assert.Equal((AgentStates.Running, 1L), (market.Spare.Machines[stored.Id].State, market.Spare.Machines[stored.Id].Version));
        Assert.Equal(balance, await buyer.BalanceAsync());
        Assert.Contains(await buyer.EventsAsync(stored.Id), e => e.Kind == "error" && e.Message.Contains(verb, StringComparison.Ordinal));
        // Versions still agree: the next attempt goes through, one version up on both sides.
        var paused = await buyer.ActAsync(stored.Id, verb);
        Assert.Equal(2L, paused.Version);
        AgentAgrees(market.Spare, paused);
    }

    [Fact]
    public async Task Start_WhenTheAgentFails_StaysStoredAndChargesNothing()
    {
        var buyer = await market.SharedBuyerAsync();
        var (stored, _) = await buyer.StoredMachineAsync();
        var balance = await buyer.BalanceAsync();
        market.Spare.FailNext("start");

        await Problem.AssertAsync(await buyer.PostAsync($"/api/v1/machines/{stored.Id}/start"), 502, ErrorCodes.AgentFailed);

        Snapshot.Same(stored, await buyer.MachineAsync(stored.Id));
        Assert.Equal(balance, await buyer.BalanceAsync());
        AgentAgrees(market.Spare, stored);
    }

    // ---- events, serial, delete ----

    [Fact]
    public async Task Store_ProducesAnEventForTheBuyerAndTheProvider()
    {
        var buyer = await market.SharedBuyerAsync();
        var host = await market.RoomyHostAsync();
        var machine = await buyer.RegisterAsync("Configuration1", 3m, 1m);
        Assert.DoesNotContain(await buyer.EventsAsync(machine.Id), e => e.Kind == "stored");

        await buyer.StoreAsync(machine.Id, host.Name);

        var stored = Assert.Single(await buyer.EventsAsync(machine.Id), e => e.Kind == "stored");
        Assert.Equal((machine.Id, buyer.Username), (stored.Machine, stored.Account));
        Assert.Contains(host.Name, stored.Message);
        Assert.Contains(await market.Provider.EventsAsync(machine.Id), e => e.Kind == "stored" && e.Message.Contains(host.Name, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Serial_OfAStoredMachine_IsTheAgentsConsoleLog()
    {
        var buyer = await market.SharedBuyerAsync();
        var (stored, _) = await buyer.StoredMachineAsync();
        await buyer.ActAsync(stored.Id, "start");

        var response = await buyer.GetAsync($"/api/v1/machines/{stored.Id}/serial");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(FakeAgent.SerialText, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Delete_StoredMachine_RemovesItFromTheAgentAndFreesTheRoom()
    {
        var buyer = await market.SharedBuyerAsync();
        var host = await market.AddHostAsync();
        var machine = await buyer.RegisterAsync("Configuration1", 3m, 1m);
        await buyer.StoreAsync(machine.Id, host.Name);
        Assert.Equal(100L, (await market.Provider.HostAsync(host.Name)).ReservedStorage);

        var response = await buyer.DeleteAsync($"/api/v1/machines/{machine.Id}");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        await Problem.AssertAsync(await buyer.GetAsync($"/api/v1/machines/{machine.Id}"), 404, ErrorCodes.NotFound);
        Assert.False(market.Spare.Machines.ContainsKey(machine.Id));
        Assert.Equal(0L, (await market.Provider.HostAsync(host.Name)).ReservedStorage);
    }

    private IEnumerable<FakeAgent> AllAgents() => [market.Alpha, market.Beta, market.Spare];

    /// <summary>§7.1.5: after every completed action the agent holds the same version, in the matching state.</summary>
    private static void AgentAgrees(FakeAgent agent, MachineResponse machine)
    {
        Assert.True(agent.Machines.TryGetValue(machine.Id, out var held), $"agent {agent.Name} does not hold {machine.Id}");
        var expected = machine.State switch
        {
            "stored" or "stopped" => AgentStates.Stopped,
            "running" => AgentStates.Running,
            "suspended" => AgentStates.Suspended,
            _ => throw new InvalidOperationException($"a {machine.State} machine is on no agent"),
        };
        Assert.Equal((expected, machine.Version), (held.State, held.Version));
    }
}
