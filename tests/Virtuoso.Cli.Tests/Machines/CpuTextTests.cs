using Virtuoso.Cli.Tests.Support;

namespace Virtuoso.Cli.Tests.Machines;

/// <summary>The CPU a machine bought and uses, in <c>machine ID</c> (issue 17).</summary>
public sealed class CpuTextTests : IAsyncLifetime
{
    private Harness h = null!;

    public async Task InitializeAsync() => h = (await Harness.StartAsync()).LogIn();

    public async Task DisposeAsync() => await h.DisposeAsync();

    private static readonly string Id = Samples.WebId.ToString();

    [Fact]
    public async Task Machine_Running_ShowsUseAgainstShare_AndJsonHasBoth()
    {
        h.Api.Json($"GET /api/v1/machines/{Id}", Samples.Machine(host: "alpha", state: "running", version: 1) with
        {
            CpuShare = 0.4m, Vcpus = 1, CpuUsed = 0.31m, MemoryUsedMb = 301,
        });

        Assert.Contains("0.31 of 0.4 cores, 1 vCPU; 301 MB memory in use", (await h.RunAsync("machine", Id)).Succeeded().Out);
        var json = (await h.RunAsync("machine", Id, "--json")).Succeeded().Json;
        Assert.Equal((0.4m, 0.31m), (json.GetProperty("cpuShare").GetDecimal(), json.GetProperty("cpuUsed").GetDecimal()));
    }

    [Fact]
    public async Task Machine_Stopped_ShowsTheShareOnly()
    {
        h.Api.Json($"GET /api/v1/machines/{Id}", Samples.Machine(host: "alpha", state: "stopped", version: 2) with { CpuShare = 2.4m, Vcpus = 3 });

        var output = (await h.RunAsync("machine", Id)).Succeeded().Out;
        Assert.Contains("2.4 cores, 3 vCPUs", output);
        Assert.DoesNotContain(" of 2.4", output);
    }
}
