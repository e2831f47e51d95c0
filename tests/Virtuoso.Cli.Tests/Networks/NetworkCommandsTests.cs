using System.Text.Json;
using Virtuoso.Cli.Tests.Support;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Tests.Networks;

/// <summary>virtuoso networks, network create, network delete, register/edit --network and a machine's network line (issue 16) against the fake API.</summary>
public sealed class NetworkCommandsTests : IAsyncLifetime
{
    private static readonly DateTimeOffset At = new(2026, 12, 6, 4, 0, 0, TimeSpan.Zero);
    private static readonly string Id = Samples.WebId.ToString();

    private Harness h = null!;

    public async Task InitializeAsync() => h = (await Harness.StartAsync()).LogIn();

    public async Task DisposeAsync() => await h.DisposeAsync();

    [Fact]
    public async Task Networks_ListsNameSubnetAndMachines()
    {
        h.Api.Json("GET /api/v1/networks", new[]
        {
            new NetworkResponse("default", "10.128.0.0/24", ["web-1", "db-1"], At),
            new NetworkResponse("lab", "192.168.7.0/29", [], At),
        });

        var lines = (await h.RunAsync("networks")).Succeeded().Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(["NAME", "SUBNET", "MACHINES"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["default", "10.128.0.0/24", "web-1,", "db-1"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["lab", "192.168.7.0/29", "-"], lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Networks_Json_IsTheArray()
    {
        h.Api.Json("GET /api/v1/networks", new[] { new NetworkResponse("default", "10.128.0.0/24", ["web-1"], At) });

        var json = (await h.RunAsync("networks", "--json")).Succeeded().Json;

        Assert.Equal(JsonValueKind.Array, json.ValueKind);
        Assert.Equal("10.128.0.0/24", json[0].GetProperty("subnet").GetString());
        Assert.Equal("web-1", json[0].GetProperty("machines")[0].GetString());
    }

    [Fact]
    public async Task Networks_None_SaysHowToCreateOne()
    {
        h.Api.Json("GET /api/v1/networks", Array.Empty<NetworkResponse>());
        Assert.Contains("No private networks yet. Create one with: virtuoso network create NAME", (await h.RunAsync("networks")).Succeeded().Out);
    }

    [Fact]
    public async Task Create_SendsNameAndSubnet_AndSaysHowToAttach()
    {
        h.Api.Json("POST /api/v1/networks", new NetworkResponse("lab", "192.168.7.0/24", [], At), 201);

        var run = (await h.RunAsync("network", "create", "lab", "--subnet", "192.168.7.0/24")).Succeeded();

        var body = Assert.Single(h.Api.Requests).BodyJson;
        Assert.Equal(("lab", "192.168.7.0/24"), (body.GetProperty("name").GetString(), body.GetProperty("subnet").GetString()));
        Assert.Contains("Created network lab (192.168.7.0/24).", run.Out);
        Assert.Contains("virtuoso edit ID --network lab", run.Out);
    }

    [Fact]
    public async Task Create_WithoutSubnet_LeavesItToTheServer()
    {
        h.Api.Json("POST /api/v1/networks", new NetworkResponse("lab", "10.128.0.0/24", [], At), 201);

        (await h.RunAsync("network", "create", "lab")).Succeeded();

        Assert.Equal(JsonValueKind.Null, Assert.Single(h.Api.Requests).BodyJson.GetProperty("subnet").ValueKind);
    }

    [Fact]
    public async Task Create_BadSubnet_IsTheServersOneLine()
    {
        h.Api.Problem("POST /api/v1/networks", 400, ErrorCodes.InvalidSubnet, "Not an acceptable subnet",
            "10.0.0.0/16 overlaps 10.0.2.0/24, the user-mode network every guest already has on its first NIC: choose another subnet");

        var line = (await h.RunAsync("network", "create", "lab", "--subnet", "10.0.0.0/16")).Failed(1, ErrorCodes.InvalidSubnet);

        Assert.Equal("error: 10.0.0.0/16 overlaps 10.0.2.0/24, the user-mode network every guest already has on its first NIC: choose another subnet (invalid-subnet)", line);
    }

    [Fact]
    public async Task Delete_SaysSo_AndInUseIsTheServersLine()
    {
        h.Api.NoContent("DELETE /api/v1/networks/lab");
        Assert.Equal("Deleted network lab.\n", (await h.RunAsync("network", "delete", "lab")).Succeeded().Out);

        h.Api.Problem("DELETE /api/v1/networks/lab", 409, ErrorCodes.NetworkInUse, "Network in use", "network lab has machine web-1 attached: move it first");
        Assert.Contains("has machine web-1 attached", (await h.RunAsync("network", "delete", "lab")).Failed(1, ErrorCodes.NetworkInUse));
    }

    [Fact]
    public async Task Register_WithNetwork_SendsIt_AndSaysTheAddress()
    {
        h.Api.Json("POST /api/v1/machines", Samples.Machine() with { Network = "lab", PrivateAddress = "192.168.7.2" }, 201);

        var run = (await h.RunAsync("register", "--config", "linux-busybox", "--storage-bid", "30", "--running-bid", "1", "--network", "lab")).Succeeded();

        Assert.Equal("lab", Assert.Single(h.Api.Requests).BodyJson.GetProperty("network").GetString());
        Assert.Contains("On network lab (192.168.7.2).", run.Out);
    }

    [Fact]
    public async Task Register_WithoutNetwork_SendsNull()
    {
        h.Api.Json("POST /api/v1/machines", Samples.Machine(), 201);
        (await h.RunAsync("register", "--config", "linux-busybox", "--storage-bid", "30", "--running-bid", "1")).Succeeded();
        Assert.Equal(JsonValueKind.Null, Assert.Single(h.Api.Requests).BodyJson.GetProperty("network").ValueKind);
    }

    [Fact]
    public async Task Edit_Network_SendsOnlyIt_AndShowsTheNewPlace()
    {
        h.Api.Json($"PATCH /api/v1/machines/{Id}", Samples.Machine() with { Network = "lab", PrivateAddress = "192.168.7.3" });

        var run = (await h.RunAsync("edit", Id, "--network", "lab")).Succeeded();

        var body = Assert.Single(h.Api.Requests).BodyJson;
        Assert.Equal("lab", body.GetProperty("network").GetString());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("name").ValueKind);
        Assert.Matches(@"(?m)^network:\s+lab \(192\.168\.7\.3\)$", run.Out);
    }

    [Fact]
    public async Task Edit_NetworkOfARunningMachine_IsTheServersOneLine()
    {
        h.Api.Problem($"PATCH /api/v1/machines/{Id}", 409, ErrorCodes.InvalidState, "Not allowed in the machine's state",
            "the machine is running: stop it first, then change its network");

        Assert.Contains("stop it first", (await h.RunAsync("edit", Id, "--network", "lab")).Failed(1, ErrorCodes.InvalidState));
    }

    [Fact]
    public async Task Machine_ShowsNetworkAndAddress_InTextAndJson()
    {
        h.Api.Json($"GET /api/v1/machines/{Id}", Samples.Machine(host: "virt13", state: "stored", version: 1) with { Network = "default", PrivateAddress = "10.128.0.5" });

        Assert.Matches(@"(?m)^network:\s+default \(10\.128\.0\.5\)$", (await h.RunAsync("machine", Id)).Succeeded().Out);
        var json = (await h.RunAsync("machine", Id, "--json")).Succeeded().Json;
        Assert.Equal(("default", "10.128.0.5"), (json.GetProperty("network").GetString(), json.GetProperty("privateAddress").GetString()));
    }

    [Fact]
    public async Task Machine_WithoutNetwork_ShowsNoNetworkLine()
    {
        h.Api.Json($"GET /api/v1/machines/{Id}", Samples.Machine());
        Assert.DoesNotContain("network:", (await h.RunAsync("machine", Id)).Succeeded().Out);
    }
}
