using System.Net.Http.Json;
using System.Text.Json;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Agent.Vmm.Qemu;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Tests.Vmm.Qemu;

/// <summary>
/// The KVM probe on this machine. Design §2: on the development machines /dev/kvm exists but guests hang under it,
/// so the probe must fail here. Set VIRTUOSO_TEST_KVM_WORKS=1 on a host where KVM really works.
/// </summary>
[Collection(QemuCollection.Name)]
public sealed class KvmProbeTests : IDisposable
{
    private static readonly bool KvmExpectedToWork = Environment.GetEnvironmentVariable("VIRTUOSO_TEST_KVM_WORKS") == "1";
    private readonly TestDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Kernel => Path.Combine(RealQemu.ImagesDirectory, "linux-busybox", "vmlinuz");

    [GuestImageFact]
    public async Task Probe_WithTheGuestKernel_TellsWhetherKvmBoots()
    {
        if (!File.Exists("/dev/kvm"))
            return; // Nothing to probe: the agent takes TCG without booting anything (AcceleratorSelectionTests).
        var probe = new KvmProbe(TestOptions.For(_dir.Path) with { ProbeTimeout = TimeSpan.FromSeconds(4) });

        var result = await probe.RunAsync(Kernel, CancellationToken.None);

        Assert.True(KvmExpectedToWork == result.KvmWorks, result.Reason);
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "probe")));
    }

    [GuestImageFact]
    public async Task Agent_InAutoMode_ProbesInTheBackgroundAndReportsItsChoice()
    {
        await using var agent = new AgentFactory(_dir.Path, vmm: null, new Dictionary<string, string?>
        {
            ["accelerator"] = "auto",
            ["images"] = RealQemu.ImagesDirectory,
            ["probe-timeout"] = "4",
        });
        var client = agent.CreateAuthenticatedClient();
        // Serving while probing, with the safe choice.
        Assert.Equal("tcg", (await client.GetFromJsonAsync<AgentHealth>(AgentRoutes.Health))!.Accelerator);

        var events = Path.Combine(_dir.Path, "events.log");
        var chosen = await WaitForAcceleratorEventAsync(events, TimeSpan.FromSeconds(30));

        var expected = File.Exists("/dev/kvm") && KvmExpectedToWork ? "kvm" : "tcg";
        Assert.True(expected == chosen.GetProperty("state").GetString(), chosen.GetRawText());
        Assert.Equal(expected, (await client.GetFromJsonAsync<AgentHealth>(AgentRoutes.Health))!.Accelerator);
    }

    private static async Task<JsonElement> WaitForAcceleratorEventAsync(string events, TimeSpan timeout)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (File.Exists(events))
                foreach (var line in File.ReadAllLines(events))
                    if (JsonDocument.Parse(line).RootElement is var e && e.GetProperty("kind").GetString() == "accelerator")
                        return e;
            await Task.Delay(200);
        }
        throw new TimeoutException("the agent never reported its accelerator choice");
    }
}
