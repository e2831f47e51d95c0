using System.Text.Json;
using Virtuoso.Cli.Tests.Support;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Tests.Hosts;

public sealed class HostCommandsTests : IAsyncLifetime
{
    private Harness h = null!;

    public async Task InitializeAsync() => h = (await Harness.StartAsync()).LogIn("paul", "provider");

    public async Task DisposeAsync() => await h.DisposeAsync();

    private static readonly string[] AddVirt8 =
    [
        "host", "add", "virt8", "--address", "10.0.0.8", "--port", "7070", "--processor", "x86",
        "--speed", "16000", "--speed-unit", "1000", "--speed-price", "0.00001",
        "--memory", "4096", "--memory-unit", "4", "--memory-price", "0.00001", "--running-period", "3600",
        "--storage", "100000", "--storage-unit", "100", "--storage-price", "0.01", "--storage-period", "30",
        "--connect-speed", "1 Gbit/s",
    ];

    [Fact]
    public async Task Add_PostsEveryField_AndShowsTheSecretOnce()
    {
        h.Api.Json("POST /api/v1/hosts", Samples.Host("virt8", secret: "s3cr3t"), 201);

        var run = (await h.RunAsync(AddVirt8)).Succeeded();

        Assert.Equal(
            new AddHostRequest("virt8", "10.0.0.8", 7070, "x86", 16000, 1000, 0.00001m, 4096, 4, 0.00001m, 3600, 100000, 100, 0.01m, 30, "1 Gbit/s", null),
            Assert.Single(h.Api.Requests).BodyAs<AddHostRequest>());
        Assert.Contains("Added host virt8", run.Out);
        Assert.Contains("s3cr3t", run.Out);
    }

    private static readonly HostJoin Join = new("vj_token", new DateTimeOffset(2026, 12, 7, 15, 0, 0, TimeSpan.Zero),
        "curl -fsSL http://market.example/install/agent.sh | bash -s -- --join vj_token");

    [Fact]
    public async Task Add_WithoutSecret_PrintsTheInstallCommand()
    {
        h.Api.Json("POST /api/v1/hosts", Samples.Host("virt8") with { Join = Join }, 201);

        var run = (await h.RunAsync(AddVirt8)).Succeeded();

        Assert.Null(h.Api.Requests[0].BodyAs<AddHostRequest>().Secret);
        Assert.Contains("\n  curl -fsSL http://market.example/install/agent.sh | bash -s -- --join vj_token\n", run.Out.ReplaceLineEndings("\n"));
        Assert.Contains("before 2026-12-07 15:00:00Z", run.Out);
        Assert.Contains("virtuoso host join virt8", run.Out);
    }

    [Fact]
    public async Task Hosts_SaysWhichAreWaitingForTheirAgent()
    {
        h.Api.Json("GET /api/v1/hosts", new[] { Samples.Host("virt8") with { LastSeen = null, JoinPendingUntil = Join.ExpiresAt } });
        var run = (await h.RunAsync("hosts")).Succeeded();
        Assert.Contains("virt8 is waiting for its agent to join: run the install command on it (it works until 2026-12-07 15:00:00Z; a new one: virtuoso host join virt8).", run.Out);
    }

    [Fact]
    public async Task Join_PostsAndPrintsTheNewCommand_AndAnUnknownHostIsOneLine()
    {
        h.Api.Json("POST /api/v1/hosts/virt8/join", Samples.Host("virt8") with { Join = Join });
        var run = (await h.RunAsync("host", "join", "virt8")).Succeeded();
        Assert.Contains("--join vj_token", run.Out);

        h.Api.Problem("POST /api/v1/hosts/nope/join", 404, ErrorCodes.NotFound, "Not found", "host 'nope' not found");
        Assert.Equal("error: host 'nope' not found (not-found)", (await h.RunAsync("host", "join", "nope")).Failed(1, ErrorCodes.NotFound));
    }

    [Fact]
    public async Task Add_WithSecret_SendsIt_AndJsonPrintsTheHost()
    {
        h.Api.Json("POST /api/v1/hosts", Samples.Host("virt8"), 201);

        var run = (await h.RunAsync([.. AddVirt8, "--secret", "mine", "--json"])).Succeeded();

        Assert.Equal("mine", h.Api.Requests[0].BodyAs<AddHostRequest>().Secret);
        Assert.Equal("virt8", run.Json.GetProperty("name").GetString());
        Assert.Equal(0.00001m, run.Json.GetProperty("speedPrice").GetDecimal());
    }

    [Theory]
    [InlineData("--port", "70000")]
    [InlineData("--port", "0")]
    [InlineData("--speed", "-16000")]
    [InlineData("--memory-unit", "four")]
    [InlineData("--storage-price", "-0.01")]
    [InlineData("--running-period", "1.5")]
    public async Task Add_BadValue_IsOneLineUsageError(string option, string value)
    {
        var args = AddVirt8.ToArray();
        args[Array.IndexOf(args, option) + 1] = value;

        var line = (await h.RunAsync(args)).Failed(2, "usage");

        Assert.Contains(option, line);
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task Add_MissingOption_IsUsageError()
    {
        var args = AddVirt8.Where((_, i) => i < AddVirt8.Length - 2).ToArray();
        var line = (await h.RunAsync(args)).Failed(2, "usage");
        Assert.Contains("--connect-speed", line);
        Assert.Contains("virtuoso host add --help", line);
    }

    [Fact]
    public async Task Edit_Secret_SendsOnlyIt()
    {
        h.Api.Json("PATCH /api/v1/hosts/virt8", Samples.Host("virt8"));

        (await h.RunAsync("host", "edit", "virt8", "--secret", "the-agents-new-secret-0123")).Succeeded();

        Assert.Equal(new EditHostRequest(null, null, null, null, null, null, null, null, null, null, null, null, null, "the-agents-new-secret-0123"),
            Assert.Single(h.Api.Requests).BodyAs<EditHostRequest>());
    }

    [Fact]
    public async Task Test_Ok_SaysTheRoundTripAndBogomips()
    {
        h.Api.Json("POST /api/v1/hosts/virt8/test", new HostTestResponse(true, ConnectionCodes.Ok,
            "The agent virt8 at 10.0.0.8:7070 answered in 3 ms and accepted the secret. It measures 8800 bogomips.", 3, 8800, "1.0.0+abc"));

        var run = (await h.RunAsync("host", "test", "virt8")).Succeeded();

        Assert.Equal("OK: The agent virt8 at 10.0.0.8:7070 answered in 3 ms and accepted the secret. It measures 8800 bogomips. (agent 1.0.0+abc)", run.Out.Trim());
    }

    [Fact]
    public async Task Test_Failed_IsOneLineWithTheReasonAndItsCode_Exit1()
    {
        h.Api.Json("POST /api/v1/hosts/virt8/test", new HostTestResponse(false, ConnectionCodes.WrongSecret,
            "Wrong secret: the agent at 10.0.0.8:7070 refused the secret stored for this host.", 2, 8800, "1.0.0+abc"));

        var line = (await h.RunAsync("host", "test", "virt8")).Failed(1, ConnectionCodes.WrongSecret);

        Assert.Contains("Wrong secret: the agent at 10.0.0.8:7070", line);
    }

    [Fact]
    public async Task Test_UnknownHost_IsTheServersNotFound()
    {
        h.Api.Problem("POST /api/v1/hosts/nope/test", 404, ErrorCodes.NotFound, "Not found", "host 'nope' not found");
        (await h.RunAsync("host", "test", "nope")).Failed(1, ErrorCodes.NotFound);
    }

    [Fact]
    public async Task Add_Offline_SaysWhy()
    {
        h.Api.Json("POST /api/v1/hosts", Samples.Host("virt8") with { Online = false, LastFailure = ConnectionCodes.Refused,
            LastFailureMessage = "Connection refused: nothing listens on 10.0.0.8:7070." }, 201);

        var run = (await h.RunAsync(AddVirt8)).Succeeded();

        Assert.Contains("Offline: Connection refused: nothing listens on 10.0.0.8:7070.", run.Out);
    }

    [Fact]
    public async Task Add_TakenName_IsTheServersRefusal()
    {
        h.Api.Problem("POST /api/v1/hosts", 409, ErrorCodes.HostNameTaken, "Conflict", "a host named virt8 exists");
        (await h.RunAsync(AddVirt8)).Failed(1, "host-name-taken");
    }

    [Fact]
    public async Task Add_WithPublicAddressAndPorts_SendsThem_AndSaysWhereBuyersReachGuests()
    {
        h.Api.Json("POST /api/v1/hosts", Samples.Host("virt8") with { PublicAddress = "203.0.113.8", Ports = "41000-41999" }, 201);

        var run = (await h.RunAsync([.. AddVirt8, "--public-address", "203.0.113.8", "--ports", "41000-41999"])).Succeeded();

        var sent = Assert.Single(h.Api.Requests).BodyAs<AddHostRequest>();
        Assert.Equal(("203.0.113.8", "41000-41999"), (sent.PublicAddress, sent.Ports));
        Assert.Contains("buyers reach its guests at 203.0.113.8, ports 41000-41999", run.Out);
    }

    [Fact]
    public async Task Edit_PortsOnly_SendsThem_AndABadRangeIsTheServersOneLineRefusal()
    {
        h.Api.Json("PATCH /api/v1/hosts/virt8", Samples.Host("virt8") with { Ports = "42000-42009" });
        var run = (await h.RunAsync("host", "edit", "virt8", "--ports", "42000-42009")).Succeeded();
        Assert.Equal(new EditHostRequest(null, null, null, null, null, null, null, null, null, null, null, null, "42000-42009"), h.Api.Requests[0].BodyAs<EditHostRequest>());
        Assert.Contains("42000-42009 on 127.0.0.1", run.Out);

        h.Api.Problem("PATCH /api/v1/hosts/virt8", 400, ErrorCodes.Validation, "Invalid input", "ports must lie between 1024 and 65535, not 80-90");
        var line = (await h.RunAsync("host", "edit", "virt8", "--ports", "80-90")).Failed(1, ErrorCodes.Validation);
        Assert.Contains("between 1024 and 65535", line);
    }

    [Fact]
    public async Task Edit_SendsOnlyTheGivenFields()
    {
        h.Api.Json("PATCH /api/v1/hosts/virt8", Samples.Host("virt8"));

        var run = (await h.RunAsync("host", "edit", "virt8", "--memory-price", "0.000001", "--port", "7071", "--connect-speed", "10 Gbit/s")).Succeeded();

        Assert.Equal(new EditHostRequest(null, null, null, 0.000001m, null, null, null, null, null, 7071, "10 Gbit/s"),
            Assert.Single(h.Api.Requests).BodyAs<EditHostRequest>());
        Assert.Contains("host:", run.Out);
        Assert.Contains("$0.000001/s per 4 MB", run.Out);
    }

    [Fact]
    public async Task Edit_EveryEditableOption_IsAccepted()
    {
        h.Api.Json("PATCH /api/v1/hosts/virt8", Samples.Host("virt8"));

        (await h.RunAsync("host", "edit", "virt8", "--speed-unit", "500", "--speed-price", "0.1", "--memory-unit", "8", "--memory-price", "0.2",
            "--running-period", "60", "--storage-unit", "50", "--storage-price", "0.3", "--storage-period", "7", "--address", "h.example",
            "--port", "1", "--connect-speed", "x")).Succeeded();

        Assert.Equal(new EditHostRequest(500, 0.1m, 8, 0.2m, 60, 50, 0.3m, 7, "h.example", 1, "x"), h.Api.Requests[0].BodyAs<EditHostRequest>());
    }

    [Theory]
    [InlineData]
    [InlineData("--speed", "1000")]
    public async Task Edit_NothingEditable_IsUsageError(params string[] options)
    {
        (await h.RunAsync(["host", "edit", "virt8", .. options])).Failed(2, "usage");
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task Edit_NameIsEscapedInThePath()
    {
        h.Api.Json("PATCH /api/v1/hosts/my host", Samples.Host("my host")).Json("PATCH /api/v1/hosts/a%2Fb", Samples.Host("a/b"));
        (await h.RunAsync("host", "edit", "my host", "--port", "1")).Succeeded();
        (await h.RunAsync("host", "edit", "a/b", "--port", "1")).Succeeded();
        Assert.Equal(["/api/v1/hosts/my host", "/api/v1/hosts/a%2Fb"], h.Api.Requests.Select(r => r.Path));
    }

    [Fact]
    public async Task Delete_Answers204()
    {
        h.Api.NoContent("DELETE /api/v1/hosts/virt8");
        Assert.Equal("Deleted host virt8.\n", (await h.RunAsync("host", "delete", "virt8")).Succeeded().Out);
        Assert.Equal("{}\n", (await h.RunAsync("host", "delete", "virt8", "--json")).Succeeded().Out);
    }

    [Fact]
    public async Task Delete_WithMachines_IsTheServersRefusal()
    {
        h.Api.Problem("DELETE /api/v1/hosts/virt8", 409, ErrorCodes.Conflict, "Conflict", "virt8 still holds 1 machine");
        Assert.Equal("error: virt8 still holds 1 machine (conflict)", (await h.RunAsync("host", "delete", "virt8")).Failed(1, "conflict"));
    }

    [Fact]
    public async Task Hosts_ShowsPricesCapacityAndMachines()
    {
        h.Api.Json("GET /api/v1/hosts", new[] { Samples.Host(machines: [Samples.HostMachine()]), Samples.Host("virt8", machines: []) });

        var output = (await h.RunAsync("hosts")).Succeeded().Out;

        Assert.Contains("12000/16000 bogomips", output);
        Assert.Contains("$0.00001/s per 1000 bogomips", output);
        Assert.Contains("$0.1/day per 100 MB", output);
        Assert.Contains("Machines on virt13:", output);
        Assert.Contains(Samples.WebId.ToString(), output);
        Assert.Contains("No machines on virt8 yet.", output);
    }

    [Fact]
    public async Task Hosts_Json_IncludesMachines()
    {
        h.Api.Json("GET /api/v1/hosts", new[] { Samples.Host(machines: [Samples.HostMachine()]) });
        var run = (await h.RunAsync("hosts", "--json")).Succeeded();
        Assert.Equal("web-1", run.Json[0].GetProperty("machines")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task Hosts_None_SaysHowToAddOne()
    {
        h.Api.Json("GET /api/v1/hosts", Array.Empty<object>());
        Assert.StartsWith("No hosts yet. Add one with: virtuoso host add", (await h.RunAsync("hosts")).Succeeded().Out);
    }

    [Fact]
    public async Task Market_Json_HasNameAddressPort()
    {
        h.Api.Json("GET /api/v1/market", new[] { Samples.Host(), Samples.Host("virt8") });

        var run = (await h.RunAsync("market", "--json")).Succeeded();

        Assert.Equal(2, run.Json.GetArrayLength());
        Assert.Equal("virt13", run.Json[0].GetProperty("name").GetString());
        Assert.Equal("10.0.0.13", run.Json[0].GetProperty("address").GetString());
        Assert.Equal(7070, run.Json[0].GetProperty("port").GetInt32());
        Assert.Equal(JsonValueKind.Null, run.Json[0].GetProperty("machines").ValueKind);
    }

    [Fact]
    public async Task Market_Table_HasOwnerAndOnline()
    {
        h.Api.Json("GET /api/v1/market", new[] { Samples.Host() with { Online = false } });
        var lines = (await h.RunAsync("market")).Succeeded().Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("NAME    OWNER  ADDRESS    PORT  PROCESSOR  ONLINE", lines[0]);
        Assert.StartsWith("virt13  paul   10.0.0.13  7070  x86        no", lines[1]);
    }

    [Fact]
    public async Task Market_Empty_SaysSo()
    {
        h.Api.Json("GET /api/v1/market", Array.Empty<object>());
        Assert.Equal("No hosts on the market yet.\n", (await h.RunAsync("market")).Succeeded().Out);
    }
}
