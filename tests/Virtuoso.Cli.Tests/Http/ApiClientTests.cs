using Virtuoso.Cli.Http;
using Virtuoso.Cli.Tests.Support;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Tests.Http;

public sealed class ApiClientTests : IAsyncLifetime
{
    private FakeApi api = null!;

    public async Task InitializeAsync() => api = await FakeApi.StartAsync();

    public async Task DisposeAsync() => await api.DisposeAsync();

    private ApiClient Client(string? token = null, TimeSpan? timeout = null) =>
        new(new Uri(api.Url + "/"), token, timeout ?? TimeSpan.FromSeconds(10));

    [Fact]
    public async Task Send_PostsCamelCaseJson_AndReadsTheAnswer()
    {
        api.Json("POST /api/v1/machines/" + Samples.WebId + "/store", Samples.Machine(host: "virt13", state: "stored", version: 1));
        using var client = Client("tok");

        var result = await client.SendAsync<MachineResponse>(HttpMethod.Post, $"machines/{Samples.WebId}/store", new StoreRequest("virt13"), default);

        Assert.False(result.Failed(out _, out var machine));
        Assert.Equal("stored", machine.State);
        var request = Assert.Single(api.Requests);
        Assert.Equal("""{"host":"virt13"}""", request.Body);
        Assert.Equal("Bearer tok", request.Authorization);
    }

    [Fact]
    public async Task Problem_BecomesARefusal()
    {
        api.Problem("GET /api/v1/machines/x", 404, "not-found", "Not found", "machine not found");
        using var client = Client();

        Assert.True((await client.GetAsync<MachineResponse>("machines/x", default)).Failed(out var failure, out _));
        Assert.Equal(ExitCode.Refused, failure.Exit);
        Assert.Equal("error: machine not found (not-found)", failure.Line);
    }

    [Fact]
    public async Task NotJson_IsABadResponse()
    {
        api.Raw("GET /api/v1/machines", 200, "text/html", "<html>proxy login</html>");
        using var client = Client();

        Assert.True((await client.GetAsync<MachineResponse[]>("machines", default)).Failed(out var failure, out _));
        Assert.Equal(ExitCode.Refused, failure.Exit);
        Assert.Equal(Failure.BadResponseCode, failure.Code);
    }

    [Fact]
    public async Task EmptyBody_WhereOneIsDue_IsABadResponse()
    {
        api.Raw("GET /api/v1/account", 200, "application/json", "");
        using var client = Client();

        Assert.True((await client.GetAsync<AccountResponse>("account", default)).Failed(out var failure, out _));
        Assert.Equal(Failure.BadResponseCode, failure.Code);
    }

    [Fact]
    public async Task NoContent_IsFineForSendForAny()
    {
        api.NoContent("DELETE /api/v1/hosts/virt8");
        using var client = Client();

        Assert.False((await client.SendForAnyAsync(HttpMethod.Delete, "hosts/virt8", null, default)).Failed(out _, out var answer));
        Assert.Null(answer);
    }

    [Fact]
    public async Task Timeout_IsUnreachable_ButCallerCancellationIsNot()
    {
        api.Raw("GET /api/v1/market", 200, "application/json", "[]", TimeSpan.FromSeconds(30));
        using var client = Client(timeout: TimeSpan.FromMilliseconds(200));

        Assert.True((await client.GetAsync<HostResponse[]>("market", default)).Failed(out var failure, out _));
        Assert.Equal((ExitCode.Unreachable, Failure.TimeoutCode), (failure.Exit, failure.Code));

        using var slow = Client(timeout: TimeSpan.FromSeconds(30));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => slow.GetAsync<HostResponse[]>("market", cancel.Token));
    }
}
