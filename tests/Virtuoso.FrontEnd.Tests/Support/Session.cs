using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Virtuoso.Contracts.Api;

namespace Virtuoso.FrontEnd.Tests.Support;

/// <summary>A logged-in user of the API: an HTTP client carrying the bearer token, with helpers that assert success.</summary>
internal sealed class Session(HttpClient http, string username, string password, string token, MarketFixture? market)
{
    public HttpClient Http { get; } = http;
    public string Username { get; } = username;
    public string Password { get; } = password;
    /// <summary>The bearer token the client carries.</summary>
    public string Token { get; } = token;

    /// <summary>
    /// Signs up <paramref name="username"/> (one slow password hash) and logs in (another) through clients of one
    /// front-end; the session's client carries the bearer token. <paramref name="market"/> serves <see cref="StoredMachineAsync"/>.
    /// </summary>
    public static async Task<Session> SignupAsync(Func<HttpClient> client, string username, string type, MarketFixture? market = null)
    {
        var password = username + "-password";
        var http = client();
        var signup = await http.PostAsJsonAsync("/api/v1/accounts", new SignupRequest(username, password, $"{username}@example.org", type));
        Assert.Equal(HttpStatusCode.Created, signup.StatusCode);
        var session = await Ok<SessionResponse>(await http.PostAsJsonAsync("/api/v1/sessions", new LoginRequest(username, password)));
        return new Session(WithToken(client(), session.Token), username, password, session.Token, market);
    }

    /// <summary><paramref name="http"/>, carrying <paramref name="token"/> from now on.</summary>
    public static HttpClient WithToken(HttpClient http, string token)
    {
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    // ---- raw calls, for tests that look at refusals ----

    public Task<HttpResponseMessage> GetAsync(string path) => Http.GetAsync(path);
    public Task<HttpResponseMessage> DeleteAsync(string path) => Http.DeleteAsync(path);
    public Task<HttpResponseMessage> PostAsync(string path, object? body = null) => Http.PostAsync(path, Body(body));
    public Task<HttpResponseMessage> PatchAsync(string path, object? body) => Http.PatchAsync(path, Body(body));

    /// <summary>Sends <paramref name="method"/> to <paramref name="path"/>; a string body is sent as raw JSON (for malformed input).</summary>
    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body = null) =>
        Http.SendAsync(new HttpRequestMessage(method, path) { Content = method == HttpMethod.Get || method == HttpMethod.Delete ? null : Body(body) });

    private static HttpContent Body(object? body) => body switch
    {
        null => new StringContent("{}", Encoding.UTF8, "application/json"),
        string raw => new StringContent(raw, Encoding.UTF8, "application/json"),
        _ => JsonContent.Create(body, body.GetType(), options: Json.Options),
    };

    // ---- account ----

    public async Task<AccountResponse> AccountAsync() => await Ok<AccountResponse>(await GetAsync("/api/v1/account"));
    public async Task<decimal> BalanceAsync() => (await AccountAsync()).Balance;
    public async Task<List<EventResponse>> EventsAsync(Guid? machine = null) =>
        await Ok<List<EventResponse>>(await GetAsync("/api/v1/events" + (machine is { } m ? $"?machine={m:D}" : "")));

    // ---- buyer ----

    public async Task<MachineResponse> RegisterAsync(string config, decimal storageBid, decimal runningBid)
    {
        var response = await PostAsync("/api/v1/machines", new RegisterRequest(config, null, null, null, null, null, null, storageBid, runningBid));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<MachineResponse>(Json.Options))!;
    }

    public async Task<MachineResponse> MachineAsync(Guid id) => await Ok<MachineResponse>(await GetAsync($"/api/v1/machines/{id:D}"));
    public async Task<List<MachineResponse>> MachinesAsync() => await Ok<List<MachineResponse>>(await GetAsync("/api/v1/machines"));
    public async Task<List<SearchResult>> SearchAsync(Guid id) => await Ok<List<SearchResult>>(await GetAsync($"/api/v1/machines/{id:D}/search?limit=1000")); // every host a test added, however many the fixture holds
    public async Task<MachineResponse> StoreAsync(Guid id, string host) => await Ok<MachineResponse>(await StoreRawAsync(id, host));
    public Task<HttpResponseMessage> StoreRawAsync(Guid id, string host) => PostAsync($"/api/v1/machines/{id:D}/store", new StoreRequest(host));
    public async Task<MachineResponse> ActAsync(Guid id, string verb) => await Ok<MachineResponse>(await PostAsync($"/api/v1/machines/{id:D}/{verb}"));

    /// <summary>The machine's migration once it is done or reverted, asked every 50 ms for up to 30 s.</summary>
    public async Task<MigrationResponse> MigrationEndedAsync(Guid id)
    {
        var patience = TimeSpan.FromSeconds(30);
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            var m = await Ok<MigrationResponse>(await GetAsync($"/api/v1/machines/{id:D}/migration"));
            if (m.Phase is MigrationStates.Done or MigrationStates.Reverted) return m;
            if (DateTime.UtcNow > deadline) Xunit.Assert.Fail($"migration still {m.Phase} after {patience}");
            await Task.Delay(50);
        }
    }

    /// <summary>Registers <paramref name="config"/> with generous bids and stores it on the class's roomy host.</summary>
    public async Task<(MachineResponse Machine, HostResponse Host)> StoredMachineAsync(string config = "Configuration1")
    {
        var host = await (market ?? throw new InvalidOperationException("this session has no market fixture")).RoomyHostAsync();
        var machine = await RegisterAsync(config, 1000m, 100m);
        return (await StoreAsync(machine.Id, host.Name), host);
    }

    // ---- provider ----

    public async Task<HostResponse> AddHostAsync(AddHostRequest request)
    {
        var response = await PostAsync("/api/v1/hosts", request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<HostResponse>(Json.Options))!;
    }

    public async Task<HostResponse> HostAsync(string name) => await Ok<HostResponse>(await GetAsync($"/api/v1/hosts/{name}"));

    public static async Task<T> Ok<T>(HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
            Assert.Fail($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<T>(Json.Options))!;
    }
}

/// <summary>Hosts priced like the report's (design §3.1): totals 10000 bogomips, 4096 MB memory, 20000 MB storage.</summary>
internal static class HostSpecs
{
    /// <summary>virt8 (Figures 28, 31): 1000 @ 0.00001, 4 @ 0.00001, 3600 s; 100 @ 0.01, 30 days.</summary>
    public static AddHostRequest Virt8(string name, FakeAgent agent) => new(
        name, "127.0.0.1", agent.Port, "x86_64",
        Speed: 10000, SpeedUnit: 1000, SpeedPrice: 0.00001m,
        Memory: 4096, MemoryUnit: 4, MemoryPrice: 0.00001m,
        RunningPeriod: 3600,
        Storage: 20000, StorageUnit: 100, StoragePrice: 0.01m, StoragePeriod: 30,
        ConnectSpeed: "1 Gbit/s", Secret: agent.Secret);

    /// <summary>virt13 (Figure 31): as virt8 but memory 0.000001 and storage 0.1.</summary>
    public static AddHostRequest Virt13(string name, FakeAgent agent) =>
        Virt8(name, agent) with { MemoryPrice = 0.000001m, StoragePrice = 0.1m };
}

/// <summary>Problem details answers: status and stable code.</summary>
internal static class Problem
{
    /// <summary>Asserts the answer is a problem with <paramref name="status"/> and <paramref name="code"/>; returns it.</summary>
    public static async Task<JsonElement> AssertAsync(HttpResponseMessage response, int status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status,
            $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}: expected {status} {code}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.True(problem.TryGetProperty("code", out var c), $"no code in {text}");
        Assert.Equal(code, c.GetString());
        return problem;
    }

    public static string Detail(JsonElement problem) => problem.TryGetProperty("detail", out var d) ? d.GetString() ?? "" : "";
}

/// <summary>
/// Responses compared by their JSON: the contracts are records holding lists, whose generated equality
/// compares the lists by reference.
/// </summary>
internal static class Snapshot
{
    /// <summary>
    /// The value as JSON, without what the host monitor copies from the agents in the background (issue 17: the CPU
    /// share and the measured use; issue 18: when a host was last seen, its last failed check, its measured bogomips):
    /// "changes nothing" is about what the request could change.
    /// </summary>
    public static string Of(object? value) => JsonSerializer.Serialize(value switch
    {
        MachineResponse m => Unmeasured(m),
        HostResponse h => h with
        {
            Machines = h.Machines?.Select(x => x with { CpuShare = null, CpuUsed = null }).ToList(),
            LastSeen = null, LastFailure = null, LastFailureMessage = null, LastFailureAt = null, Bogomips = null,
        },
        _ => value,
    }, Json.Options);

    private static MachineResponse Unmeasured(MachineResponse m) => m with { CpuShare = null, Vcpus = null, CpuUsed = null, MemoryUsedMb = null };

    public static void Same(object? expected, object? actual) => Assert.Equal(Of(expected), Of(actual));
}
