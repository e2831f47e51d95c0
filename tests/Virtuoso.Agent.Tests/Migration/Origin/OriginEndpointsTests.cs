using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Virtuoso.Agent.Migration.Methods.Dedup;
using Virtuoso.Agent.Tests.Migration.Methods;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Microsoft.Extensions.DependencyInjection;

namespace Virtuoso.Agent.Tests.Migration.Origin;

/// <summary>The origin's side (design §6.2): exports, token-guarded transfer routes, retirement.</summary>
public sealed class OriginEndpointsTests : IAsyncLifetime
{
    private readonly TestDirectory _dir = new();
    private readonly FakeVmm _vmm = new();
    private AgentFactory _agent = null!;
    private HttpClient _client = null!;

    public Task InitializeAsync()
    {
        _agent = new AgentFactory(_dir.Sub("data"), _vmm);
        _client = _agent.CreateAuthenticatedClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _dir.Dispose();
    }

    private string MachineDir(Guid id) => Path.Combine(_agent.DataDirectory, "machines", id.ToString("D"));

    private async Task<Guid> SuspendedMachineAsync()
    {
        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id, version: 1));
        await _client.CommandAsync(id, "start", 1, 1);
        await _client.CommandAsync(id, "suspend", 1, 2);
        return id;
    }

    private HttpClient TokenClient(string token)
    {
        var client = _agent.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    [Fact]
    public async Task Export_SuspendedMachine_ListsDiskAndStateWithTheirHashes()
    {
        var id = await SuspendedMachineAsync();

        var response = await _client.PutAsJsonAsync(MigrationRoutes.Export(id), new ExportRequest(2, MigrationCalls.NewToken()));

        var manifest = await AgentApi.ReadAsync<ExportManifest>(response);
        Assert.Equal(id, manifest.Id);
        Assert.Equal(2, manifest.Version);
        Assert.Equal(AgentStates.Suspended, manifest.State);
        Assert.Equal(["disk.qcow2", "state.bin"], manifest.Files.Select(f => f.Name));
        foreach (var file in manifest.Files)
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(MachineDir(id), file.Name));
            Assert.Equal(bytes.Length, file.Length);
            Assert.Equal(TransferHarness.DigestOf(Path.Combine(MachineDir(id), file.Name)), file.Digest);
        }
    }

    [Fact]
    public async Task Export_Again_DoesNotHashUnchangedFilesTwice_EvenAfterARestart()
    {
        var id = await SuspendedMachineAsync();
        var index = _agent.Services.GetRequiredService<BlockIndexStore>();
        await AgentApi.ReadAsync<ExportManifest>(await _client.PutAsJsonAsync(MigrationRoutes.Export(id), new ExportRequest(2, MigrationCalls.NewToken())));
        var hashedOnce = index.BytesHashed;

        await AgentApi.ReadAsync<ExportManifest>(await _client.PutAsJsonAsync(MigrationRoutes.Export(id), new ExportRequest(2, MigrationCalls.NewToken())));
        var restarted = new BlockIndexStore(_agent.DataDirectory);
        foreach (var file in new[] { "disk.qcow2", "state.bin" })
            await restarted.GetOrHashAsync(Path.Combine(MachineDir(id), file), CancellationToken.None);

        Assert.True(hashedOnce > 0);
        Assert.Equal(hashedOnce, index.BytesHashed);
        Assert.Equal(0, restarted.BytesHashed); // the index is on disk, by inode
    }

    [Fact]
    public async Task Suspend_FingerprintsTheFilesInTheBackground_SoTheExportReadsNothing()
    {
        var id = await SuspendedMachineAsync();
        var index = _agent.Services.GetRequiredService<BlockIndexStore>();
        var files = new[] { "disk.qcow2", "state.bin" }.Select(f => Path.Combine(MachineDir(id), f)).ToList();
        for (var waited = 0; files.Any(f => index.TryLoad(f) is null); waited += 50)
        {
            Assert.True(waited < 10_000, "the suspended machine's files were not fingerprinted within 10 s");
            await Task.Delay(50);
        }
        var hashed = index.BytesHashed;

        var manifest = await AgentApi.ReadAsync<ExportManifest>(await _client.PutAsJsonAsync(MigrationRoutes.Export(id), new ExportRequest(2, MigrationCalls.NewToken())));

        Assert.Equal(hashed, index.BytesHashed);
        Assert.Equal(files.Select(TransferHarness.DigestOf), manifest.Files.Select(f => f.Digest));
    }

    [Fact]
    public async Task Export_RunningMachine_IsRefused()
    {
        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id, version: 1));
        await _client.CommandAsync(id, "start", 1, 1);

        var response = await _client.PutAsJsonAsync(MigrationRoutes.Export(id), new ExportRequest(1, MigrationCalls.NewToken()));

        await AgentApi.AssertProblemAsync(response, HttpStatusCode.Conflict, ErrorCodes.InvalidState);
    }

    [Fact]
    public async Task Export_WrongVersionUnknownMachineOrShortToken_IsRefused()
    {
        var id = await SuspendedMachineAsync();

        await AgentApi.AssertProblemAsync(await _client.PutAsJsonAsync(MigrationRoutes.Export(id), new ExportRequest(1, MigrationCalls.NewToken())),
            HttpStatusCode.Conflict, ErrorCodes.VersionMismatch);
        await AgentApi.AssertProblemAsync(await _client.PutAsJsonAsync(MigrationRoutes.Export(Guid.NewGuid()), new ExportRequest(2, MigrationCalls.NewToken())),
            HttpStatusCode.NotFound, ErrorCodes.NotFound);
        await AgentApi.AssertProblemAsync(await _client.PutAsJsonAsync(MigrationRoutes.Export(id), new ExportRequest(2, "short")),
            HttpStatusCode.BadRequest, ErrorCodes.Validation);
    }

    [Fact]
    public async Task Exported_ResumeStartAndDelete_AreRefusedUntilTheExportIsWithdrawn()
    {
        var id = await SuspendedMachineAsync();
        await AgentApi.ReadAsync<ExportManifest>(await _client.PutAsJsonAsync(MigrationRoutes.Export(id), new ExportRequest(2, MigrationCalls.NewToken())));

        await AgentApi.AssertProblemAsync(await _client.PostCommandAsync(id, "resume", 2, 2), HttpStatusCode.Conflict, ErrorCodes.Conflict);
        await AgentApi.AssertProblemAsync(await _client.DeleteAsync(AgentRoutes.Machine(id)), HttpStatusCode.Conflict, ErrorCodes.Conflict);

        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync(MigrationRoutes.Export(id))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync(MigrationRoutes.Export(id))).StatusCode);
        Assert.Equal(AgentStates.Running, (await _client.CommandAsync(id, "resume", 2, 2)).State);
    }

    [Fact]
    public async Task Transfer_WithTheToken_ServesManifestAndFileWithRanges()
    {
        var id = await SuspendedMachineAsync();
        var token = MigrationCalls.NewToken();
        var manifest = await AgentApi.ReadAsync<ExportManifest>(await _client.PutAsJsonAsync(MigrationRoutes.Export(id), new ExportRequest(2, token)));
        var peer = TokenClient(token);

        Assert.Equal(manifest.Files, (await peer.GetFromJsonAsync<ExportManifest>(TransferRoutes.Manifest(id)))!.Files);
        var disk = await File.ReadAllBytesAsync(Path.Combine(MachineDir(id), "disk.qcow2"));
        Assert.Equal(disk, await peer.GetByteArrayAsync(TransferRoutes.File(id, "disk.qcow2")));
        using var range = new HttpRequestMessage(HttpMethod.Get, TransferRoutes.File(id, "disk.qcow2"));
        range.Headers.Range = new RangeHeaderValue(2, 5);
        var partial = await peer.SendAsync(range);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(disk[2..6], await partial.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await peer.GetAsync(TransferRoutes.File(id, "machine.json"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await peer.GetAsync($"/v1/transfer/{id}/files/..%2Fmachine.json")).StatusCode);
    }

    [Fact]
    public async Task Transfer_WithAWrongOrMissingTokenOrTheHostSecret_Is401()
    {
        var id = await SuspendedMachineAsync();
        await AgentApi.ReadAsync<ExportManifest>(await _client.PutAsJsonAsync(MigrationRoutes.Export(id), new ExportRequest(2, MigrationCalls.NewToken())));

        foreach (var client in new[] { TokenClient(MigrationCalls.NewToken()), _agent.CreateClient(), _client })
        {
            await AgentApi.AssertProblemAsync(await client.GetAsync(TransferRoutes.Manifest(id)), HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
            await AgentApi.AssertProblemAsync(await client.GetAsync(TransferRoutes.File(id, "disk.qcow2")), HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
        }
    }

    [Fact]
    public async Task Transfer_WithTheTokenOfAnotherMachine_Is401()
    {
        var mine = await SuspendedMachineAsync();
        var other = await SuspendedMachineAsync();
        var otherToken = MigrationCalls.NewToken();
        await AgentApi.ReadAsync<ExportManifest>(await _client.PutAsJsonAsync(MigrationRoutes.Export(mine), new ExportRequest(2, MigrationCalls.NewToken())));
        await AgentApi.ReadAsync<ExportManifest>(await _client.PutAsJsonAsync(MigrationRoutes.Export(other), new ExportRequest(2, otherToken)));
        var peer = TokenClient(otherToken);

        await AgentApi.AssertProblemAsync(await peer.GetAsync(TransferRoutes.Manifest(mine)), HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
        await AgentApi.AssertProblemAsync(await peer.GetAsync(TransferRoutes.File(mine, "disk.qcow2")), HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
        Assert.Equal(HttpStatusCode.OK, (await peer.GetAsync(TransferRoutes.Manifest(other))).StatusCode);
    }

    [Fact]
    public async Task Transfer_AfterTheExportIsWithdrawn_Is401()
    {
        var id = await SuspendedMachineAsync();
        var token = MigrationCalls.NewToken();
        await AgentApi.ReadAsync<ExportManifest>(await _client.PutAsJsonAsync(MigrationRoutes.Export(id), new ExportRequest(2, token)));
        await _client.DeleteAsync(MigrationRoutes.Export(id));

        await AgentApi.AssertProblemAsync(await TokenClient(token).GetAsync(TransferRoutes.Manifest(id)), HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
    }

    [Fact]
    public async Task Retire_MovesTheMachineIntoTheCache_AndIsIdempotent()
    {
        var id = await SuspendedMachineAsync();
        var token = MigrationCalls.NewToken();
        await AgentApi.ReadAsync<ExportManifest>(await _client.PutAsJsonAsync(MigrationRoutes.Export(id), new ExportRequest(2, token)));

        Assert.Equal(HttpStatusCode.NoContent, (await _client.PostAsJsonAsync(MigrationRoutes.Retire(id), new RetireRequest(2))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _client.PostAsJsonAsync(MigrationRoutes.Retire(id), new RetireRequest(2))).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync(AgentRoutes.Machine(id))).StatusCode);
        Assert.False(Directory.Exists(MachineDir(id)));
        var cache = Path.Combine(_agent.DataDirectory, "cache", id.ToString("D"));
        Assert.True(File.Exists(Path.Combine(cache, "disk.qcow2")));
        Assert.True(File.Exists(Path.Combine(cache, "state.bin")));
        await AgentApi.AssertProblemAsync(await TokenClient(token).GetAsync(TransferRoutes.Manifest(id)), HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
    }

    [Fact]
    public async Task Retire_WrongVersionOrRunning_IsRefusedAndKeepsTheMachine()
    {
        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id, version: 1));

        await AgentApi.AssertProblemAsync(await _client.PostAsJsonAsync(MigrationRoutes.Retire(id), new RetireRequest(2)), HttpStatusCode.Conflict, ErrorCodes.VersionMismatch);
        await _client.CommandAsync(id, "start", 1, 1);
        await AgentApi.AssertProblemAsync(await _client.PostAsJsonAsync(MigrationRoutes.Retire(id), new RetireRequest(1)), HttpStatusCode.Conflict, ErrorCodes.InvalidState);

        Assert.Equal(AgentStates.Running, (await _client.GetMachineAsync(id)).State);
    }
}
