using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using System.Net;
using System.Net.Sockets;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Hosts;

/// <summary>ConnectionTestApiTests on SQLite, the default dialect.</summary>
public sealed class ConnectionTestApiTests(MarketFixture market) : ConnectionTestApiTests<MarketFixture>(market);

/// <summary>ConnectionTestApiTests on PostgreSQL, production's dialect.</summary>
public sealed class ConnectionTestApiPostgresTests(PostgresMarketFixture market) : ConnectionTestApiTests<PostgresMarketFixture>(market);

/// <summary>
/// Issue 18 through the API: POST /hosts/{name}/test says what failed (or OK with round trip and bogomips), the host keeps the
/// last failure and when it was last seen, the secret can be replaced, and the monitor runs the same test.
/// </summary>
public abstract class ConnectionTestApiTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private Task<HttpResponseMessage> TestAsync(string host, Session? as_ = null) => (as_ ?? market.Provider).PostAsync($"/api/v1/hosts/{host}/test");

    [Fact]
    public async Task Test_AnAgentThatAnswers_IsOk_WithRoundTripBogomipsAndVersion()
    {
        var test = await Session.Ok<HostTestResponse>(await TestAsync("alpha"));

        Assert.Equal((true, ConnectionCodes.Ok, 9600L, "fake-1.0"), (test.Ok, test.Code, test.Bogomips, test.AgentVersion));
        Assert.InRange(test.LatencyMs!.Value, 0, 5000);
        Assert.Contains("It measures 9600 bogomips", test.Message);
        var alpha = await market.Provider.HostAsync("alpha");
        Assert.Equal((true, 9600L, null as string), (alpha.Online, alpha.Bogomips, alpha.LastFailure));
        Assert.NotNull(alpha.LastSeen);
    }

    [Fact]
    public async Task WrongSecret_IsSaid_ThenReplacingTheSecretBringsTheHostOnline()
    {
        var name = MarketFixture.UniqueName("wrong-secret");
        var added = await market.Provider.AddHostAsync(HostSpecs.Virt13(name, market.Spare) with { Secret = "not-the-agents-secret-0123" });
        Assert.Equal((false, ConnectionCodes.WrongSecret, null as DateTimeOffset?), (added.Online, added.LastFailure, added.LastSeen));

        var test = await Session.Ok<HostTestResponse>(await TestAsync(name));
        Assert.Equal((false, ConnectionCodes.WrongSecret), (test.Ok, test.Code));
        Assert.StartsWith("Wrong secret: the agent at 127.0.0.1:", test.Message);

        var shortSecret = await market.Provider.PatchAsync($"/api/v1/hosts/{name}", new { secret = "short" });
        await Problem.AssertAsync(shortSecret, 400, ErrorCodes.Validation);
        Assert.Equal(ConnectionCodes.WrongSecret, (await Session.Ok<HostTestResponse>(await TestAsync(name))).Code);

        await Session.Ok<HostResponse>(await market.Provider.PatchAsync($"/api/v1/hosts/{name}", new { secret = market.Spare.Secret }));
        var fixedTest = await Session.Ok<HostTestResponse>(await TestAsync(name));
        Assert.Equal((true, ConnectionCodes.Ok), (fixedTest.Ok, fixedTest.Code));
        var host = await market.Provider.HostAsync(name);
        Assert.Equal((true, null as string, null as string, 9600L), (host.Online, host.LastFailure, host.LastFailureMessage, host.Bogomips));
        Assert.Null(host.Secret);
    }

    [Fact]
    public async Task NothingListening_IsConnectionRefused_AndTheHostWasNeverSeen()
    {
        var port = FreePort();
        var name = MarketFixture.UniqueName("refused");
        var added = await market.Provider.AddHostAsync(HostSpecs.Virt13(name, market.Spare) with { Port = port });

        var test = await Session.Ok<HostTestResponse>(await TestAsync(name));

        Assert.Equal((false, ConnectionCodes.Refused, null as long?, null as long?), (test.Ok, test.Code, test.LatencyMs, test.Bogomips));
        Assert.Equal($"Connection refused: nothing listens on 127.0.0.1:{port}. Is the agent running (systemctl status virtuoso-agent), started with --urls http://0.0.0.0:{port}?", test.Message);
        var host = await market.Provider.HostAsync(name);
        Assert.Equal((false, null as DateTimeOffset?, ConnectionCodes.Refused), (host.Online, host.LastSeen, host.LastFailure));
        Assert.NotNull(host.LastFailureAt);
        Assert.Equal(added.Name, host.Name);
    }

    [Fact]
    public async Task AnAgentOfAnotherProtocol_IsVersionMismatch()
    {
        await using var old = await FakeAgent.StartAsync("old");
        old.Protocol = null;
        var name = MarketFixture.UniqueName("old-agent");
        var added = await market.Provider.AddHostAsync(HostSpecs.Virt13(name, old));
        Assert.Equal((false, ConnectionCodes.VersionMismatch), (added.Online, added.LastFailure));

        var test = await Session.Ok<HostTestResponse>(await TestAsync(name));

        Assert.Equal((false, ConnectionCodes.VersionMismatch, "fake-1.0"), (test.Ok, test.Code, test.AgentVersion));
        Assert.Contains($"speaks control protocol none (it is older) (build fake-1.0), this marketplace speaks {AgentProtocol.Current}", test.Message);
        await market.Provider.DeleteAsync($"/api/v1/hosts/{name}");
    }

    [Fact]
    public async Task Monitor_RecordsTheLastFailedCheck_AndClearsItWhenTheAgentAnswersAgain()
    {
        await using var agent = await FakeAgent.StartAsync("flaky");
        var name = MarketFixture.UniqueName("flaky");
        Assert.True((await market.Provider.AddHostAsync(HostSpecs.Virt13(name, agent))).Online);

        agent.Down = true;
        var failed = await Eventually(() => market.Provider.HostAsync(name), h => h.LastFailure is not null);
        Assert.Equal(ConnectionCodes.Unreachable, failed.LastFailure);
        Assert.NotNull(failed.LastSeen);

        agent.Down = false;
        var back = await Eventually(() => market.Provider.HostAsync(name), h => h.LastFailure is null);
        Assert.Equal((true, null as string), (back.Online, back.LastFailureMessage));
        await market.Provider.DeleteAsync($"/api/v1/hosts/{name}");
    }

    [Fact]
    public async Task TestBeforeAdding_TestsWhatTheFormSays()
    {
        var ok = await Session.Ok<HostTestResponse>(await market.Provider.PostAsync("/api/v1/hosts/test", new TestAgentRequest("127.0.0.1", market.Spare.Port, market.Spare.Secret)));
        Assert.Equal((true, 9600L), (ok.Ok, ok.Bogomips));
        var wrong = await Session.Ok<HostTestResponse>(await market.Provider.PostAsync("/api/v1/hosts/test", new TestAgentRequest("127.0.0.1", market.Spare.Port, "not-the-agents-secret-0123")));
        Assert.Equal(ConnectionCodes.WrongSecret, wrong.Code);
    }

    [Theory]
    [InlineData("127.0.0.1", 0, "a-secret-of-twenty-chars")]
    [InlineData("127.0.0.1", 70000, "a-secret-of-twenty-chars")]
    [InlineData("127.0.0.1", 7001, "short")]
    [InlineData("has space", 7001, "a-secret-of-twenty-chars")]
    [InlineData("", 7001, "a-secret-of-twenty-chars")]
    public async Task TestBeforeAdding_BadInput_IsValidation(string address, int port, string secret) =>
        await Problem.AssertAsync(await market.Provider.PostAsync("/api/v1/hosts/test", new TestAgentRequest(address, port, secret)), 400, ErrorCodes.Validation);

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("169.254.169.254")]
    [InlineData("localhost")]
    public async Task TestBeforeAdding_AnInternalAddress_IsRefusedWithoutConnecting_UnlessTheOperatorAllowsIt(string address)
    {
        // Issue 20 (server-side request forgery): the test must not probe what adding the host would refuse (it answered 200 with what it found).
        await using var production = market.Factory.WithWebHostBuilder(b => b.UseSetting("Virtuoso:AllowPrivateHostAddresses", "false"));
        var provider = Session.WithToken(production.CreateClient(), market.Provider.Token);

        var refused = await Problem.AssertAsync(await provider.PostAsJsonAsync("/api/v1/hosts/test", new TestAgentRequest(address, market.Spare.Port, market.Spare.Secret)), 400, ErrorCodes.Validation);

        Assert.Contains("does not connect to", Problem.Detail(refused));
    }

    [Fact]
    public async Task Test_UnknownHost_OrAnotherProvidersHost_IsNotFound_AndABuyerIsRefused()
    {
        await Problem.AssertAsync(await TestAsync("no-such-host"), 404, ErrorCodes.NotFound);
        var other = await market.SignupAsync(Roles.Provider, "other-provider");
        var before = await market.CountAsync("SELECT COUNT(*) FROM hosts WHERE name = 'alpha' AND last_failure IS NOT NULL");
        await Problem.AssertAsync(await TestAsync("alpha", other), 404, ErrorCodes.NotFound);
        var buyer = await market.SharedBuyerAsync();
        await Problem.AssertAsync(await TestAsync("alpha", buyer), 403, ErrorCodes.WrongRole);
        await Problem.AssertAsync(await buyer.PostAsync("/api/v1/hosts/test", new TestAgentRequest("127.0.0.1", market.Spare.Port, market.Spare.Secret)), 403, ErrorCodes.WrongRole);
        Assert.Equal(before, await market.CountAsync("SELECT COUNT(*) FROM hosts WHERE name = 'alpha' AND last_failure IS NOT NULL"));
    }

    [Fact]
    public async Task Market_ShowsLastSeenAndBogomips_ButNoFailureDetails()
    {
        var name = MarketFixture.UniqueName("refused-public");
        await market.Provider.AddHostAsync(HostSpecs.Virt13(name, market.Spare) with { Port = FreePort() });

        var listed = (await Session.Ok<List<HostResponse>>(await market.Anonymous().GetAsync("/api/v1/market"))).Single(h => h.Name == name);

        Assert.Equal((false, null as string, null as string), (listed.Online, listed.LastFailure, listed.LastFailureMessage));
        Assert.NotNull((await Session.Ok<List<HostResponse>>(await market.Anonymous().GetAsync("/api/v1/market"))).Single(h => h.Name == "alpha").LastSeen);
        await market.Provider.DeleteAsync($"/api/v1/hosts/{name}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline) return value;
            await Task.Delay(50);
        }
    }
}
