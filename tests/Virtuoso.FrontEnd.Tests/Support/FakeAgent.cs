using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.FrontEnd.Tests.Support;

/// <summary>
/// An in-memory provider agent speaking <see cref="AgentRoutes"/> over real HTTP on loopback, so the front-end's
/// agent client, timeouts and error mapping are exercised without QEMU (the end-to-end tests use the real agent).
/// It checks the bearer secret and the versions the front-end sends, exactly as the real agent must, so a
/// front-end that drifts from the agent's version or forgets the secret fails these tests.
/// </summary>
internal sealed partial class FakeAgent : IAsyncDisposable
{
    /// <summary>What <c>GET /v1/machines/{id}/serial</c> answers for every known machine.</summary>
    public const string SerialText = "SeaBIOS (fake agent)\nVirtuoso guest ready\n";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<Guid, AgentMachine> _machines = new();
    private readonly ConcurrentQueue<string> _calls = new();
    private readonly ConcurrentDictionary<Guid, GuestMetadata?> _metadata = new();
    private readonly ConcurrentDictionary<Guid, IReadOnlyList<PortForward>> _forwards = new();
    private readonly ConcurrentDictionary<string, int> _failNext = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _holds = new();
    private readonly ConcurrentDictionary<string, int> _held = new();
    private readonly Lock _gate = new();
    private int _lists;

    private FakeAgent(string name, WebApplication app, string secret)
    {
        Name = name;
        _app = app;
        Secret = secret;
    }

    public string Name { get; }
    /// <summary>The control secret; give it to the front-end when adding the host.</summary>
    public string Secret { get; }
    public int Port { get; private set; }
    /// <summary>The control API protocol /v1/health reports (issue 18); another number, or null, is an agent out of date.</summary>
    public int? Protocol { get; set; } = AgentProtocol.Current;
    /// <summary>The bogomips /v1/health reports as measured (issue 18).</summary>
    public long? Bogomips { get; set; } = 9600;

    /// <summary>The machines as the agent holds them (its truth, compared with the front-end's versions).</summary>
    public IReadOnlyDictionary<Guid, AgentMachine> Machines => _machines;
    /// <summary>What GET /v1/images/{name}/fetch answers (issue 15); null: 404, no fetch under way.</summary>
    public ImageFetchProgress? FetchProgress { get; set; }
    /// <summary>Every <c>PUT /v1/networks</c> the front-end sent (issue 16), oldest first.</summary>
    public ConcurrentQueue<AgentNetworks> NetworkPushes { get; } = new();

    /// <summary>Every request's path and W3C <c>traceparent</c> header ("" when it had none), oldest first (issue 19: traces reach the agent).</summary>
    public ConcurrentQueue<(string Path, string TraceParent)> TraceParents { get; } = new();

    /// <summary>The last create request per machine, as the front-end sent it.</summary>
    public ConcurrentDictionary<Guid, CreateMachineRequest> Creates { get; } = new();

    /// <summary>Every call that acts on a machine or reads its console, as "operation id"; not the reads (health, list, status) the host monitor makes.</summary>
    public IReadOnlyList<string> Calls => [.. _calls];

    /// <summary>CPU use (millicores) and memory (MB) the fake reports for a running machine, as a real agent measures them from its cgroup (issue 17).</summary>
    public ConcurrentDictionary<Guid, (long CpuMillicores, long MemoryMb)> Usage { get; } = new();

    private AgentMachine Measured(AgentMachine m) =>
        m.State == AgentStates.Running && Usage.TryGetValue(m.Id, out var u) ? m with { CpuUsedMillicores = u.CpuMillicores, MemoryUsedMb = u.MemoryMb } : m;

    /// <summary>The guest metadata each machine's last start or resume command carried (issue 14's seed).</summary>
    public IReadOnlyDictionary<Guid, GuestMetadata?> Metadata => _metadata;

    /// <summary>
    /// The ports forwarded to each machine while it runs, as its last start or resume command gave them (issue 14); a
    /// machine that stops, suspends or powers off has none, as QEMU's forwards end with its process.
    /// </summary>
    public IReadOnlyDictionary<Guid, IReadOnlyList<PortForward>> Forwards => _forwards;

    /// <summary>How many times the machines were listed (the front-end's host monitor does it every round).</summary>
    public int Lists => Volatile.Read(ref _lists);


    /// <summary>The guest powers itself off (it ran <c>poweroff</c>): stopped at the same version, no command involved.</summary>
    public void PowerOff(Guid id)
    {
        lock (_gate) _machines[id] = _machines[id] with { State = AgentStates.Stopped, Pid = null };
        _forwards.TryRemove(id, out _);
    }

    /// <summary>
    /// From now on, <paramref name="operation"/> calls (create, start, …, or list) wait, outside the agent's lock,
    /// until <see cref="Release"/>: racing requests are lined up deterministically, not by sleeping. A held list
    /// answers the machines as they were when it arrived, as a slow real agent's would.
    /// </summary>
    public void Hold(string operation) => _holds[operation] = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Lets the held calls of <paramref name="operation"/> go on, and stops holding new ones.</summary>
    public void Release(string operation)
    {
        if (_holds.TryRemove(operation, out var hold)) hold.TrySetResult();
    }

    /// <summary>How many <paramref name="operation"/> calls are waiting for <see cref="Release"/>.</summary>
    public int Held(string operation) => _held.GetValueOrDefault(operation);

    private async Task WaitIfHeld(string operation)
    {
        if (!_holds.TryGetValue(operation, out var hold)) return;
        _held.AddOrUpdate(operation, 1, (_, n) => n + 1);
        try { await hold.Task.WaitAsync(TimeSpan.FromSeconds(30)); } // a test that forgets to release fails, it does not hang
        finally { _held.AddOrUpdate(operation, 0, (_, n) => n - 1); }
    }

    /// <summary>The next <paramref name="operation"/> call (create, start, stop, suspend, resume, delete, serial, status) fails with 502 and changes nothing.</summary>
    public void FailNext(string operation) => _failNext.AddOrUpdate(operation, 1, (_, n) => n + 1);

    private readonly ConcurrentDictionary<string, int> _loseNext = new();

    /// <summary>
    /// The next <paramref name="operation"/> call acts, then its connection is cut before the answer (issue 13: the
    /// front-end cannot tell whether the agent acted).
    /// </summary>
    public void LoseNextAnswer(string operation) => _loseNext.AddOrUpdate(operation, 1, (_, n) => n + 1);

    /// <summary>While true, every call that acts on or reads a machine is cut without an answer and does nothing (the host is unreachable).</summary>
    public bool Down { get; set; }

    /// <summary>Forgets the faults asked for and not yet spent.</summary>
    public void ClearFaults()
    {
        _failNext.Clear();
        _loseNext.Clear();
        Down = false;
    }

    /// <summary>Answers nothing: the connection is aborted.</summary>
    private sealed class Cut : IResult
    {
        public static readonly Cut Instance = new();
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Abort();
            return Task.CompletedTask;
        }
    }

    /// <summary>Starts an agent listening on <paramref name="address"/> (another loopback address stands for another host's underlay address, issue 16).</summary>
    /// With <paramref name="tls"/> (issue 20) it serves HTTPS only, with <see cref="FakeAgentTls.Certificate"/>, and answers
    /// control calls only to the front-end's client certificate from <see cref="FakeAgentTls.Authority"/>, like the real agent.
    public static async Task<FakeAgent> StartAsync(string name, string address = "127.0.0.1", FakeAgentTls? tls = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--urls", $"{(tls is null ? "http" : "https")}://{address}:0"] });
        builder.Logging.ClearProviders();
        if (tls is not null) tls.Configure(builder);
        var app = builder.Build();
        app.UseWebSockets();
        var agent = new FakeAgent(name, app, Convert.ToHexString(RandomNumberGenerator.GetBytes(24))) { Https = tls };
        app.Use((context, next) =>
        {
            // Issue 20: every call its own TLS handshake, so a certificate swapped by a test is what the next call sees.
            if (tls is not null) context.Response.Headers.Connection = "close";
            agent.TraceParents.Enqueue((context.Request.Path.Value ?? "", context.Request.Headers["traceparent"].ToString()));
            return next(context);
        });
        agent.Map(app);
        agent.MapMigration(app);
        agent.MapTunnel(app);
        agent.MapEvents(app);
        await app.StartAsync();
        agent.Port = new Uri(app.Urls.Single()).Port;
        agent.StartVmmp();
        return agent;
    }

    private void Map(WebApplication app)
    {
        // Like the real agent (issue 20): the details only to the secret, liveness and protocol to anyone.
        app.MapGet(AgentRoutes.Health, (HttpContext ctx) => Down ? (IResult)Cut.Instance
            : ctx.Request.Headers.Authorization.ToString() == $"Bearer {Secret}"
                ? Results.Ok(new AgentHealth(Name, "tcg", _machines.Count, VmmpPort, Methods, Protocol, "fake-1.0", Bogomips, AgentHealth.Ok))
                : Results.Ok(new { status = AgentHealth.Ok, protocol = Protocol }));

        var secured = app.MapGroup("").AddEndpointFilter(async (ctx, next) =>
            ctx.HttpContext.Request.Headers.Authorization.ToString() == $"Bearer {Secret}" && (Https is null || Https.IsFrontEnd(ctx.HttpContext))
                ? await next(ctx)
                : Problem(401, ErrorCodes.Unauthenticated, "missing or wrong host secret, or not the front-end's client certificate"));

        secured.MapGet(AgentRoutes.Machines, async () =>
        {
            Interlocked.Increment(ref _lists);
            var snapshot = _machines.Values.OrderBy(m => m.Id).Select(Measured).ToList();
            await WaitIfHeld("list");
            return Results.Ok(snapshot);
        });

        secured.MapPut("/v1/machines/{id:guid}", (Guid id, CreateMachineRequest r) => Act("create", id, () =>
        {
            Creates[id] = r;
            if (r.Id != id) return Problem(400, ErrorCodes.Validation, "the body's id differs from the path's");
            if (r.MemoryMb <= 0 || r.DiskMb <= 0 || r.Version < 1) return Problem(400, ErrorCodes.Validation, "bad machine spec");
            // The share as the real agent decides it (design §12), on a fake host of two cores.
            var share = r.HostSpeedBogomips is { } total ? Virtuoso.Core.Machines.CpuShare.For(r.SpeedBogomips, total, 2) : null;
            var created = new AgentMachine(id, AgentStates.Stopped, r.Version, r.Mac, r.MemoryMb, r.DiskMb, r.Image, null, share?.Millicores, share?.Vcpus ?? 1);
            var existing = _machines.GetOrAdd(id, created);
            // Idempotent for the same id and spec, as the real agent.
            return existing == created ? Results.Ok(existing) : Problem(409, ErrorCodes.Conflict, "a different machine with this id exists");
        }));

        secured.MapPut(AgentRoutes.Networks, (AgentNetworks networks) =>
        {
            NetworkPushes.Enqueue(networks);
            return Results.NoContent();
        });

        secured.MapGet("/v1/images/{name}/fetch", (string name) =>
            FetchProgress is { } p && p.Image == name ? Results.Ok(p) : Problem(404, ErrorCodes.NotFound, $"no fetch of {name} under way"));

        secured.MapGet("/v1/machines/{id:guid}", (Guid id) => Act("status", id, () =>
            _machines.TryGetValue(id, out var m) ? Results.Ok(Measured(m)) : Problem(404, ErrorCodes.NotFound, $"no machine {id}")));

        secured.MapPost("/v1/machines/{id:guid}/{verb}", (Guid id, string verb, MachineCommand command) => Act(verb, id, () => Command(id, verb, command)));

        secured.MapDelete("/v1/machines/{id:guid}", (Guid id) => Act("delete", id, () =>
            _machines.TryRemove(id, out _) ? Results.NoContent() : Problem(404, ErrorCodes.NotFound, $"no machine {id}")));

        secured.MapPost("/v1/machines/{id:guid}/console", (Guid id) => Act("console", id, () =>
        {
            if (!_machines.TryGetValue(id, out var m)) return Problem(404, ErrorCodes.NotFound, $"no machine {id}");
            if (m.State != AgentStates.Running) return Problem(409, ErrorCodes.InvalidState, $"cannot open a console of a machine that is {m.State}");
            var session = new ConsoleSession(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), RandomNumberGenerator.GetHexString(8));
            if (_consoles.TryGetValue(id, out var previous)) previous.Ended.Cancel();
            _consoles[id] = session;
            return Results.Ok(new AgentConsoleSession(session.Id, session.Password, DateTimeOffset.UtcNow.AddMinutes(1)));
        }));

        // Like the real agent's bridge, but the "VNC server" greets with the RFB version and echoes every frame back.
        secured.MapGet("/v1/machines/{id:guid}/console/{session}", async (Guid id, string session, HttpContext context) =>
        {
            if (!context.WebSockets.IsWebSocketRequest) return Problem(400, ErrorCodes.Validation, "not a WebSocket request");
            if (!_consoles.TryGetValue(id, out var s) || s.Id != session) return Problem(404, ErrorCodes.NotFound, "no such console session");
            if (Interlocked.Exchange(ref s.Claimed, 1) == 1) return Problem(409, ErrorCodes.Conflict, "connected already");
            using var ws = await context.WebSockets.AcceptWebSocketAsync();
            _calls.Enqueue($"console-connect {id:D}");
            await ws.SendAsync("RFB 003.008\n"u8.ToArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
            var buffer = new byte[4096];
            try
            {
                while (true)
                {
                    var r = await ws.ReceiveAsync(buffer, s.Ended.Token);
                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                        break;
                    }
                    await ws.SendAsync(buffer.AsMemory(0, r.Count), WebSocketMessageType.Binary, true, CancellationToken.None);
                }
            }
            catch (OperationCanceledException)
            {
                // A cancelled receive aborts the socket: the proxy sees the connection go away.
            }
            return Results.Empty;
        });

        secured.MapDelete("/v1/machines/{id:guid}/console/{session}", (Guid id, string session) => Act("console-end", id, () =>
        {
            if (!_consoles.TryGetValue(id, out var s) || s.Id != session) return Problem(404, ErrorCodes.NotFound, "no such console session");
            _consoles.TryRemove(id, out _);
            s.Ended.Cancel();
            return Results.NoContent();
        }));

        secured.MapGet("/v1/machines/{id:guid}/serial", (Guid id) => Act("serial", id, () =>
            _machines.ContainsKey(id) ? Results.Text(SerialText, "text/plain") : Problem(404, ErrorCodes.NotFound, $"no machine {id}")));
    }

    private sealed class ConsoleSession(string id, string password)
    {
        public string Id { get; } = id;
        public string Password { get; } = password;
        public int Claimed;
        public CancellationTokenSource Ended { get; } = new();
    }

    private readonly ConcurrentDictionary<Guid, ConsoleSession> _consoles = new();

    /// <summary>The password of the machine's current console session, or null.</summary>
    public string? ConsolePassword(Guid id) => _consoles.TryGetValue(id, out var s) ? s.Password : null;

    /// <summary>Host ports another program holds on this fake host: a start or resume forwarding one is refused with <see cref="ErrorCodes.PortBusy"/>.</summary>
    public ConcurrentDictionary<int, bool> HeldPorts { get; } = new();

    /// <summary>The last command per machine and verb, as the front-end sent it.</summary>
    public ConcurrentDictionary<(Guid, string), MachineCommand> Commands { get; } = new();

    private IResult Command(Guid id, string verb, MachineCommand command)
    {
        Commands[(id, verb)] = command;
        var (from, to) = verb switch
        {
            "start" => (AgentStates.Stopped, AgentStates.Running),
            "resume" => (AgentStates.Suspended, AgentStates.Running),
            "stop" => (AgentStates.Running, AgentStates.Stopped),
            "suspend" => (AgentStates.Running, AgentStates.Suspended),
            _ => ("", ""),
        };
        if (from == "") return Problem(404, ErrorCodes.NotFound, $"no command '{verb}'");
        if (!_machines.TryGetValue(id, out var m)) return Problem(404, ErrorCodes.NotFound, $"no machine {id}");
        if (verb is "start" or "resume") _metadata[id] = command.Metadata;
        // As the real agent (issue 13): a command that already happened answers its result.
        if (m.Version == command.NewVersion && m.State == to) return Results.Ok(m);
        if (command.ExpectedVersion != m.Version)
            return Problem(409, ErrorCodes.VersionMismatch, $"expected version {command.ExpectedVersion}, the agent holds {m.Version}");
        // As the real agent: versions never go back. (Whether stop and suspend add one is checked by the tests
        // comparing the agent's version with the front-end's after every step.)
        if (command.NewVersion < command.ExpectedVersion)
            return Problem(400, ErrorCodes.Validation, $"newVersion {command.NewVersion} is below expectedVersion {command.ExpectedVersion}");
        if (m.State != from) return Problem(409, ErrorCodes.InvalidState, $"cannot {verb} a machine that is {m.State}");
        // As the real agent (issue 14): a forwarded port another program holds is refused before anything changes.
        if (to == AgentStates.Running && (command.Forwards ?? []).FirstOrDefault(f => HeldPorts.ContainsKey(f.HostPort)) is { } held)
            return Problem(409, ErrorCodes.PortBusy, $"cannot {verb} machine {id:D}: host port {held.HostPort} on 127.0.0.1 is held by another program");
        var next = m with { State = to, Version = command.NewVersion, Pid = to == AgentStates.Running ? 4242 : null };
        _machines[id] = next;
        if (to == AgentStates.Running) _forwards[id] = command.Forwards ?? [];
        else _forwards.TryRemove(id, out _);
        return Results.Ok(next);
    }

    /// <summary>Records the call and, when a failure was asked for this operation, answers 502 without acting.</summary>
    private async Task<IResult> Act(string operation, Guid id, Func<IResult> act)
    {
        await WaitIfHeld(operation);
        lock (_gate)
        {
            if (Down) return Cut.Instance;
            if (operation != "status") _calls.Enqueue($"{operation} {id:D}");
            if (_failNext.TryGetValue(operation, out var n) && n > 0)
            {
                _failNext[operation] = n - 1;
                return Problem(502, ErrorCodes.AgentFailed, $"fake agent {Name}: {operation} failed as the test asked");
            }
            var result = act();
            if (_loseNext.TryGetValue(operation, out var lose) && lose > 0)
            {
                _loseNext[operation] = lose - 1;
                return Cut.Instance;
            }
            return result;
        }
    }

    private static IResult Problem(int status, string code, string detail) =>
        Results.Problem(detail: detail, statusCode: status, extensions: new Dictionary<string, object?> { ["code"] = code });

    public async ValueTask DisposeAsync()
    {
        StopVmmp();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
