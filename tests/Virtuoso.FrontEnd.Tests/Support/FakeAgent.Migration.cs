using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.FrontEnd.Tests.Support;

/// <summary>What a fake destination does once it accepted a REQ.</summary>
internal enum FakeMigration
{
    /// <summary>Heartbeats, fetches the manifest from the origin with the token, goes pending at VERSION+1, sends RESP SUCCESS.</summary>
    Succeed,
    /// <summary>Heartbeats, then marks the migration failed and sends RESP VERSION FAIL.</summary>
    Fail,
    /// <summary>Never sends anything (no heartbeat): the front-end's timeout must revert.</summary>
    Silent,
    /// <summary>Sends RESP VERSION+1 SUCCESS without having copied anything (still copying when asked).</summary>
    ClaimWithoutCopy,
    /// <summary>Goes pending at VERSION+1 and falls silent without a RESP (as if the RESP went to a front-end that died).</summary>
    PendingWithoutResp,
    /// <summary>Heartbeats forever (until the test releases "transfer"), then succeeds.</summary>
    HeartbeatUntilReleased,
}

/// <summary>
/// The fake agent's migration half (Contracts.Agent.MigrationApi): exports as an origin, incoming migrations as a destination
/// with a VMMP server on a loopback port (QUERY → RESULTS, REQ → accepted by closing, then HEARTBEATs and RESP to the
/// front-end's listener, as <see cref="Behaviour"/> says), activation and retirement. The destination really fetches
/// the export's manifest from the origin agent with the migration token, so a front-end that hands out the wrong token
/// or origin fails these tests.
/// </summary>
internal sealed partial class FakeAgent
{
    private readonly ConcurrentDictionary<Guid, (long Version, string Token)> _exports = new();
    private readonly ConcurrentDictionary<Guid, Incoming> _incoming = new();
    private readonly ConcurrentDictionary<Guid, AgentMachine> _retired = new();
    private readonly CancellationTokenSource _stopping = new();
    private TcpListener? _vmmp;

    private sealed class Incoming(IncomingMigration request)
    {
        public IncomingMigration Request { get; } = request;
        public volatile string Phase = MigrationPhases.Expected;
        public long? NewVersion;
        public string? State;
        public long BytesDone;
        public bool Discarded;
    }

    /// <summary>The methods it answers a QUERY with (and reports in /v1/health).</summary>
    public List<string> Methods { get; set; } = [.. VmmpMethods.All];
    /// <summary>What it does with the next REQ it accepts.</summary>
    public FakeMigration Behaviour { get; set; } = FakeMigration.Succeed;
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromMilliseconds(50);
    public int VmmpPort { get; private set; }
    /// <summary>VMMP lines it refused because their AUTH line did not prove them with its secret.</summary>
    public ConcurrentQueue<string> UnprovenVmmp { get; } = new();
    /// <summary>The REQs it received, as parsed.</summary>
    public ConcurrentQueue<VmmpReq> Requests { get; } = new();
    /// <summary>
    /// Issue 20: its certificate and the marketplace's authority; set, its VMMP server speaks TLS to the front-end's
    /// certificate only, and it reports to the front-end's listener over TLS.
    /// </summary>
    public (X509Certificate2 Own, X509Certificate2 Authority)? Tls { get; set; }
    /// <summary>Issue 20: the certificate it shows the front-end's listener instead of its own (a test's impostor).</summary>
    public X509Certificate2? CentralCertificate { get; set; }
    /// <summary>The destination each export named (issue 20: the host whose certificate may fetch it).</summary>
    public ConcurrentDictionary<Guid, string?> ExportedTo { get; } = new();
    /// <summary>Machines it gave up as an origin (retired: kept as a cache, no longer its own).</summary>
    public IReadOnlyDictionary<Guid, AgentMachine> Retired => _retired;
    public bool Exports(Guid id) => _exports.ContainsKey(id);
    public string? IncomingPhase(Guid id) => _incoming.TryGetValue(id, out var i) ? i.Phase : null;

    private void StartVmmp()
    {
        _vmmp = new TcpListener(IPAddress.Loopback, 0);
        _vmmp.Start();
        VmmpPort = ((IPEndPoint)_vmmp.LocalEndpoint).Port;
        _ = Task.Run(async () =>
        {
            while (!_stopping.IsCancellationRequested)
            {
                TcpClient client;
                try { client = await _vmmp.AcceptTcpClientAsync(_stopping.Token); }
                catch (Exception) { return; }
                _ = Task.Run(() => ServeVmmpAsync(client));
            }
        });
    }

    private void StopVmmp()
    {
        _stopping.Cancel();
        _vmmp?.Stop();
    }

    private async Task ServeVmmpAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                Stream stream = client.GetStream();
                if (Tls is { } tls)
                {
                    var ssl = new SslStream(stream);
                    await ssl.AuthenticateAsServerAsync(MarketTls.Server(tls.Own, tls.Authority, id => id == MarketIdentity.FrontEnd), _stopping.Token);
                    stream = ssl;
                }
                // Like the real agent (issue 20): a message counts only after an AUTH line proving it with the host secret.
                var auth = await VmmpWire.ReadLineAsync(stream, _stopping.Token);
                if (auth is null || VmmpAuth.ParseProof(auth) is not { } proof) return;
                var line = await VmmpWire.ReadLineAsync(stream, _stopping.Token);
                if (line is null) return;
                if (!VmmpAuth.Verify(Secret, line, proof))
                {
                    UnprovenVmmp.Enqueue(line);
                    return;
                }
                switch (VmmpWire.Parse(line).Message)
                {
                    case VmmpQuery q:
                        await stream.WriteAsync(VmmpWire.Encode(new VmmpResults(q.MachineId, [.. Methods])));
                        return;
                    case VmmpReq req:
                        Requests.Enqueue(req);
                        if (!_incoming.TryGetValue(req.MachineId, out var incoming) || incoming.Phase != MigrationPhases.Expected
                            || incoming.Request.Version != req.Version || incoming.Request.Method != req.Method
                            || incoming.Request.Origin != $"{(Tls is null ? "http" : "https")}://{req.OrigIp}:{req.OrigPort}")
                        {
                            await stream.WriteAsync(VmmpWire.Encode(new VmmpResp(req.MachineId, req.Version, false)));
                            return;
                        }
                        incoming.Phase = MigrationPhases.Copying;
                        var behaviour = Behaviour;
                        _ = Task.Run(() => MigrateAsync(req, incoming, behaviour));
                        return; // accepted: close
                    default:
                        return; // garbage or not for us: close
                }
            }
            catch (Exception e) when (e is IOException or InvalidDataException or SocketException or OperationCanceledException or AuthenticationException) { }
        }
    }

    private async Task MigrateAsync(VmmpReq req, Incoming incoming, FakeMigration behaviour)
    {
        if (behaviour == FakeMigration.Silent) return;
        try
        {
            using var central = new TcpClient();
            await central.ConnectAsync(req.CentralIp, req.CentralPort, _stopping.Token);
            Stream stream = central.GetStream();
            if (Tls is { } tls)
            {
                var ssl = new SslStream(stream);
                await ssl.AuthenticateAsClientAsync(MarketTls.Client(CentralCertificate ?? tls.Own, tls.Authority, MarketIdentity.FrontEnd), _stopping.Token);
                stream = ssl;
            }
            // A front-end that went away does not stop the copy: the copy goes on, and whichever front-end looks next decides.
            var lost = false;
            async Task Send(VmmpMessage m)
            {
                if (lost) return;
                try { await stream.WriteAsync(VmmpAuth.Encode(Secret, m), _stopping.Token); }
                catch (IOException) { lost = true; }
            }

            for (var i = 0; i < 3 || behaviour == FakeMigration.HeartbeatUntilReleased && _holds.ContainsKey("transfer"); i++)
            {
                if (incoming.Discarded) return;
                await Send(new VmmpHeartbeat(req.MachineId));
                Interlocked.Add(ref incoming.BytesDone, 100_000);
                await Task.Delay(HeartbeatInterval, _stopping.Token);
            }
            if (behaviour == FakeMigration.ClaimWithoutCopy)
            {
                await Send(new VmmpResp(req.MachineId, req.Version + 1, true));
                return;
            }
            // Fetch what the origin exports, with the token the front-end gave both sides.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            // The fake origin serves plain HTTP whatever the front-end says (the real agents' HTTPS is tested with the agent).
            using var get = new HttpRequestMessage(HttpMethod.Get, incoming.Request.Origin.Replace("https://", "http://", StringComparison.Ordinal) + TransferRoutes.Manifest(req.MachineId));
            get.Headers.Authorization = new AuthenticationHeaderValue("Bearer", incoming.Request.Token);
            using var answer = await http.SendAsync(get, _stopping.Token);
            var manifest = answer.IsSuccessStatusCode ? await answer.Content.ReadFromJsonAsync<ExportManifest>(JsonSerializerOptions.Web) : null;
            if (behaviour == FakeMigration.Fail || manifest is null || manifest.Version != req.Version || incoming.Discarded)
            {
                incoming.Phase = MigrationPhases.Failed;
                await Send(new VmmpResp(req.MachineId, req.Version, false));
                return;
            }
            incoming.State = manifest.State;
            incoming.BytesDone = 1_000_000;
            incoming.NewVersion = req.Version + 1;
            incoming.Phase = MigrationPhases.Pending;
            if (behaviour == FakeMigration.PendingWithoutResp) return;
            await Send(new VmmpResp(req.MachineId, req.Version + 1, true));
            // Wait a moment for the front-end to read it before closing.
            await Task.Delay(200, _stopping.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or HttpRequestException or AuthenticationException) { }
    }

    private void MapMigration(WebApplication app)
    {
        var secured = app.MapGroup("").AddEndpointFilter(async (ctx, next) =>
            ctx.HttpContext.Request.Headers.Authorization.ToString() == $"Bearer {Secret}"
                ? await next(ctx)
                : Problem(401, ErrorCodes.Unauthenticated, "missing or wrong host secret"));

        secured.MapPut("/v1/exports/{id:guid}", (Guid id, ExportRequest r) => Act("export", id, () =>
        {
            if (!_machines.TryGetValue(id, out var m)) return Problem(404, ErrorCodes.NotFound, $"no machine {id}");
            if (m.Version != r.Version) return Problem(409, ErrorCodes.VersionMismatch, $"export at version {r.Version}, the agent holds {m.Version}");
            if (m.State == AgentStates.Running) return Problem(409, ErrorCodes.InvalidState, "cannot export a running machine");
            _exports[id] = (r.Version, r.Token);
            ExportedTo[id] = r.Destination;
            return Results.Ok(new { });
        }));
        secured.MapDelete("/v1/exports/{id:guid}", (Guid id) => Act("unexport", id, () =>
        {
            _exports.TryRemove(id, out _);
            return Results.NoContent();
        }));
        // The transfer route is authenticated by the migration token, not the host secret.
        app.MapGet("/v1/transfer/{id:guid}/manifest", (Guid id, HttpContext ctx) =>
        {
            if (!_exports.TryGetValue(id, out var export) || ctx.Request.Headers.Authorization.ToString() != $"Bearer {export.Token}")
                return Problem(401, ErrorCodes.Unauthenticated, "no export for this token");
            var m = _machines[id];
            return Results.Ok(new ExportManifest(id, m.Version, m.State, m.Image, [new ExportFile("disk.qcow2", 1_000_000, new string('0', 64))]));
        });

        secured.MapPut("/v1/migrations/{id:guid}", (Guid id, IncomingMigration r) => Act("expect", id, () =>
        {
            if (_machines.ContainsKey(id)) return Problem(409, ErrorCodes.Conflict, "the machine is already here");
            _incoming[id] = new Incoming(r);
            return Results.Ok(new { });
        }));
        secured.MapGet("/v1/migrations/{id:guid}", (Guid id) =>
            _incoming.TryGetValue(id, out var i)
                ? Results.Ok(new MigrationProgress(id, i.Phase, i.Request.Method, i.Request.Version, i.NewVersion, 1_000_000, Math.Min(i.BytesDone, 1_000_000),
                    Math.Min(i.BytesDone, 1_000_000) / 2, 2_000_000, i.Phase == MigrationPhases.Failed ? "failed as the test asked" : null))
                : Problem(404, ErrorCodes.NotFound, $"no migration of {id}"));
        secured.MapDelete("/v1/migrations/{id:guid}", (Guid id) => Act("discard", id, () =>
        {
            if (_incoming.TryGetValue(id, out var i) && i.Phase == MigrationPhases.Active)
                return Problem(409, ErrorCodes.InvalidState, "the migration was activated");
            if (i is not null) i.Discarded = true;
            _incoming.TryRemove(id, out _);
            return Results.NoContent();
        }));
        secured.MapPost("/v1/migrations/{id:guid}/activate", (Guid id, ActivateRequest r) => Act("activate", id, () =>
        {
            if (!_incoming.TryGetValue(id, out var i)) return Problem(404, ErrorCodes.NotFound, $"no migration of {id}");
            if (i.Phase == MigrationPhases.Active && i.NewVersion == r.NewVersion) return Results.Ok(_machines[id]);
            if (i.Phase != MigrationPhases.Pending || i.NewVersion != r.NewVersion)
                return Problem(409, ErrorCodes.InvalidState, $"the migration is {i.Phase} at {i.NewVersion}, asked to activate at {r.NewVersion}");
            var q = i.Request;
            _machines[id] = new AgentMachine(id, i.State!, r.NewVersion, q.Mac, q.MemoryMb, q.DiskMb, q.Image, null, q.CpuMillicores, q.Vcpus);
            i.Phase = MigrationPhases.Active;
            return Results.Ok(_machines[id]);
        }));
        secured.MapPost("/v1/machines/{id:guid}/retire", (Guid id, RetireRequest r) => Act("retire", id, () =>
        {
            if (_retired.TryGetValue(id, out var gone) && gone.Version == r.Version) return Results.NoContent();
            if (!_machines.TryGetValue(id, out var m)) return Problem(404, ErrorCodes.NotFound, $"no machine {id}");
            if (m.Version != r.Version) return Problem(409, ErrorCodes.VersionMismatch, $"retire at version {r.Version}, the agent holds {m.Version}");
            _retired[id] = m;
            _machines.TryRemove(id, out _);
            _exports.TryRemove(id, out _);
            return Results.NoContent();
        }));
    }
}
