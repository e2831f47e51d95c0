using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Agent.Tests.Security;

public sealed class SecretAuthenticationTests : IAsyncLifetime
{
    private static readonly Guid Id = Guid.Parse("0b7d2c1e-4f2a-4c55-9d1e-0123456789ab");
    private readonly TestDirectory _dir = new();
    private readonly FakeVmm _vmm = new();
    private AgentFactory _agent = null!;
    private HttpClient _owner = null!;

    public async Task InitializeAsync()
    {
        _agent = new AgentFactory(_dir.Path, _vmm);
        _owner = _agent.CreateAuthenticatedClient();
        await _owner.CreateAsync(AgentApi.Blank(Id, version: 3));
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _dir.Dispose();
    }

    public static TheoryData<string, string> Calls() => new()
    {
        { "GET", AgentRoutes.Machines },
        { "GET", AgentRoutes.Machine(Id) },
        { "PUT", AgentRoutes.Machine(Guid.NewGuid()) },
        { "POST", AgentRoutes.Command(Id, "start") },
        { "POST", AgentRoutes.Command(Id, "stop") },
        { "POST", AgentRoutes.Command(Id, "suspend") },
        { "POST", AgentRoutes.Command(Id, "resume") },
        { "DELETE", AgentRoutes.Machine(Id) },
        { "GET", AgentRoutes.Serial(Id) },
        { "GET", "/v1/no-such-route" },
        { "POST", AgentRoutes.Health },
    };

    [Theory]
    [MemberData(nameof(Calls))]
    public async Task Call_WithoutSecret_Is401AndChangesNothing(string method, string path)
    {
        var client = _agent.CreateClient();

        var response = await client.SendAsync(Request(method, path));

        await AgentApi.AssertProblemAsync(response, HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        await AssertUnchangedAsync();
    }

    [Theory]
    [InlineData("Bearer wrong-secret")]
    [InlineData("Bearer " + AgentFactory.Secret + "x")]
    [InlineData("Bearer test-secret")]
    [InlineData("Basic " + AgentFactory.Secret)]
    [InlineData(AgentFactory.Secret)]
    [InlineData("Bearer")]
    public async Task Call_WithWrongCredentials_Is401AndChangesNothing(string authorization)
    {
        var client = _agent.CreateClient();
        var request = Request("POST", AgentRoutes.Command(Id, "start"));
        request.Headers.TryAddWithoutValidation("Authorization", authorization);

        var response = await client.SendAsync(request);

        await AgentApi.AssertProblemAsync(response, HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
        await AssertUnchangedAsync();
    }

    [Fact]
    public async Task Health_NeedsNoSecret_ButTellsTheRestOnlyWithIt()
    {
        var stranger = await _agent.CreateClient().GetFromJsonAsync<AgentHealth>(AgentRoutes.Health);
        var known = await _agent.CreateAuthenticatedClient().GetFromJsonAsync<AgentHealth>(AgentRoutes.Health);

        Assert.Equal(new AgentHealth(null, null, null, Protocol: AgentProtocol.Current, Status: AgentHealth.Ok), stranger);
        Assert.Equal(new AgentHealth("test-host", "tcg", 1, Status: AgentHealth.Ok), known! with { VmmpPort = null, Methods = null, Protocol = null, Version = null, Bogomips = null });
    }

    [Fact]
    public async Task Call_WithTheSecret_IsServed()
    {
        var client = _agent.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AgentFactory.Secret);

        var machines = await client.GetFromJsonAsync<AgentMachine[]>(AgentRoutes.Machines);

        Assert.Equal(Id, Assert.Single(machines!).Id);
    }

    private static HttpRequestMessage Request(string method, string path) => new(new HttpMethod(method), path)
    {
        Content = method is "PUT" or "POST" ? JsonContent.Create(new MachineCommand(3, 3)) : null,
    };

    private async Task AssertUnchangedAsync()
    {
        var machines = await _owner.GetFromJsonAsync<AgentMachine[]>(AgentRoutes.Machines);
        var machine = Assert.Single(machines!);
        Assert.Equal((Id, AgentStates.Stopped, 3L), (machine.Id, machine.State, machine.Version));
        Assert.Equal(["create"], _vmm.Calls);
    }
}
