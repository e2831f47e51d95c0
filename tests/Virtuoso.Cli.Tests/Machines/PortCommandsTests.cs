using System.Text.Json;
using Virtuoso.Cli.Tests.Support;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Tests.Machines;

/// <summary>Forwarded ports in the CLI (issue 14 item 3): <c>machine ID</c> shows them, <c>ports ID</c> lists, adds and removes them.</summary>
public sealed class PortCommandsTests : IAsyncLifetime
{
    private Harness h = null!;

    public async Task InitializeAsync() => h = (await Harness.StartAsync()).LogIn();

    public async Task DisposeAsync() => await h.DisposeAsync();

    private static readonly string Id = Samples.WebId.ToString();

    private static MachineResponse Running(params int[] extra) =>
        Samples.Machine(host: "virt13", state: "running", version: 1, actions: ["stop", "suspend", "console"]) with
        {
            Ssh = new SshEndpoint("203.0.113.7", 40000),
            Ports = new Dictionary<string, string> { ["22"] = "203.0.113.7:40000", ["8080"] = "203.0.113.7:40001" },
            ExtraPorts = extra.Length == 0 ? [8080] : extra,
        };

    [Fact]
    public async Task Machine_Json_ShowsSshAndPorts()
    {
        h.Api.Json($"GET /api/v1/machines/{Id}", Running());

        var json = (await h.RunAsync("machine", Id, "--json")).Succeeded().Json;

        Assert.Equal("203.0.113.7", json.GetProperty("ssh").GetProperty("address").GetString());
        Assert.Equal(40000, json.GetProperty("ssh").GetProperty("port").GetInt32());
        Assert.Equal("203.0.113.7:40001", json.GetProperty("ports").GetProperty("8080").GetString());
    }

    [Fact]
    public async Task Machine_ShowsTheSshCommandToPaste_AndThePorts()
    {
        h.Api.Json($"GET /api/v1/machines/{Id}", Running());

        var output = (await h.RunAsync("machine", Id)).Succeeded().Out;

        Assert.Contains("ssh -p 40000 root@203.0.113.7", output);
        Assert.Contains("22 → 203.0.113.7:40000, 8080 → 203.0.113.7:40001", output);
    }

    [Fact]
    public async Task Machine_NotRunning_HasNoSshLine()
    {
        h.Api.Json($"GET /api/v1/machines/{Id}", Samples.Machine(host: "virt13", state: "stopped", version: 2));

        var run = (await h.RunAsync("machine", Id)).Succeeded();

        Assert.DoesNotContain("ssh", run.Out);
        Assert.Equal(JsonValueKind.Null, (await h.RunAsync("machine", Id, "--json")).Succeeded().Json.GetProperty("ssh").ValueKind);
    }

    [Fact]
    public async Task Ports_ListsTheForwards_AndHowToLogIn()
    {
        h.Api.Json($"GET /api/v1/machines/{Id}", Running());

        var output = (await h.RunAsync("ports", Id)).Succeeded().Out;

        Assert.Contains("GUEST PORT", output);
        Assert.Contains(output.Split('\n'), l => l.StartsWith("8080 ", StringComparison.Ordinal) && l.EndsWith(" 203.0.113.7:40001", StringComparison.Ordinal));
        Assert.Contains("Log in with: ssh -p 40000 root@203.0.113.7", output);
    }

    [Fact]
    public async Task Ports_Add_PostsThePort_AndSaysItAppliesAtTheNextStart()
    {
        h.Api.Json($"POST /api/v1/machines/{Id}/ports", Running(443, 8080));

        var output = (await h.RunAsync("ports", Id, "--add", "443")).Succeeded().Out;

        Assert.Equal(new PortRequest(443), Assert.Single(h.Api.Requests).BodyAs<PortRequest>());
        Assert.Contains("Guest ports 443 are forwarded from the next start or resume.", output);
    }

    [Fact]
    public async Task Ports_Remove_DeletesThePort()
    {
        h.Api.Json($"DELETE /api/v1/machines/{Id}/ports/8080", Samples.Machine(host: "virt13", state: "stopped", version: 2));

        var output = (await h.RunAsync("ports", Id, "--remove", "8080")).Succeeded().Out;

        Assert.Equal("DELETE", Assert.Single(h.Api.Requests).Method);
        Assert.Contains("its ports are forwarded only while it runs (SSH)", output);
    }

    [Theory]
    [InlineData("--add", "0")]
    [InlineData("--add", "65536")]
    [InlineData("--remove", "http")]
    public async Task Ports_BadPort_IsOneLineUsageError(string option, string value)
    {
        (await h.RunAsync("ports", Id, option, value)).Failed(2, "usage");
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task Ports_AddAndRemoveAtOnce_IsUsageError()
    {
        (await h.RunAsync("ports", Id, "--add", "80", "--remove", "81")).Failed(2, "usage");
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task Ports_TooMany_IsTheServersRefusal()
    {
        h.Api.Problem($"POST /api/v1/machines/{Id}/ports", 409, ErrorCodes.TooManyPorts, "Too many forwarded ports", "a machine may have at most 5 forwarded ports besides SSH");

        var line = (await h.RunAsync("ports", Id, "--add", "9000")).Failed(1, ErrorCodes.TooManyPorts);

        Assert.Contains("at most 5", line);
    }

    [Fact]
    public async Task Start_OnAnExhaustedHost_IsTheServersNoPortsRefusal()
    {
        h.Api.Problem($"POST /api/v1/machines/{Id}/start", 409, ErrorCodes.NoPorts, "No free port on the host", "host virt13 has no free port to forward to this machine");

        (await h.RunAsync("start", Id)).Failed(1, ErrorCodes.NoPorts);
    }
}
