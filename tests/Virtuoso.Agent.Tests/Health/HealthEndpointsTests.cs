using System.Net.Http.Json;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Tests.Health;

public sealed class HealthEndpointsTests : IDisposable
{
    private readonly TestDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Health_TellsHostAcceleratorAndMachineCount_WithTheSecret()
    {
        await using var agent = new AgentFactory(_dir.Path, new FakeVmm(), new Dictionary<string, string?> { ["name"] = "virt13" });
        await agent.CreateAuthenticatedClient().CreateAsync(AgentApi.Blank(Guid.NewGuid()));
        await agent.CreateAuthenticatedClient().CreateAsync(AgentApi.Blank(Guid.NewGuid()));

        var health = await agent.CreateAuthenticatedClient().GetFromJsonAsync<AgentHealth>(AgentRoutes.Health);

        Assert.Equal(new AgentHealth("virt13", "tcg", 2, Status: AgentHealth.Ok), health! with { VmmpPort = null, Methods = null, Protocol = null, Version = null, Bogomips = null });
        Assert.True(health.VmmpPort > 0);
        Assert.Contains("SCP", health.Methods!);
    }

    [Fact]
    public async Task Health_TellsProtocolVersionAndTheBogomipsOfItsCores()
    {
        await using var agent = new AgentFactory(_dir.Path, new FakeVmm(), new Dictionary<string, string?> { ["cores"] = "1" });

        var health = await agent.CreateAuthenticatedClient().GetFromJsonAsync<AgentHealth>(AgentRoutes.Health);

        Assert.Equal(AgentProtocol.Current, health!.Protocol);
        Assert.False(string.IsNullOrEmpty(health.Version));
        Assert.Equal(Virtuoso.Agent.Health.Bogomips.Parse(File.ReadAllText("/proc/cpuinfo"), 1), health.Bogomips);
        Assert.True(health.Bogomips > 0);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer not-the-secret")]
    [InlineData("Basic dGVzdC1zZWNyZXQ=")]
    public async Task Health_ToAStranger_TellsOnlyStatusAndProtocol_NotTheMachineCount(string? authorization)
    {
        await using var agent = new AgentFactory(_dir.Path, new FakeVmm(), new Dictionary<string, string?> { ["name"] = "virt13" });
        await agent.CreateAuthenticatedClient().CreateAsync(AgentApi.Blank(Guid.NewGuid()));
        var client = agent.CreateClient();
        if (authorization is not null)
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);

        var body = await client.GetStringAsync(AgentRoutes.Health);

        // Issue 20: anyone could read how many machines a host has, its name, build and methods; now only liveness.
        using var json = System.Text.Json.JsonDocument.Parse(body);
        Assert.Equal(["protocol", "status"], json.RootElement.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(AgentHealth.Ok, json.RootElement.GetProperty("status").GetString());
        Assert.Equal(AgentProtocol.Current, json.RootElement.GetProperty("protocol").GetInt32());
    }

    [Fact]
    public async Task Health_ForcedKvm_IsReportedWithoutProbing()
    {
        await using var agent = new AgentFactory(_dir.Path, new FakeVmm(), new Dictionary<string, string?> { ["accelerator"] = "kvm" });

        var health = await agent.CreateAuthenticatedClient().GetFromJsonAsync<AgentHealth>(AgentRoutes.Health);

        Assert.Equal("kvm", health!.Accelerator);
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "probe")));
    }
}
