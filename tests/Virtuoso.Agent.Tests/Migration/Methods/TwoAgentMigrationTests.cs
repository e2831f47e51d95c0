using System.Net;
using System.Net.Http.Json;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.Agent.Tests.Migration.Methods;

/// <summary>
/// DEDUP and RSYNC inside the whole migration server: two agents on loopback ports, real QEMU and the linux-busybox
/// guest, the test acting as the front-end (design §6.2). The machine goes there suspended and comes back stopped;
/// the way back finds the origin's retired copy in its cache, so only a delta travels.
/// </summary>
[Collection(QemuCollection.Name)]
public sealed class TwoAgentMigrationTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private readonly TestDirectory _dir = new();
    private AgentFactory _a = null!;
    private AgentFactory _b = null!;

    public Task InitializeAsync()
    {
        if (!RealQemu.Installed || !RealQemu.GuestImageBuilt)
            return Task.CompletedTask;
        Dictionary<string, string?> settings = new() { ["images"] = RealQemu.ImagesDirectory, ["stop-timeout"] = "30" };
        _a = KestrelAgent.Start(_dir.Sub("a"), vmm: null, settings);
        _b = KestrelAgent.Start(_dir.Sub("b"), vmm: null, settings);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_a is not null)
            await _a.DisposeAsync();
        if (_b is not null)
            await _b.DisposeAsync();
        _dir.Dispose();
    }

    [GuestImageFact]
    public Task Dedup_ThereSuspendedAndBackStopped_KeepsTheGuestsFilesAndSendsOnlyADeltaBack() => ThereAndBackAsync(VmmpMethods.Dedup);

    [GuestImageFact]
    public Task Rsync_ThereSuspendedAndBackStopped_KeepsTheGuestsFilesAndSendsOnlyADeltaBack() => ThereAndBackAsync(VmmpMethods.Rsync);

    private async Task ThereAndBackAsync(string method)
    {
        var a = _a.CreateAuthenticatedClient();
        var b = _b.CreateAuthenticatedClient();
        var id = Guid.NewGuid();
        var dirA = Path.Combine(_a.DataDirectory, "machines", id.ToString("D"));
        var dirB = Path.Combine(_b.DataDirectory, "machines", id.ToString("D"));

        await a.CreateAsync(AgentApi.Blank(id, version: 1, memoryMb: 256, diskMb: 1000) with { Image = "linux-busybox" });
        await a.CommandAsync(id, "start", 1, 1);
        Task<string> SerialA() => a.GetStringAsync(AgentRoutes.Serial(id));
        await SerialConsole.WaitForAsync(SerialA, "Virtuoso guest ready", Timeout);
        await SerialConsole.RunAsync(dirA, SerialA, 
            "echo went-there > /root/m; dd if=/dev/urandom of=/root/big bs=1M count=16 2>/dev/null; sync; echo $((6*7))-written", "42-written", Timeout);
        await a.CommandAsync(id, "suspend", 1, 2);

        var there = await MigrateAsync(_a, _b, id, version: 2, method);
        Assert.Equal(there.BytesDone, there.BytesTotal);

        await b.CommandAsync(id, "resume", 3, 3);
        Task<string> SerialB() => b.GetStringAsync(AgentRoutes.Serial(id));
        await SerialConsole.RunAsync(dirB, SerialB, "cat /root/m; echo came-back > /root/n; sync; echo $((6*8))-written", "48-written", Timeout);
        await b.CommandAsync(id, "stop", 3, 4);

        var back = await MigrateAsync(_b, _a, id, version: 4, method);

        // The disk (16 MiB of the guest's data) went back to a host holding its older copy: far less than it crossed the network.
        Assert.True(back.BytesTotal > 16 << 20, $"the disk holds the guest's data: {back.BytesTotal} bytes");
        Assert.True(back.BytesOnWire < back.BytesTotal / 2, $"{method}: {back.BytesOnWire} of {back.BytesTotal} bytes on the wire");
        await a.CommandAsync(id, "start", 5, 5);
        await SerialConsole.WaitForAsync(SerialA, "Virtuoso guest ready", Timeout);
        await SerialConsole.RunAsync(dirA, SerialA, "cat /root/m /root/n", "came-back", Timeout);
        Assert.Contains("went-there", await SerialA());
        await a.CommandAsync(id, "stop", 5, 6);
    }

    /// <summary>The front-end's part of design §6.2: export, announce, REQ, RESP, activate, retire. Returns the destination's final progress.</summary>
    private static async Task<MigrationProgress> MigrateAsync(AgentFactory from, AgentFactory to, Guid id, long version, string method)
    {
        var origin = from.CreateAuthenticatedClient();
        var destination = to.CreateAuthenticatedClient();
        var vmmp = await to.VmmpPortAsync();
        var results = VmmpWire.Parse((await VmmpPeer.AskAsync(vmmp, new VmmpQuery(id)))!).Message;
        Assert.Contains(method, Assert.IsType<VmmpResults>(results).Methods);
        var token = MigrationCalls.NewToken();
        await AgentApi.ReadAsync<ExportManifest>(await origin.PutAsJsonAsync(MigrationRoutes.Export(id), new ExportRequest(version, token)));
        await AgentApi.ReadAsync<MigrationProgress>(await destination.PutAsJsonAsync(MigrationRoutes.Incoming(id),
            MigrationCalls.Incoming(from, version, token, method, image: "linux-busybox", memoryMb: 256, diskMb: 1000)));
        using var central = new FakeCentral();
        Assert.Null(await VmmpPeer.AskAsync(vmmp, MigrationCalls.Req(id, version, from, central.Port, method)));
        var received = await central.ReceiveUntilRespAsync(Timeout);
        Assert.Equal(new VmmpResp(id, version + 1, true), received[^1]);
        var progress = await destination.GetFromJsonAsync<MigrationProgress>(MigrationRoutes.Incoming(id));
        Assert.Equal(MigrationPhases.Pending, progress!.Phase);
        await AgentApi.ReadAsync<AgentMachine>(await destination.PostAsJsonAsync(MigrationRoutes.Activate(id), new ActivateRequest(version + 1)));
        Assert.Equal(HttpStatusCode.NoContent, (await origin.PostAsJsonAsync(MigrationRoutes.Retire(id), new RetireRequest(version))).StatusCode);
        return progress;
    }
}
