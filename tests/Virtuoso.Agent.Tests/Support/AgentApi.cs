using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Tests.Support;

/// <summary>Calls of the agent's control API, as the front-end would make them.</summary>
internal static class AgentApi
{
    public static CreateMachineRequest Blank(Guid id, long version = 1, long memoryMb = 128, long diskMb = 100, string mac = "52:54:00:12:34:56") =>
        new(id, mac, 1000, memoryMb, diskMb, null, version);

    public static async Task<AgentMachine> CreateAsync(this HttpClient client, CreateMachineRequest request)
    {
        var response = await client.PutAsJsonAsync(AgentRoutes.Machine(request.Id), request);
        return await ReadAsync<AgentMachine>(response);
    }

    public static async Task<AgentMachine> CommandAsync(this HttpClient client, Guid id, string verb, long expected, long next)
    {
        var response = await client.PostAsJsonAsync(AgentRoutes.Command(id, verb), new MachineCommand(expected, next));
        return await ReadAsync<AgentMachine>(response);
    }

    public static async Task<AgentMachine> CommandAsync(this HttpClient client, Guid id, string verb, MachineCommand command) =>
        await ReadAsync<AgentMachine>(await client.PostAsJsonAsync(AgentRoutes.Command(id, verb), command));

    public static Task<HttpResponseMessage> PostCommandAsync(this HttpClient client, Guid id, string verb, long expected, long next) =>
        client.PostAsJsonAsync(AgentRoutes.Command(id, verb), new MachineCommand(expected, next));

    public static async Task<AgentMachine> GetMachineAsync(this HttpClient client, Guid id) =>
        await ReadAsync<AgentMachine>(await client.GetAsync(AgentRoutes.Machine(id)));

    public static async Task<T> GetFromJsonAsyncChecked<T>(this HttpClient client, string path) =>
        await ReadAsync<T>(await client.GetAsync(path));

    public static async Task<T> ReadAsync<T>(HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<T>())!;
    }

    /// <summary>Asserts a problem details answer with this status and stable code; returns its detail.</summary>
    public static async Task<string> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status} {code}, got {(int)response.StatusCode}: {body}");
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal(code, json.GetProperty("code").GetString());
        return json.GetProperty("detail").GetString() ?? "";
    }
}
