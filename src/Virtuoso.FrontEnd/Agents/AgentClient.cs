using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Http;
using Virtuoso.FrontEnd.Hosts;

namespace Virtuoso.FrontEnd.Agents;

/// <summary>
/// The front-end's side of the machine control interface (report §6.3): calls a host's agent with the
/// host's secret, over TLS with the marketplace's certificates when the host has one (issue 20, <see cref="AgentConnector"/>). Every call has a timeout and, when it fails, a failure naming the host and the call.
/// </summary>
internal sealed class AgentClient(Microsoft.Extensions.Options.IOptions<MarketOptions> options, AgentConnector connector)
{
    public const string HttpClientName = "agents";

    public Task<Outcome<AgentHealth>> HealthAsync(HostRow host, TimeSpan timeout, CancellationToken ct = default) =>
        SendAsync<AgentHealth>(host, HttpMethod.Get, AgentRoutes.Health, null, "health check", ct, timeout);

    /// <summary>Creates the machine's disk; when the request carries an image source, the agent may first fetch the image, so it may take <see cref="MarketOptions.ImageFetchTimeoutSeconds"/>.</summary>
    public Task<Outcome<AgentMachine>> CreateAsync(HostRow host, CreateMachineRequest request, CancellationToken ct = default) =>
        SendAsync<AgentMachine>(host, HttpMethod.Put, AgentRoutes.Machine(request.Id), request, "create", ct,
            request.ImageSource is null ? null : TimeSpan.FromSeconds(options.Value.ImageFetchTimeoutSeconds));

    /// <summary>How far the agent's first fetch of an image has come; null when none is under way (or the agent does not say).</summary>
    public async Task<ImageFetchProgress?> ImageFetchAsync(HostRow host, string image, CancellationToken ct = default)
    {
        var got = await SendAsync<ImageFetchProgress>(host, HttpMethod.Get, AgentRoutes.ImageFetch(image), null, "image fetch progress", ct, TimeSpan.FromSeconds(5));
        return got.Value;
    }

    /// <summary>The host's events after a cursor of its log (issue 19 point 3); a failure with AgentStatus 404 is an agent older than that.</summary>
    public Task<Outcome<AgentEventPage>> EventsAsync(HostRow host, string? log, long after, int limit, CancellationToken ct = default) =>
        SendAsync<AgentEventPage>(host, HttpMethod.Get, AgentEventPage.Query(log, after, limit), null, "events", ct, TimeSpan.FromSeconds(15));

    public Task<Outcome<List<AgentMachine>>> ListAsync(HostRow host, CancellationToken ct = default) =>
        SendAsync<List<AgentMachine>>(host, HttpMethod.Get, AgentRoutes.Machines, null, "list", ct, TimeSpan.FromSeconds(5));

    public Task<Outcome<AgentMachine>> GetAsync(HostRow host, Guid id, CancellationToken ct = default) =>
        SendAsync<AgentMachine>(host, HttpMethod.Get, AgentRoutes.Machine(id), null, "status", ct);

    /// <summary>The machine once a command under way on it has ended (what an intent's fate is decided on).</summary>
    public Task<Outcome<AgentMachine>> GetSettledAsync(HostRow host, Guid id, CancellationToken ct = default) =>
        SendAsync<AgentMachine>(host, HttpMethod.Get, AgentRoutes.Machine(id) + "?settled=true", null, "status", ct);

    public Task<Outcome<AgentMachine>> CommandAsync(HostRow host, Guid id, string verb, MachineCommand command, CancellationToken ct = default) =>
        SendAsync<AgentMachine>(host, HttpMethod.Post, AgentRoutes.Command(id, verb), command, verb, ct);

    public async Task<Failure?> DeleteAsync(HostRow host, Guid id, CancellationToken ct = default) =>
        (await SendAsync<JsonElement>(host, HttpMethod.Delete, AgentRoutes.Machine(id), null, "delete", ct)).Failure;

    /// <summary>
    /// The private networks the host carries and their peers (issue 16): the whole desired state, idempotent. A failure with
    /// <see cref="Failure.AgentStatus"/> 404 is an agent older than issue 16.
    /// </summary>
    public async Task<Failure?> PutNetworksAsync(HostRow host, AgentNetworks networks, CancellationToken ct = default) =>
        (await SendAsync<JsonElement>(host, HttpMethod.Put, AgentRoutes.Networks, networks, "networks", ct, TimeSpan.FromSeconds(15))).Failure;

    // ---- migration (Contracts.Agent.MigrationApi: the sequence is in its header) ----

    /// <summary>Origin: let the holder of the migration token read the machine at its version.</summary>
    public async Task<Failure?> ExportAsync(HostRow origin, Guid id, ExportRequest request, CancellationToken ct = default) =>
        (await SendAsync<JsonElement>(origin, HttpMethod.Put, MigrationRoutes.Export(id), request, "export", ct, TimeSpan.FromSeconds(30))).Failure;

    /// <summary>Origin: the export is withdrawn (idempotent).</summary>
    public async Task<Failure?> UnexportAsync(HostRow origin, Guid id, CancellationToken ct = default) =>
        (await SendAsync<JsonElement>(origin, HttpMethod.Delete, MigrationRoutes.Export(id), null, "withdraw export", ct, TimeSpan.FromSeconds(30))).Failure;

    /// <summary>Destination: expect a REQ for this machine.</summary>
    public async Task<Failure?> ExpectAsync(HostRow destination, Guid id, IncomingMigration request, CancellationToken ct = default) =>
        (await SendAsync<JsonElement>(destination, HttpMethod.Put, MigrationRoutes.Incoming(id), request, "incoming migration", ct, TimeSpan.FromSeconds(30))).Failure;

    /// <summary>Destination: discard the incoming migration and any partial copy (idempotent).</summary>
    public async Task<Failure?> DiscardAsync(HostRow destination, Guid id, CancellationToken ct = default) =>
        (await SendAsync<JsonElement>(destination, HttpMethod.Delete, MigrationRoutes.Incoming(id), null, "discard migration", ct, TimeSpan.FromSeconds(30))).Failure;

    /// <summary>Destination: make the pending copy the live machine at the new version (idempotent).</summary>
    public async Task<Failure?> ActivateAsync(HostRow destination, Guid id, ActivateRequest request, CancellationToken ct = default) =>
        (await SendAsync<JsonElement>(destination, HttpMethod.Post, MigrationRoutes.Activate(id), request, "activate", ct, TimeSpan.FromSeconds(60))).Failure;

    /// <summary>Origin: the machine left; keep its files only as a cache (idempotent).</summary>
    public async Task<Failure?> RetireAsync(HostRow origin, Guid id, RetireRequest request, CancellationToken ct = default) =>
        (await SendAsync<JsonElement>(origin, HttpMethod.Post, MigrationRoutes.Retire(id), request, "retire", ct, TimeSpan.FromSeconds(60))).Failure;

    /// <summary>
    /// Destination: how the incoming migration stands. Null progress with <c>Missing</c> true when the agent answered 404
    /// (it knows no such migration); a failure when it did not answer usefully.
    /// </summary>
    public async Task<(MigrationProgress? Progress, bool Missing, Failure? Failure)> ProgressAsync(HostRow destination, Guid id, CancellationToken ct = default)
    {
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(TimeSpan.FromSeconds(5));
            using var response = await Client(destination).SendAsync(Request(destination, HttpMethod.Get, MigrationRoutes.Incoming(id), null), cts.Token);
            if (response.StatusCode == System.Net.HttpStatusCode.NotFound) return (null, true, null);
            if (!response.IsSuccessStatusCode) return (null, false, await FailureFrom(destination, response, "migration progress", ct));
            return (await response.Content.ReadFromJsonAsync<MigrationProgress>(JsonSerializerOptions.Web, cts.Token), false, null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return (null, false, Unreachable(destination, "migration progress", e));
        }
    }

    public async Task<Outcome<string>> SerialAsync(HostRow host, Guid id, CancellationToken ct = default)
    {
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(DefaultTimeout);
            using var response = await Client(host).SendAsync(Request(host, HttpMethod.Get, AgentRoutes.Serial(id), null), cts.Token);
            if (!response.IsSuccessStatusCode) return await FailureFrom(host, response, "serial", ct);
            return await response.Content.ReadAsStringAsync(cts.Token);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return Unreachable(host, "serial", e);
        }
    }

    /// <summary>Opens a console session: the agent sets a fresh VNC password (design §7).</summary>
    public Task<Outcome<AgentConsoleSession>> OpenConsoleAsync(HostRow host, Guid id, CancellationToken ct = default) =>
        SendAsync<AgentConsoleSession>(host, HttpMethod.Post, AgentRoutes.Console(id), null, "console", ct, TimeSpan.FromSeconds(30));

    /// <summary>Ends a console session (its connection closes, its password is spent). A session already replaced is 404.</summary>
    public async Task<Failure?> EndConsoleAsync(HostRow host, Guid id, string sessionId, CancellationToken ct = default)
    {
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(TimeSpan.FromSeconds(15));
            using var response = await Client(host).SendAsync(Request(host, HttpMethod.Delete, AgentRoutes.ConsoleSession(id, sessionId), null), cts.Token);
            // 404: a newer session replaced this one, or it ended already; either way nothing is left to end.
            if (response.IsSuccessStatusCode || response.StatusCode == System.Net.HttpStatusCode.NotFound) return null;
            return await FailureFrom(host, response, "end console", ct);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return Unreachable(host, "end console", e);
        }
    }

    /// <summary>Connects the console session's WebSocket on the agent, presenting the host secret.</summary>
    public async Task<Outcome<WebSocket>> ConnectConsoleAsync(HostRow host, Guid id, string sessionId, CancellationToken ct = default)
    {
        var (ws, status, error) = await OpenWebSocketAsync(host, AgentRoutes.ConsoleSession(id, sessionId), ct);
        if (ws is not null) return ws;
        // 404/409: the session was replaced by a newer one, or used already; the agent disagrees with the ticket.
        return status is System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.Conflict
            ? new Failure(ErrorCodes.Conflict, $"host {host.Name}: the console session is no longer open ({(int)status}); another viewer may have taken over: ask for a new ticket")
            : Unreachable(host, "console connect", error!);
    }

    /// <summary>Connects a tunnel to TCP port <paramref name="port"/> of the machine's guest (design §10), presenting the host secret.</summary>
    public async Task<Outcome<WebSocket>> ConnectTunnelAsync(HostRow host, Guid id, int port, CancellationToken ct = default)
    {
        var (ws, status, error) = await OpenWebSocketAsync(host, AgentRoutes.Tunnel(id, port), ct);
        if (ws is not null) return ws;
        // 404/409: the agent does not hold the machine running (it stopped or moved meanwhile); 502: QEMU could not forward.
        return status switch
        {
            System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.Conflict =>
                new Failure(ErrorCodes.InvalidState, $"host {host.Name}: the machine is not running there ({(int)status}); no tunnel"),
            System.Net.HttpStatusCode.BadGateway => new Failure(ErrorCodes.AgentFailed, $"host {host.Name}: the agent could not open a tunnel to port {port} of the machine"),
            _ => Unreachable(host, "tunnel connect", error!),
        };
    }

    /// <summary>A WebSocket to the agent (wss when it has a certificate: <see cref="AgentConnector"/>), or the status it refused
    /// the upgrade with (0 when it did not answer) and why.</summary>
    private async Task<(WebSocket? Socket, System.Net.HttpStatusCode Status, Exception? Error)> OpenWebSocketAsync(HostRow host, string path, CancellationToken ct)
    {
        var ws = new ClientWebSocket();
        ws.Options.SetRequestHeader("Authorization", $"Bearer {host.Secret}");
        ws.Options.CollectHttpResponseDetails = true;
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(TimeSpan.FromSeconds(15));
            using var invoker = new HttpMessageInvoker(connector.HandlerFor(host), disposeHandler: false);
            await ws.ConnectAsync(AgentConnector.Url(host, path, webSocket: true), invoker, cts.Token);
            return (ws, System.Net.HttpStatusCode.SwitchingProtocols, null);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or HttpRequestException)
        {
            var status = ws.HttpStatusCode;
            ws.Dispose();
            return (null, status, e);
        }
    }

    private async Task<Outcome<T>> SendAsync<T>(HostRow host, HttpMethod method, string path, object? body, string what, CancellationToken ct, TimeSpan? timeout = null)
    {
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(timeout ?? DefaultTimeout);
            using var response = await Client(host).SendAsync(Request(host, method, path, body), cts.Token);
            if (!response.IsSuccessStatusCode) return await FailureFrom(host, response, what, ct);
            if (response.StatusCode == System.Net.HttpStatusCode.NoContent || typeof(T) == typeof(JsonElement) && response.Content.Headers.ContentLength == 0)
                return default(T)!;
            return (await response.Content.ReadFromJsonAsync<T>(JsonSerializerOptions.Web, ct))!;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return Unreachable(host, what, e);
        }
    }

    private TimeSpan DefaultTimeout => TimeSpan.FromSeconds(options.Value.AgentTimeoutSeconds);

    private HttpClient Client(HostRow host) => connector.ClientFor(host);

    private static HttpRequestMessage Request(HostRow host, HttpMethod method, string path, object? body)
    {
        var request = new HttpRequestMessage(method, AgentConnector.Url(host, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", host.Secret);
        if (body is not null) request.Content = JsonContent.Create(body, options: JsonSerializerOptions.Web);
        return request;
    }

    private static Failure Unreachable(HostRow host, string what, Exception e) =>
        new(ErrorCodes.AgentFailed, $"host {host.Name}: agent at {host.Address}:{host.Port} did not answer the {what} call ({e.GetType().Name}: {e.Message})")
        { Unanswered = true };

    private static async Task<Failure> FailureFrom(HostRow host, HttpResponseMessage response, string what, CancellationToken ct)
    {
        string? code = null, detail = null;
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
            if (problem.TryGetProperty("code", out var c)) code = c.GetString();
            if (problem.TryGetProperty("detail", out var d)) detail = d.GetString();
            else if (problem.TryGetProperty("title", out var t)) detail = t.GetString();
        }
        catch (JsonException) { detail = response.ReasonPhrase; }
        // A version mismatch or state conflict is the agent disagreeing with us: surface it as such (409); anything else is its failure (502).
        return new Failure(code is ErrorCodes.VersionMismatch or ErrorCodes.InvalidState ? code : ErrorCodes.AgentFailed,
            $"host {host.Name}: agent refused the {what} call ({(int)response.StatusCode} {code}): {detail}")
        { AgentStatus = (int)response.StatusCode, AgentCode = code };
    }
}
