using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Agent.Migration.Methods;
using Virtuoso.Agent.Network;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.Agent.Tests.Migration.Incoming;

/// <summary>
/// The destination's side (design §6.2) between two agents on loopback ports, with a fake VMM (the files are small
/// stand-ins; the real-QEMU journey is in MigrationJourneyTests): REQ, heartbeats, SCP over HTTP, hash check,
/// pending, RESP, activation, cancellation, corruption, restart.
/// </summary>
public sealed class IncomingMigrationsTests : IAsyncLifetime
{
    private readonly TestDirectory _dir = new();
    private readonly FakeVmm _originVmm = new();
    private readonly FakeVmm _destinationVmm = new();
    private readonly FakeCentral _central = new();
    private readonly FakeHostLinks _originLinks = new();
    private readonly FakeHostLinks _destinationLinks = new();
    private AgentFactory _origin = null!;
    private AgentFactory _destination = null!;
    private HttpClient _a = null!;
    private HttpClient _b = null!;

    public Task InitializeAsync()
    {
        _origin = KestrelAgent.Start(_dir.Sub("a"), _originVmm, services: s => FakeNetwork(s, _originLinks));
        _destination = StartDestination();
        _a = _origin.CreateAuthenticatedClient();
        _b = _destination.CreateAuthenticatedClient();
        return Task.CompletedTask;
    }

    private AgentFactory StartDestination() =>
        KestrelAgent.Start(Path.Combine(_dir.Path, "b"), _destinationVmm, new() { ["heartbeat-interval"] = "0.2" },
            s =>
            {
                s.AddSingleton<ITransferMethod, StallingMethod>();
                FakeNetwork(s, _destinationLinks);
            });

    // Issue 16: the agents' private networks act on fakes, never on the host's namespace.
    private static void FakeNetwork(IServiceCollection s, FakeHostLinks links)
    {
        s.AddSingleton<ICommandRunner>(links);
        s.AddSingleton<OpenDhcp>((_, _) => null);
    }

    public async Task DisposeAsync()
    {
        _central.Dispose();
        await _origin.DisposeAsync();
        await _destination.DisposeAsync();
        _dir.Dispose();
    }

    private string Dir(AgentFactory agent, params string[] parts) => Path.Combine([agent.DataDirectory, .. parts]);

    /// <summary>A suspended machine on the origin at version 2, exported with a fresh token, and announced to the destination.</summary>
    private async Task<(Guid Id, string Token)> PrepareAsync(string method = VmmpMethods.Scp, PrivateNetwork? network = null)
    {
        var id = Guid.NewGuid();
        await _a.CreateAsync(AgentApi.Blank(id, version: 1));
        await _a.CommandAsync(id, "start", new MachineCommand(1, 1, Network: network));
        await _a.CommandAsync(id, "suspend", 1, 2);
        var token = MigrationCalls.NewToken();
        await AgentApi.ReadAsync<ExportManifest>(await _a.PutAsJsonAsync(MigrationRoutes.Export(id), new ExportRequest(2, token)));
        await AgentApi.ReadAsync<MigrationProgress>(await _b.PutAsJsonAsync(MigrationRoutes.Incoming(id), MigrationCalls.Incoming(_origin, 2, token, method)));
        return (id, token);
    }

    private async Task SendReqAsync(Guid id, string method = VmmpMethods.Scp)
    {
        var answer = await VmmpPeer.AskAsync(await _destination.VmmpPortAsync(), MigrationCalls.Req(id, 2, _origin, _central.Port, method));
        Assert.Null(answer); // accepted: the destination closes the connection
    }

    [Fact]
    public async Task Req_Announced_CopiesVerifiesAndAnswersSuccessWithVersionPlusOne()
    {
        var (id, _) = await PrepareAsync();

        await SendReqAsync(id);
        var received = await _central.ReceiveUntilRespAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(new VmmpResp(id, 3, true), received[^1]);
        Assert.IsType<VmmpHeartbeat>(received[0]);
        var progress = await _b.GetFromJsonAsync<MigrationProgress>(MigrationRoutes.Incoming(id));
        Assert.Equal(MigrationPhases.Pending, progress!.Phase);
        Assert.Equal(3, progress.NewVersion);
        Assert.Equal(progress.BytesTotal, progress.BytesDone);
        Assert.True(progress.BytesOnWire > 0);
        foreach (var file in new[] { "disk.qcow2", "state.bin" })
            Assert.Equal(await File.ReadAllBytesAsync(Dir(_origin, "machines", id.ToString("D"), file)),
                await File.ReadAllBytesAsync(Dir(_destination, "incoming", id.ToString("D"), file)));
        // Pending is not a machine yet.
        Assert.Equal(HttpStatusCode.NotFound, (await _b.GetAsync(AgentRoutes.Machine(id))).StatusCode);
    }

    [Fact]
    public async Task Activate_Pending_MakesTheMachineAtTheNewVersion_ThenRetireMovesTheOrigin()
    {
        var (id, _) = await PrepareAsync();
        await SendReqAsync(id);
        await _central.ReceiveUntilRespAsync(TimeSpan.FromSeconds(30));

        await AgentApi.AssertProblemAsync(await _b.PostAsJsonAsync(MigrationRoutes.Activate(id), new ActivateRequest(4)), HttpStatusCode.Conflict, ErrorCodes.InvalidState);
        var machine = await AgentApi.ReadAsync<AgentMachine>(await _b.PostAsJsonAsync(MigrationRoutes.Activate(id), new ActivateRequest(3)));
        var again = await AgentApi.ReadAsync<AgentMachine>(await _b.PostAsJsonAsync(MigrationRoutes.Activate(id), new ActivateRequest(3)));
        (await _a.PostAsJsonAsync(MigrationRoutes.Retire(id), new RetireRequest(2))).EnsureSuccessStatusCode();

        Assert.Equal(new AgentMachine(id, AgentStates.Suspended, 3, "52:54:00:12:34:56", 128, 100, null, null), machine);
        Assert.Equal(machine, again);
        Assert.Equal(MigrationPhases.Active, (await _b.GetFromJsonAsync<MigrationProgress>(MigrationRoutes.Incoming(id)))!.Phase);
        Assert.Contains("\"originHost\": \"origin-host\"", await File.ReadAllTextAsync(Dir(_destination, "machines", id.ToString("D"), "machine.json")));
        Assert.False(Directory.Exists(Dir(_destination, "incoming", id.ToString("D"))));
        Assert.Equal(HttpStatusCode.NotFound, (await _a.GetAsync(AgentRoutes.Machine(id))).StatusCode);
        Assert.True(File.Exists(Dir(_origin, "cache", id.ToString("D"), "disk.qcow2")));
        await AgentApi.AssertProblemAsync(await _b.DeleteAsync(MigrationRoutes.Incoming(id)), HttpStatusCode.Conflict, ErrorCodes.InvalidState);
    }

    [Fact]
    public async Task Activate_OfAMachineSuspendedWithAPrivateNic_KeepsIt_SoTheResumeHasTheSameDevices()
    {
        var network = new PrivateNetwork(42, "10.128.0.5", 24, ["192.0.2.2"]);
        var (id, token) = await PrepareAsync(network: network);
        using var transfer = _origin.CreateClient();
        transfer.DefaultRequestHeaders.Authorization = new("Bearer", token);
        var manifest = await transfer.GetFromJsonAsync<ExportManifest>(TransferRoutes.Manifest(id));
        Assert.True(manifest!.PrivateNic);
        await SendReqAsync(id);
        await _central.ReceiveUntilRespAsync(TimeSpan.FromSeconds(30));

        await AgentApi.ReadAsync<AgentMachine>(await _b.PostAsJsonAsync(MigrationRoutes.Activate(id), new ActivateRequest(3)));
        var resumed = await _b.CommandAsync(id, "resume", new MachineCommand(3, 4, Network: network with { Peers = ["192.0.2.1"] }));

        Assert.Equal(NetworkNames.Tap(id), Assert.Single(_destinationVmm.Launches).PrivateTap);
        Assert.Equal(new AgentNic(42, "52:54:00:12:34:56", "10.128.0.5", NetworkNames.Tap(id), "vbr-2a"), resumed.Nic);
        Assert.Equal(["192.0.2.1"], _destinationLinks.Fdb("vx-2a"));
        Assert.Contains("\"privateNic\": true", await File.ReadAllTextAsync(Dir(_destination, "machines", id.ToString("D"), "machine.json")));
    }

    [Fact]
    public async Task Announce_MachineAlreadyActiveHere_IsRefused()
    {
        var id = Guid.NewGuid();
        await _b.CreateAsync(AgentApi.Blank(id, version: 2));

        var response = await _b.PutAsJsonAsync(MigrationRoutes.Incoming(id), MigrationCalls.Incoming(_origin, 2, MigrationCalls.NewToken()));

        await AgentApi.AssertProblemAsync(response, HttpStatusCode.Conflict, ErrorCodes.Conflict);
    }

    [Fact]
    public async Task Announce_Repeated_IsIdempotent_AndBadAnnouncementsAreRefused()
    {
        var id = Guid.NewGuid();
        var announced = MigrationCalls.Incoming(_origin, 2, MigrationCalls.NewToken());

        var first = await AgentApi.ReadAsync<MigrationProgress>(await _b.PutAsJsonAsync(MigrationRoutes.Incoming(id), announced));
        var second = await AgentApi.ReadAsync<MigrationProgress>(await _b.PutAsJsonAsync(MigrationRoutes.Incoming(id), announced));

        Assert.Equal(first, second);
        Assert.Equal(MigrationPhases.Expected, first.Phase);
        foreach (var bad in new[]
                 {
                     announced with { Method = "FTP" }, announced with { Origin = "http://alpha:7001" }, announced with { Token = "x" },
                     announced with { Mac = "nope" }, announced with { MemoryMb = 0 }, announced with { Version = -1 },
                 })
            await AgentApi.AssertProblemAsync(await _b.PutAsJsonAsync(MigrationRoutes.Incoming(id), bad), HttpStatusCode.BadRequest, ErrorCodes.Validation);
    }

    [Fact]
    public async Task CorruptedFile_EndsInFail_AndLeavesNothingOnTheDestination()
    {
        var (id, _) = await PrepareAsync();
        // The origin's disk changes after its hash went into the manifest: what arrives does not match.
        var disk = Dir(_origin, "machines", id.ToString("D"), "disk.qcow2");
        var bytes = await File.ReadAllBytesAsync(disk);
        bytes[0] ^= 0xFF;
        await File.WriteAllBytesAsync(disk, bytes);

        await SendReqAsync(id);
        var received = await _central.ReceiveUntilRespAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(new VmmpResp(id, 2, false), received[^1]);
        var progress = await _b.GetFromJsonAsync<MigrationProgress>(MigrationRoutes.Incoming(id));
        Assert.Equal(MigrationPhases.Failed, progress!.Phase);
        Assert.Contains("digest", progress.Error);
        Assert.False(Directory.Exists(Dir(_destination, "incoming", id.ToString("D"))));
        Assert.Equal(HttpStatusCode.NotFound, (await _b.GetAsync(AgentRoutes.Machine(id))).StatusCode);
        await AgentApi.AssertProblemAsync(await _b.PostAsJsonAsync(MigrationRoutes.Activate(id), new ActivateRequest(3)), HttpStatusCode.Conflict, ErrorCodes.InvalidState);
    }

    [Fact]
    public async Task WrongToken_EndsInFail()
    {
        var (id, _) = await PrepareAsync();
        (await _b.DeleteAsync(MigrationRoutes.Incoming(id))).EnsureSuccessStatusCode();
        await AgentApi.ReadAsync<MigrationProgress>(await _b.PutAsJsonAsync(MigrationRoutes.Incoming(id), MigrationCalls.Incoming(_origin, 2, MigrationCalls.NewToken())));

        await SendReqAsync(id);
        var received = await _central.ReceiveUntilRespAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(new VmmpResp(id, 2, false), received[^1]);
        Assert.Contains("401", (await _b.GetFromJsonAsync<MigrationProgress>(MigrationRoutes.Incoming(id)))!.Error);
    }

    [Fact]
    public async Task Delete_DuringACopy_StopsItAndDiscardsTheStagingDirectory()
    {
        var (id, _) = await PrepareAsync(StallingMethod.MethodName);
        await SendReqAsync(id, StallingMethod.MethodName);
        var staging = Dir(_destination, "incoming", id.ToString("D"));
        await MigrationCalls.WaitForPhaseAsync(_b, id, MigrationPhases.Copying, TimeSpan.FromSeconds(10));
        for (var i = 0; i < 100 && !File.Exists(Path.Combine(staging, "disk.qcow2")); i++)
            await Task.Delay(100);
        Assert.True(File.Exists(Path.Combine(staging, "disk.qcow2")), "the stalling method began to write");
        var copying = await _b.GetFromJsonAsync<MigrationProgress>(MigrationRoutes.Incoming(id));
        for (var i = 0; i < 100 && copying!.BytesDone < 4096; i++)
        {
            await Task.Delay(100);
            copying = await _b.GetFromJsonAsync<MigrationProgress>(MigrationRoutes.Incoming(id));
        }
        Assert.Equal((4096, 1024), (copying!.BytesDone, copying.BytesOnWire));
        Assert.True(copying.BytesPerSecond > 0, $"rate {copying.BytesPerSecond}");
        Assert.True(copying.BytesTotal > 0);

        Assert.Equal(HttpStatusCode.NoContent, (await _b.DeleteAsync(MigrationRoutes.Incoming(id))).StatusCode);
        var received = await _central.ReceiveUntilRespAsync(TimeSpan.FromSeconds(30));

        Assert.False(Directory.Exists(staging));
        Assert.Equal(new VmmpResp(id, 2, false), received[^1]);
        Assert.True(received.Count(m => m is VmmpHeartbeat) >= 1);
        Assert.Equal(HttpStatusCode.NotFound, (await _b.GetAsync(MigrationRoutes.Incoming(id))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _b.DeleteAsync(MigrationRoutes.Incoming(id))).StatusCode);
    }

    [Fact]
    public async Task Restart_KeepsAPendingCopyActivatable()
    {
        var (id, _) = await PrepareAsync();
        await SendReqAsync(id);
        await _central.ReceiveUntilRespAsync(TimeSpan.FromSeconds(30));

        await KestrelAgent.StopAsync(_destination);
        _destination = StartDestination();
        _b = _destination.CreateAuthenticatedClient();

        Assert.Equal(MigrationPhases.Pending, (await _b.GetFromJsonAsync<MigrationProgress>(MigrationRoutes.Incoming(id)))!.Phase);
        var machine = await AgentApi.ReadAsync<AgentMachine>(await _b.PostAsJsonAsync(MigrationRoutes.Activate(id), new ActivateRequest(3)));
        Assert.Equal(3, machine.Version);
    }

    [Fact]
    public async Task Restart_DuringACopy_FailsItAndDiscardsTheStagingDirectory()
    {
        var (id, _) = await PrepareAsync(StallingMethod.MethodName);
        await SendReqAsync(id, StallingMethod.MethodName);
        await MigrationCalls.WaitForPhaseAsync(_b, id, MigrationPhases.Copying, TimeSpan.FromSeconds(10));

        await KestrelAgent.StopAsync(_destination);
        _destination = StartDestination();
        _b = _destination.CreateAuthenticatedClient();

        var progress = await _b.GetFromJsonAsync<MigrationProgress>(MigrationRoutes.Incoming(id));
        Assert.Equal(MigrationPhases.Failed, progress!.Phase);
        Assert.False(Directory.Exists(Dir(_destination, "incoming", id.ToString("D"))));
    }

    [Fact]
    public async Task Restart_AfterACrashDuringACopy_FailsItAndDiscardsTheStagingDirectory()
    {
        // What a crash in the middle of a copy leaves: the record says copying, half a file in staging.
        var id = Guid.NewGuid();
        await KestrelAgent.StopAsync(_destination);
        var incoming = Dir(_destination, "incoming");
        Directory.CreateDirectory(Path.Combine(incoming, id.ToString("D")));
        await File.WriteAllBytesAsync(Path.Combine(incoming, id.ToString("D"), "disk.qcow2"), new byte[1000]);
        var record = new Virtuoso.Agent.Migration.Incoming.IncomingMigrations.Record(
            id, MigrationCalls.Incoming(_origin, 2, MigrationCalls.NewToken()), MigrationPhases.Copying, null, null, null);
        await File.WriteAllBytesAsync(Path.Combine(incoming, $"{id:D}.json"), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(record, System.Text.Json.JsonSerializerOptions.Web));

        _destination = StartDestination();
        _b = _destination.CreateAuthenticatedClient();

        var progress = await _b.GetFromJsonAsync<MigrationProgress>(MigrationRoutes.Incoming(id));
        Assert.Equal(MigrationPhases.Failed, progress!.Phase);
        Assert.Contains("restarted", progress.Error);
        Assert.False(Directory.Exists(Path.Combine(incoming, id.ToString("D"))));
        await AgentApi.AssertProblemAsync(await _b.PostAsJsonAsync(MigrationRoutes.Activate(id), new ActivateRequest(3)), HttpStatusCode.Conflict, ErrorCodes.InvalidState);
    }

    [Fact]
    public async Task Announce_UnknownImage_IsRefused()
    {
        var response = await _b.PutAsJsonAsync(MigrationRoutes.Incoming(Guid.NewGuid()),
            MigrationCalls.Incoming(_origin, 2, MigrationCalls.NewToken(), image: "no-such-image"));

        await AgentApi.AssertProblemAsync(response, HttpStatusCode.BadRequest, ErrorCodes.Validation);
    }

    [Fact]
    public async Task MigrateThereAndBack_EachSideRetiresIntoItsCache_AndActivationDropsTheStaleCache()
    {
        var (id, _) = await PrepareAsync();
        await SendReqAsync(id);
        Assert.Equal(new VmmpResp(id, 3, true), (await _central.ReceiveUntilRespAsync(TimeSpan.FromSeconds(30)))[^1]);
        await AgentApi.ReadAsync<AgentMachine>(await _b.PostAsJsonAsync(MigrationRoutes.Activate(id), new ActivateRequest(3)));
        (await _a.PostAsJsonAsync(MigrationRoutes.Retire(id), new RetireRequest(2))).EnsureSuccessStatusCode();
        Assert.True(Directory.Exists(Dir(_origin, "cache", id.ToString("D"))));

        // Back from B (origin now) to A (destination now), at version 3.
        var token = MigrationCalls.NewToken();
        await AgentApi.ReadAsync<ExportManifest>(await _b.PutAsJsonAsync(MigrationRoutes.Export(id), new ExportRequest(3, token)));
        await AgentApi.ReadAsync<MigrationProgress>(await _a.PutAsJsonAsync(MigrationRoutes.Incoming(id), MigrationCalls.Incoming(_destination, 3, token)));
        var back = MigrationCalls.Req(id, 3, _destination, _central.Port);
        Assert.Null(await VmmpPeer.AskAsync(await _origin.VmmpPortAsync(), back));
        Assert.Equal(new VmmpResp(id, 4, true), (await _central.ReceiveUntilRespAsync(TimeSpan.FromSeconds(30)))[^1]);
        var machine = await AgentApi.ReadAsync<AgentMachine>(await _a.PostAsJsonAsync(MigrationRoutes.Activate(id), new ActivateRequest(4)));
        (await _b.PostAsJsonAsync(MigrationRoutes.Retire(id), new RetireRequest(3))).EnsureSuccessStatusCode();

        Assert.Equal(4, machine.Version);
        Assert.Equal(AgentStates.Suspended, machine.State);
        Assert.False(Directory.Exists(Dir(_origin, "cache", id.ToString("D"))));
        Assert.True(Directory.Exists(Dir(_destination, "cache", id.ToString("D"))));
        Assert.Equal(HttpStatusCode.NotFound, (await _b.GetAsync(AgentRoutes.Machine(id))).StatusCode);
    }

    /// <summary>A method that writes a little, then waits until cancelled: a copy that is still going.</summary>
    private sealed class StallingMethod : ITransferMethod
    {
        public const string MethodName = "STALL";
        public string Name => MethodName;

        public void MapOriginRoutes(IEndpointRouteBuilder transfer)
        {
        }

        public async Task<bool> FetchAsync(FetchContext context, CancellationToken ct)
        {
            context.Progress.Report(new TransferProgress(0, 0));
            await Task.Delay(300, ct);
            await File.WriteAllBytesAsync(Path.Combine(context.StagingDirectory, "disk.qcow2"), new byte[4096], ct);
            context.Progress.Report(new TransferProgress(4096, 1024));
            await Task.Delay(Timeout.Infinite, ct);
            return false;
        }
    }
}
