using System.Net;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.Agent.Tests.Telemetry;

/// <summary>Runs alone: the meter is looked up by name, so another agent of this process running meanwhile could add to the counters.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "agent-metrics";
}

/// <summary>The agent's <c>/metrics</c> (issue 19 point 3) on a fake VMM: behind the host secret, counters before and after, gauges.</summary>
[Collection(MetricsCollection.Name)]
public sealed class MetricsTests : IAsyncLifetime
{
    private const string Actions = "virtuoso_agent_machine_actions_total";
    private readonly TestDirectory _dir = new();
    private readonly FakeVmm _vmm = new();
    private AgentFactory _agent = null!;
    private HttpClient _client = null!;

    public Task InitializeAsync()
    {
        _agent = new AgentFactory(_dir.Sub("data"), _vmm);
        _client = _agent.CreateAuthenticatedClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Metrics_WithoutTheHostSecret_AreRefused()
    {
        await AgentApi.AssertProblemAsync(await _agent.CreateClient().GetAsync("/metrics"), HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
    }

    [Fact]
    public async Task Commands_MoveTheActionCounters_ByActionAndOutcome_AndTheGaugesFollowTheMachines()
    {
        var before = await PrometheusText.ScrapeAsync(_client);
        Assert.Equal(0, before.Sum("virtuoso_agent_qemu_processes"));

        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id));
        await _client.CommandAsync(id, "start", 1, 1);
        var stale = await _client.PostCommandAsync(id, "stop", 7, 8); // a version this host does not hold
        await AgentApi.AssertProblemAsync(stale, HttpStatusCode.Conflict, ErrorCodes.VersionMismatch);
        var after = await PrometheusText.ScrapeAsync(_client);

        double Moved(params (string, string)[] labels) => after.Sum(Actions, labels) - before.Sum(Actions, labels);
        Assert.Equal(1, Moved(("action", "create"), ("outcome", "ok")));
        Assert.Equal(1, Moved(("action", "start"), ("outcome", "ok")));
        Assert.Equal(1, Moved(("action", "stop"), ("outcome", ErrorCodes.VersionMismatch)));
        Assert.Equal(0, Moved(("action", "stop"), ("outcome", "ok")));
        Assert.Equal(1, after.Sum("virtuoso_agent_qemu_processes"));
        Assert.Equal(1, after.Sum("virtuoso_agent_machines"));
        var drive = new DriveInfo(_agent.DataDirectory);
        Assert.Equal(drive.TotalSize, after.Sum("virtuoso_agent_disk_size_bytes"));
        var free = after.Sum("virtuoso_agent_disk_free_bytes");
        Assert.InRange(free, 1, drive.TotalSize);
        Assert.Equal(1, after.Sum("http_server_request_duration_seconds_count", ("http_route", "/v1/machines/{id}"), ("http_request_method", "PUT"))
            - before.Sum("http_server_request_duration_seconds_count", ("http_route", "/v1/machines/{id}"), ("http_request_method", "PUT")));
    }
}
