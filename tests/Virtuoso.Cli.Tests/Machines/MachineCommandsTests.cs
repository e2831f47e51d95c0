using System.Text.Json;
using Virtuoso.Cli.Tests.Support;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Tests.Machines;

public sealed class MachineCommandsTests : IAsyncLifetime
{
    private Harness h = null!;

    public async Task InitializeAsync() => h = (await Harness.StartAsync()).LogIn();

    public async Task DisposeAsync() => await h.DisposeAsync();

    private static readonly string Id = Samples.WebId.ToString();

    // ---- configs

    [Fact]
    public async Task Configs_Table_ShowsImageAndMarketEstimate()
    {
        h.Api.Json("GET /api/v1/configurations", Samples.Configurations());
        var run = (await h.RunAsync("configs")).Succeeded();
        Assert.Contains("linux-busybox (min 128 MB memory, 1000 MB disk)", run.Out);
        Assert.Contains("30 $/month, 0.3744 $/hour", run.Out);
        Assert.Contains("blank", run.Out);
        Assert.Contains("no host has room yet", run.Out);
    }

    [Fact]
    public async Task Configs_Json_IsTheArray()
    {
        h.Api.Json("GET /api/v1/configurations", Samples.Configurations());
        var run = (await h.RunAsync("configs", "--json")).Succeeded();
        Assert.Equal(2, run.Json.GetArrayLength());
        Assert.Equal(0.3744m, run.Json[0].GetProperty("estimatedRunningRate").GetDecimal());
        Assert.Equal(JsonValueKind.Null, run.Json[1].GetProperty("image").ValueKind);
    }

    // ---- register

    [Fact]
    public async Task Register_FromAConfig_SendsBidsAndOverrides()
    {
        h.Api.Json("POST /api/v1/machines", Samples.Machine(), 201);

        var run = (await h.RunAsync("register", "--config", "linux-busybox", "--name", "web-1", "--memory", "512",
            "--storage-bid", "30", "--running-bid", "0.3744")).Succeeded();

        Assert.Equal(new RegisterRequest("linux-busybox", "web-1", null, null, 512, null, null, 30m, 0.3744m),
            Assert.Single(h.Api.Requests).BodyAs<RegisterRequest>());
        Assert.Contains($"Registered web-1 as {Id}", run.Out);
        Assert.Contains("virtuoso search 3f2a1b4c", run.Out);
    }

    [Fact]
    public async Task Register_Custom_SendsTheWholeSpec()
    {
        h.Api.Json("POST /api/v1/machines", Samples.Machine(), 201);

        (await h.RunAsync("register", "--name", "big", "--speed", "8000", "--memory", "2048", "--disk", "20000", "--os", "windows",
            "--processor", "x86", "--storage-bid", "12.5", "--running-bid", "2")).Succeeded();

        Assert.Equal(new RegisterRequest(null, "big", "x86", 8000, 2048, 20000, "windows", 12.5m, 2m),
            Assert.Single(h.Api.Requests).BodyAs<RegisterRequest>());
    }

    [Fact]
    public async Task Register_Json_PrintsTheMachineWithItsId()
    {
        h.Api.Json("POST /api/v1/machines", Samples.Machine(), 201);
        var run = (await h.RunAsync("register", "--config", "linux-busybox", "--storage-bid", "30", "--running-bid", "1", "--json")).Succeeded();
        Assert.Equal(Id, run.Json.GetProperty("id").GetString());
        Assert.Equal("registered", run.Json.GetProperty("state").GetString());
    }

    [Fact]
    public async Task Register_CustomWithoutEverySpecOption_IsUsageError()
    {
        var line = (await h.RunAsync("register", "--name", "big", "--speed", "8000", "--storage-bid", "1", "--running-bid", "1")).Failed(2, "usage");
        Assert.Contains("missing --memory, --disk, --os", line);
        Assert.Empty(h.Api.Requests);
    }

    [Theory]
    [InlineData("--speed", "abc")]
    [InlineData("--speed", "-5")]
    [InlineData("--memory", "0")]
    [InlineData("--disk", "1.5")]
    [InlineData("--disk", "1e3")]
    [InlineData("--storage-bid", "-1")]
    [InlineData("--running-bid", "1,5")]
    [InlineData("--running-bid", "ten")]
    [InlineData("--name", "")]
    public async Task Register_BadValue_IsOneLineUsageError(string option, string value)
    {
        var args = new Dictionary<string, string> { ["--config"] = "linux-busybox", ["--storage-bid"] = "30", ["--running-bid"] = "1" };
        args[option] = value;

        var line = (await h.RunAsync(["register", .. args.SelectMany(pair => new[] { pair.Key, pair.Value })])).Failed(2, "usage");

        Assert.Contains(option, line);
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task Register_WithoutBids_IsUsageError()
    {
        var line = (await h.RunAsync("register", "--config", "linux-busybox")).Failed(2, "usage");
        Assert.Contains("--storage-bid", line);
    }

    [Fact]
    public async Task Register_Refused_ShowsTheServersReason()
    {
        h.Api.Problem("POST /api/v1/machines", 400, ErrorCodes.BelowImageMinimum, "Bad Request", "linux-busybox needs at least 128 MB of memory");
        var line = (await h.RunAsync("register", "--config", "linux-busybox", "--memory", "64", "--storage-bid", "30", "--running-bid", "1"))
            .Failed(1, "below-image-minimum");
        Assert.Equal("error: linux-busybox needs at least 128 MB of memory (below-image-minimum)", line);
    }

    // ---- edit

    [Fact]
    public async Task Edit_SendsOnlyWhatWasGiven()
    {
        h.Api.Json($"PATCH /api/v1/machines/{Id}", Samples.Machine());

        var run = (await h.RunAsync("edit", Id, "--running-bid", "2.5", "--disk", "2000")).Succeeded();

        var body = Assert.Single(h.Api.Requests).BodyJson;
        Assert.Equal(2.5m, body.GetProperty("runningBid").GetDecimal());
        Assert.Equal(2000, body.GetProperty("disk").GetInt64());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("storageBid").ValueKind);
        Assert.Equal(JsonValueKind.Null, body.GetProperty("name").ValueKind);
        Assert.Contains("bids:", run.Out);
    }

    [Fact]
    public async Task Edit_Cdrom_SendsOnlyTheCdrom_AndTheMachineShowsIt()
    {
        h.Api.Json($"PATCH /api/v1/machines/{Id}", Samples.Machine() with { Cdrom = "debian-installer" });

        var run = (await h.RunAsync("edit", Id, "--cdrom", "debian-installer")).Succeeded();

        var body = Assert.Single(h.Api.Requests).BodyJson;
        Assert.Equal("debian-installer", body.GetProperty("cdrom").GetString());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("disk").ValueKind);
        Assert.Contains("cdrom:", run.Out);
        Assert.Matches(@"(?m)^cdrom:\s+debian-installer$", run.Out);
    }

    [Fact]
    public async Task Edit_CdromOnARunningMachine_IsTheServersOneLine()
    {
        h.Api.Problem($"PATCH /api/v1/machines/{Id}", 409, "invalid-state", "Not allowed in the machine's state",
            "the machine is running: stop it first, then attach or eject its CD (it takes effect at the next start)");

        var line = (await h.RunAsync("edit", Id, "--cdrom", "none")).Failed(1, "invalid-state");

        Assert.Contains("stop it first", line);
        Assert.Equal("none", Assert.Single(h.Api.Requests).BodyJson.GetProperty("cdrom").GetString());
    }

    [Fact]
    public async Task Machine_WithoutCdrom_ShowsNoCdromLine()
    {
        h.Api.Json($"PATCH /api/v1/machines/{Id}", Samples.Machine());
        Assert.DoesNotContain("cdrom:", (await h.RunAsync("edit", Id, "--name", "x")).Succeeded().Out);
    }

    [Fact]
    public async Task Edit_WithNothingToChange_IsUsageError()
    {
        (await h.RunAsync("edit", Id)).Failed(2, "usage");
        Assert.Empty(h.Api.Requests);
    }

    // ---- machines, machine

    [Fact]
    public async Task Machines_Json_HasIdNameStateVersionHost()
    {
        h.Api.Json("GET /api/v1/machines", new[] { Samples.Machine(host: "virt13", state: "stored", version: 1) });

        var run = (await h.RunAsync("machines", "--json")).Succeeded();

        var machine = Assert.Single(run.Json.EnumerateArray());
        Assert.Equal(Id, machine.GetProperty("id").GetString());
        Assert.Equal("web-1", machine.GetProperty("name").GetString());
        Assert.Equal("stored", machine.GetProperty("state").GetString());
        Assert.Equal(1, machine.GetProperty("version").GetInt64());
        Assert.Equal("virt13", machine.GetProperty("host").GetString());
    }

    [Fact]
    public async Task Machines_Json_DecimalsAreUnroundedNumbersWithoutTrailingZeros()
    {
        h.Api.Json("GET /api/v1/machines", new[] { Samples.Machine(host: "virt13", state: "stored", version: 1) });

        var run = (await h.RunAsync("machines", "--json")).Succeeded();

        Assert.Contains("\"runningPrice\": 0.3744,", run.Out);
        Assert.Contains("\"storagePrice\": 30,", run.Out);
        Assert.Equal(JsonValueKind.Number, run.Json[0].GetProperty("runningPrice").ValueKind);
    }

    [Fact]
    public async Task Machines_Table_ShowsStatesAndAllowedActions()
    {
        h.Api.Json("GET /api/v1/machines", new[]
        {
            Samples.Machine(),
            Samples.Machine(Samples.DbId, "db", "running", 2, "virt13", ["stop", "console", "suspend"]),
        });

        var lines = (await h.RunAsync("machines")).Succeeded().Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(3, lines.Length);
        Assert.StartsWith("ID ", lines[0]);
        Assert.EndsWith("ACTIONS", lines[0]);
        Assert.Contains("search, edit, store, delete", lines[1]);
        Assert.Contains("stop, console, suspend", lines[2]);
        Assert.Equal(lines[0].IndexOf("STATE", StringComparison.Ordinal), lines[2].IndexOf("running", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Machines_None_SaysHowToRegisterOne()
    {
        h.Api.Json("GET /api/v1/machines", Array.Empty<object>());
        var run = (await h.RunAsync("machines")).Succeeded();
        Assert.Equal("No machines yet. Register one with: virtuoso register --config linux-busybox --storage-bid 30 --running-bid 1\n", run.Out);
    }

    [Fact]
    public async Task Machines_None_Json_IsAnEmptyArray()
    {
        h.Api.Json("GET /api/v1/machines", Array.Empty<object>());
        Assert.Equal(0, (await h.RunAsync("machines", "--json")).Succeeded().Json.GetArrayLength());
    }

    [Fact]
    public async Task Machine_ByFullId_AsksForItDirectly()
    {
        h.Api.Json($"GET /api/v1/machines/{Id}", Samples.Machine(host: "virt13", state: "stored", version: 1));

        var run = (await h.RunAsync("machine", Id, "--json")).Succeeded();

        Assert.Equal($"/api/v1/machines/{Id}", Assert.Single(h.Api.Requests).Path);
        Assert.Equal(Id, run.Json.GetProperty("id").GetString());
        Assert.Equal("virt13", run.Json.GetProperty("host").GetString());
    }

    [Theory]
    [InlineData("web-1")]
    [InlineData("3f2a1b4c")]
    public async Task Machine_ByNameOrPrefix_ResolvesThroughTheList(string reference)
    {
        h.Api.Json("GET /api/v1/machines", new[] { Samples.Machine(), Samples.Machine(Samples.DbId, "db") })
            .Json($"GET /api/v1/machines/{Id}", Samples.Machine(host: "virt13", state: "stored", version: 1));

        var run = (await h.RunAsync("machine", reference)).Succeeded();

        Assert.Equal(["/api/v1/machines", $"/api/v1/machines/{Id}"], h.Api.Requests.Select(r => r.Path));
        Assert.Contains("state:    stored, version 1", run.Out);
        Assert.Contains("storage:  $30 per 30 days", run.Out);
        Assert.Contains("running:  $0.3744 per 3600 s", run.Out);
    }

    [Fact]
    public async Task Machine_Ambiguous_IsUsageError()
    {
        h.Api.Json("GET /api/v1/machines", new[] { Samples.Machine(), Samples.Machine(Samples.DbId, "web-1") });
        (await h.RunAsync("machine", "web-1")).Failed(2, "ambiguous");
    }

    [Fact]
    public async Task Machine_Unknown_IsNotFound()
    {
        h.Api.Json("GET /api/v1/machines", new[] { Samples.Machine() });
        (await h.RunAsync("machine", "nope")).Failed(1, "not-found");
    }

    [Fact]
    public async Task Machine_UnknownFullId_IsTheServersNotFound()
    {
        h.Api.Problem($"GET /api/v1/machines/{Id}", 404, ErrorCodes.NotFound, "Not Found", "machine not found");
        var line = (await h.RunAsync("machine", Id)).Failed(1, "not-found");
        Assert.Equal("error: machine not found (not-found)", line);
    }

    // ---- search

    [Fact]
    public async Task Search_Json_IsTheResultsWithHostAndRates()
    {
        h.Api.Json($"GET /api/v1/machines/{Id}/search", Samples.Search());

        var run = (await h.RunAsync("search", Id, "--json")).Succeeded();

        Assert.Equal(3, run.Json.GetArrayLength());
        Assert.Equal("virt13", run.Json[0].GetProperty("host").GetString());
        Assert.Equal(30m, run.Json[0].GetProperty("storageRate").GetDecimal());
        Assert.Equal(0.3744m, run.Json[0].GetProperty("runningRate").GetDecimal());
        Assert.Contains("\"runningRate\": 2.448,", run.Out);
        Assert.Equal("running-rate-over-bid", run.Json[1].GetProperty("reasons")[0].GetString());
        Assert.Equal(303.312m, run.Json[0].GetProperty("monthlyTotal").GetDecimal());
        Assert.Equal(730m, run.Json[0].GetProperty("hours").GetDecimal());
    }

    [Fact]
    public async Task Search_Hours_AreSentToTheServer_AndTheTotalsShownCheapestFirst()
    {
        h.Api.Json($"GET /api/v1/machines/{Id}/search?hours=12.5", Samples.Search());

        var output = (await h.RunAsync("search", Id, "--hours", "12.5")).Succeeded().Out;

        Assert.Equal("?hours=12.5", h.Api.Requests.Single(r => r.Path.EndsWith("/search", StringComparison.Ordinal)).Query);
        Assert.Contains("A MONTH", output);
        Assert.Contains("cheapest first for 730 hours a month", output); // the hours the server says it assumed
        Assert.Contains("$303.312", output);
        // The others, cheapest a month first: virt17 ($4.47168) above virt8 ($1790.04), whatever order they came in.
        var others = output[output.IndexOf("Hosts that do not match", StringComparison.Ordinal)..];
        Assert.True(others.IndexOf("virt17", StringComparison.Ordinal) < others.IndexOf("virt8", StringComparison.Ordinal), others);
    }

    [Fact]
    public async Task Search_Limit_IsSentWithTheHours()
    {
        h.Api.Json($"GET /api/v1/machines/{Id}/search?hours=5&limit=2", Samples.Search());

        (await h.RunAsync("search", Id, "--hours", "5", "--limit", "2")).Succeeded();

        Assert.Equal("?hours=5&limit=2", h.Api.Requests.Single(r => r.Path.EndsWith("/search", StringComparison.Ordinal)).Query);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    [InlineData("many")]
    public async Task Search_BadLimit_IsAUsageErrorOnOneLine_NothingSent(string limit)
    {
        var line = (await h.RunAsync("search", Id, "--limit", limit)).Failed(2, "usage");

        Assert.Contains("--limit", line);
        Assert.DoesNotContain(h.Api.Requests, r => r.Path.EndsWith("/search", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("745")]
    [InlineData("lots")]
    [InlineData("1e2")]
    public async Task Search_BadHours_IsAUsageErrorOnOneLine_NothingSent(string hours)
    {
        var line = (await h.RunAsync("search", Id, "--hours", hours)).Failed(2, "usage");

        Assert.Contains("--hours", line);
        Assert.DoesNotContain(h.Api.Requests, r => r.Path.EndsWith("/search", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Search_Human_ShowsMatchingRates_ThenTheOthersWithReasons()
    {
        h.Api.Json($"GET /api/v1/machines/{Id}/search", Samples.Search());

        var output = (await h.RunAsync("search", Id)).Succeeded().Out;

        var matching = output.IndexOf("Matching hosts", StringComparison.Ordinal);
        var others = output.IndexOf("Hosts that do not match", StringComparison.Ordinal);
        Assert.True(matching >= 0 && others > matching, output);
        Assert.Contains("30 $/month, 0.3744 $/hour", output[matching..others]);
        Assert.Contains($"virtuoso store {Id} --host virt13", output);
        Assert.Contains("3 $/month, 2.448 $/hour", output[others..]);
        Assert.Contains("running-rate-over-bid", output[others..]);
        Assert.Contains("offline, not-enough-memory", output[others..]);
    }

    [Fact]
    public async Task Search_Human_SaysWhyNotInTheFrontEndsSentences_WhenItGivesThem()
    {
        const string said = "Your running bid ($1/hour) is below this host's price ($2.448/hour).";
        h.Api.Json($"GET /api/v1/machines/{Id}/search", Samples.Search().Select(r => r.Matches ? r : r with { Explanations = [said] }).ToArray());

        var output = (await h.RunAsync("search", Id)).Succeeded().Out;

        var others = output[output.IndexOf("Hosts that do not match", StringComparison.Ordinal)..];
        Assert.Contains(said, others);
        Assert.DoesNotContain("running-rate-over-bid", others);
    }

    [Fact]
    public async Task Search_NoMatch_SuggestsRaisingTheBids()
    {
        h.Api.Json($"GET /api/v1/machines/{Id}/search", Samples.Search().Where(r => !r.Matches).ToArray());
        var output = (await h.RunAsync("search", Id)).Succeeded().Out;
        Assert.StartsWith("No host matches this machine. Raise its bids with: virtuoso edit", output);
        Assert.Contains("virt8", output);
    }

    [Fact]
    public async Task Search_EmptyMarket_SaysSo()
    {
        h.Api.Json($"GET /api/v1/machines/{Id}/search", Array.Empty<object>());
        Assert.Equal("No hosts on the market yet.\n", (await h.RunAsync("search", Id)).Succeeded().Out);
    }

    // ---- store and the life cycle

    [Fact]
    public async Task Store_PostsTheHost_AndShowsTheFixedPrices()
    {
        h.Api.Json("GET /api/v1/machines", new[] { Samples.Machine() })
            .Json($"POST /api/v1/machines/{Id}/store", Samples.Machine(host: "virt13", state: "stored", version: 1));

        var run = (await h.RunAsync("store", "web-1", "--host", "virt13")).Succeeded();

        Assert.Equal(new StoreRequest("virt13"), h.Api.Requests[1].BodyAs<StoreRequest>());
        Assert.Contains("Stored web-1 (3f2a1b4c) on virt13, version 1: storage $30 per 30 days, running $0.3744 per 3600 s.", run.Out);
    }

    [Fact]
    public async Task Store_WithoutHost_IsUsageError()
    {
        (await h.RunAsync("store", Id)).Failed(2, "usage");
    }

    [Fact]
    public async Task Store_OverBid_IsTheServersRefusal()
    {
        h.Api.Problem($"POST /api/v1/machines/{Id}/store", 409, ErrorCodes.OverBid, "Conflict", "virt8 asks 2.448 $/hour, over your bid of 1 $/hour");
        (await h.RunAsync("store", Id, "--host", "virt8")).Failed(1, "over-bid");
    }

    [Theory]
    [InlineData("start", "running")]
    [InlineData("stop", "stopped")]
    [InlineData("suspend", "suspended")]
    [InlineData("resume", "running")]
    public async Task LifeCycle_PostsTheVerb_WithoutBody(string verb, string state)
    {
        h.Api.Json($"POST /api/v1/machines/{Id}/{verb}", Samples.Machine(state: state, version: 2, host: "virt13", actions: ["x", "y"]));

        var run = (await h.RunAsync(verb, Id)).Succeeded();

        var request = Assert.Single(h.Api.Requests);
        Assert.Equal(("POST", ""), (request.Method, request.Body));
        Assert.Equal($"web-1 (3f2a1b4c) is {state}, version 2. Next: x, y.\n", run.Out);
    }

    [Fact]
    public async Task LifeCycle_Json_PrintsTheMachine()
    {
        h.Api.Json($"POST /api/v1/machines/{Id}/start", Samples.Machine(state: "running", version: 1, host: "virt13"));
        var run = (await h.RunAsync("start", Id, "--json")).Succeeded();
        Assert.Equal("running", run.Json.GetProperty("state").GetString());
    }

    [Fact]
    public async Task Start_InsufficientFunds_IsOneLineRefusal()
    {
        h.Api.Problem($"POST /api/v1/machines/{Id}/start", 402, ErrorCodes.NegativeBalance, "Payment Required", "your balance is -$3");
        Assert.Equal("error: your balance is -$3 (negative-balance)", (await h.RunAsync("start", Id)).Failed(1, "negative-balance"));
    }

    [Fact]
    public async Task Delete_Answers204_AndJsonPrintsEmptyObject()
    {
        h.Api.NoContent($"DELETE /api/v1/machines/{Id}");
        h.Api.Json($"GET /api/v1/machines/{Id}/forfeit", Samples.Forfeit(host: null));
        Assert.Equal($"Deleted machine {Id}.\n", (await h.RunAsync("delete", Id)).Succeeded().Out);
        Assert.Equal(0m, (await h.RunAsync("delete", Id, "--json")).Succeeded().Json.GetProperty("total").GetDecimal());
        Assert.Equal(["GET", "DELETE", "GET", "DELETE"], h.Api.Requests.Select(r => r.Method));
    }

    [Fact]
    public async Task Delete_StoredMachine_SaysWhatWasGivenUp_InOneLine()
    {
        h.Api.NoContent($"DELETE /api/v1/machines/{Id}");
        h.Api.Json($"GET /api/v1/machines/{Id}/forfeit", Samples.Forfeit());

        var run = (await h.RunAsync("delete", Id)).Succeeded();

        Assert.Equal($"Deleted machine {Id}: gave up $27.4 of storage already paid (until 2026-12-20) and 52m 0s of prepaid running time (worth $0.32); nothing more was charged.\n", run.Out);
    }

    [Fact]
    public async Task Delete_Refused_IsTheServersProblem_AfterReadingTheForfeit()
    {
        h.Api.Json($"GET /api/v1/machines/{Id}/forfeit", Samples.Forfeit());
        h.Api.Problem($"DELETE /api/v1/machines/{Id}", 409, ErrorCodes.InvalidState, "Not allowed in the machine's state", "a running machine cannot be deleted: stop it first");

        var line = (await h.RunAsync("delete", Id)).Failed(1, ErrorCodes.InvalidState);

        Assert.Contains("stop it first", line);
        Assert.DoesNotContain("gave up", line);
    }

    // ---- serial

    [Fact]
    public async Task Serial_PrintsTheLogAsIs()
    {
        h.Api.Text($"GET /api/v1/machines/{Id}/serial", "Linux version 6.1\n/ # ");
        Assert.Equal("Linux version 6.1\n/ # ", (await h.RunAsync("serial", Id)).Succeeded().Out);
    }

    [Fact]
    public async Task Serial_Json_WrapsTheLog()
    {
        h.Api.Text($"GET /api/v1/machines/{Id}/serial", "boot <ok> & \"done\"\n");
        var run = (await h.RunAsync("serial", Id, "--json")).Succeeded();
        Assert.Equal(Id, run.Json.GetProperty("id").GetString());
        Assert.Equal("boot <ok> & \"done\"\n", run.Json.GetProperty("serial").GetString());
    }

    // ---- console

    [Fact]
    public async Task Console_OfARunningMachine_PrintsItsConsolePage()
    {
        h.Api.Json($"GET /api/v1/machines/{Id}", Samples.Machine(state: "running", version: 1, host: "virt13", actions: ["stop", "suspend", "console"]));
        var run = (await h.RunAsync("console", Id)).Succeeded();
        Assert.Equal($"{h.Api.Url.TrimEnd('/')}/machines/{Id}/console\n", run.Out);
        var json = (await h.RunAsync("console", Id, "--json")).Succeeded().Json;
        Assert.Equal($"{h.Api.Url.TrimEnd('/')}/machines/{Id}/console", json.GetProperty("url").GetString());
    }

    [Fact]
    public async Task Console_OfAStoppedMachine_IsRefusedInOneLine()
    {
        h.Api.Json($"GET /api/v1/machines/{Id}", Samples.Machine(state: "stopped", version: 2, host: "virt13", actions: ["start", "delete"]));
        var line = (await h.RunAsync("console", Id)).Failed(1, ErrorCodes.InvalidState);
        Assert.Contains("stopped", line);
    }
}
