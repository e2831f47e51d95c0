using Virtuoso.Cli.Tests.Support;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Tests.Events;

public sealed class EventCommandsTests : IAsyncLifetime
{
    private Harness h = null!;

    public async Task InitializeAsync() => h = (await Harness.StartAsync()).LogIn();

    public async Task DisposeAsync() => await h.DisposeAsync();

    private static EventResponse[] Events() =>
    [
        new(1, new DateTimeOffset(2026, 11, 21, 10, 0, 0, TimeSpan.Zero), "front-end", "stored", Samples.WebId, "alice", "web-1 stored on virt13"),
        new(2, new DateTimeOffset(2026, 11, 21, 10, 0, 5, TimeSpan.FromHours(1)), "virt13", "charge", null, "alice", "storage\ncharge $30"),
    ];

    [Fact]
    public async Task Events_All_AsATable()
    {
        h.Api.Json("GET /api/v1/events", Events());

        var lines = (await h.RunAsync("events")).Succeeded().Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(3, lines.Length);
        Assert.Contains("2026-11-21 10:00:00Z", lines[1]);
        Assert.Contains("3f2a1b4c", lines[1]);
        Assert.Contains("2026-11-21 09:00:05Z", lines[2]);
        Assert.EndsWith("storage charge $30", lines[2]);
        Assert.Equal("", Assert.Single(h.Api.Requests).Query);
    }

    [Fact]
    public async Task Events_ForAMachine_ResolvesItAndFilters()
    {
        h.Api.Json("GET /api/v1/machines", new[] { Samples.Machine() })
            .Json($"GET /api/v1/events?machine={Samples.WebId}", Events()[..1]);

        var run = (await h.RunAsync("events", "--machine", "web-1", "--json")).Succeeded();

        Assert.Equal($"?machine={Samples.WebId}", h.Api.Requests[1].Query);
        Assert.Equal(1, run.Json.GetArrayLength());
        Assert.Equal(Samples.WebId.ToString(), run.Json[0].GetProperty("machine").GetString());
    }

    [Fact]
    public async Task Events_None_SaysSo()
    {
        h.Api.Json("GET /api/v1/events", Array.Empty<object>());
        Assert.Equal("No events yet.\n", (await h.RunAsync("events")).Succeeded().Out);
    }

    [Fact]
    public async Task Events_ForTheOperator_AskForAllWithTheFilters_AndNameTheAgentsHost()
    {
        var agentEvent = new EventResponse(3, new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero), "agent", "failed", Samples.WebId, null, "qemu exited", "virt13");
        h.Api.Json($"GET /api/v1/events/all?host=virt13&machine={Samples.WebId}&kind=failed", new[] { agentEvent });

        var run = (await h.RunAsync("events", "--host", "virt13", "--machine", Samples.WebId.ToString(), "--kind", "failed")).Succeeded();

        Assert.Equal($"?host=virt13&machine={Samples.WebId}&kind=failed", Assert.Single(h.Api.Requests).Query);
        Assert.Contains("agent:virt13", run.Out);
        Assert.Contains("qemu exited", run.Out);
    }

    [Fact]
    public async Task Events_All_ForSomeoneElse_IsTheServersRefusal()
    {
        h.Api.Problem("GET /api/v1/events/all", 403, ErrorCodes.WrongRole, "Not allowed for this kind of account", "this action is not available to your kind of account");

        (await h.RunAsync("events", "--all")).Failed(1, ErrorCodes.WrongRole);
    }
}
