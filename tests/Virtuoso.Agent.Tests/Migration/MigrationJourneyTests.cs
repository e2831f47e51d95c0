using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.Agent.Tests.Migration;

/// <summary>
/// A whole migration between two agents on loopback ports with real QEMU and the linux-busybox guest, the test
/// acting as the front-end (design §6.2): a file written in the guest before suspend is there after resume on the
/// destination.
/// </summary>
[Collection(QemuCollection.Name)]
public sealed class MigrationJourneyTests : IAsyncLifetime
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
    public async Task SuspendedGuest_MigratedBySCP_ResumesOnTheDestinationWithItsFile()
    {
        var a = _a.CreateAuthenticatedClient();
        var b = _b.CreateAuthenticatedClient();
        var id = Guid.NewGuid();
        var dirA = Path.Combine(_a.DataDirectory, "machines", id.ToString("D"));
        var dirB = Path.Combine(_b.DataDirectory, "machines", id.ToString("D"));

        // On the origin: a guest that wrote a file, then was suspended (version 1 -> 2).
        await a.CreateAsync(AgentApi.Blank(id, version: 1, memoryMb: 256, diskMb: 1000) with { Image = "linux-busybox" });
        await a.CommandAsync(id, "start", 1, 1);
        Task<string> SerialA() => a.GetStringAsync(AgentRoutes.Serial(id));
        await SerialConsole.WaitForAsync(SerialA, "Virtuoso guest ready", Timeout);
        await SerialConsole.RunAsync(dirA, SerialA, "echo moved-with-me > /root/m; sync; echo $((6*7))-written", "42-written", Timeout);
        await a.CommandAsync(id, "suspend", 1, 2);

        // The front-end: QUERY, export on the origin, announce to the destination, REQ, then wait for RESP.
        var vmmp = await _b.VmmpPortAsync();
        var results = VmmpWire.Parse((await VmmpPeer.AskAsync(vmmp, new VmmpQuery(id)))!).Message;
        Assert.Contains(VmmpMethods.Scp, Assert.IsType<VmmpResults>(results).Methods);
        var token = MigrationCalls.NewToken();
        var manifest = await AgentApi.ReadAsync<ExportManifest>(await a.PutAsJsonAsync(MigrationRoutes.Export(id), new ExportRequest(2, token)));
        Assert.Equal(AgentStates.Suspended, manifest.State);
        Assert.Equal("linux-busybox", manifest.Image);
        await AgentApi.ReadAsync<MigrationProgress>(await b.PutAsJsonAsync(MigrationRoutes.Incoming(id),
            MigrationCalls.Incoming(_a, 2, token, image: "linux-busybox", memoryMb: 256, diskMb: 1000)));
        using var central = new FakeCentral();
        Assert.Null(await VmmpPeer.AskAsync(vmmp, MigrationCalls.Req(id, 2, _a, central.Port)));
        var received = await central.ReceiveUntilRespAsync(Timeout);

        Assert.Equal(new VmmpResp(id, 3, true), received[^1]);
        var progress = await b.GetFromJsonAsync<MigrationProgress>(MigrationRoutes.Incoming(id));
        Assert.Equal(MigrationPhases.Pending, progress!.Phase);
        Assert.Equal(3, progress.NewVersion);
        Assert.Equal(manifest.Files.Sum(f => f.Length), progress.BytesDone);

        // Commit (the front-end's transaction) happens here; then activate on B and retire on A.
        var activated = await AgentApi.ReadAsync<AgentMachine>(await b.PostAsJsonAsync(MigrationRoutes.Activate(id), new ActivateRequest(3)));
        Assert.Equal(AgentStates.Suspended, activated.State);
        Assert.Equal(3, activated.Version);
        Assert.Equal(HttpStatusCode.NoContent, (await a.PostAsJsonAsync(MigrationRoutes.Retire(id), new RetireRequest(2))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await a.GetAsync(AgentRoutes.Machine(id))).StatusCode);
        // The base image is named relative to the machine's folder: the same path on every host, resolved to B's cached copy.
        var backing = Virtuoso.Agent.Vmm.Qemu.QemuVmm.ReadBackingFile(Path.Combine(dirB, "disk.qcow2"));
        Assert.Equal("../../images/linux-busybox/disk.qcow2", backing);
        Assert.True(File.Exists(Path.Combine(_b.DataDirectory, "images", "linux-busybox", "disk.qcow2")));
        Assert.Contains("\"backing-filename\"", await QemuImgInfoAsync(Path.Combine(dirB, "disk.qcow2")));

        // On the destination: the guest goes on where it was, file and all.
        await b.CommandAsync(id, "resume", 3, 3);
        Task<string> SerialB() => b.GetStringAsync(AgentRoutes.Serial(id));
        await SerialConsole.RunAsync(dirB, SerialB, "cat /root/m", "moved-with-me", Timeout);
        await b.CommandAsync(id, "stop", 3, 4);
    }

    private static async Task<string> QemuImgInfoAsync(string disk)
    {
        var psi = new ProcessStartInfo("qemu-img", ["info", "--output=json", "-U", disk]) { RedirectStandardOutput = true };
        using var process = Process.Start(psi)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output;
    }
}
