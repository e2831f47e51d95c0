using Microsoft.Extensions.Hosting;
using Virtuoso.Agent.Machines;

namespace Virtuoso.Agent.Network;

/// <summary>
/// Notices a QEMU that ended on its own (the guest powered off, QEMU crashed) and removes its private NIC's tap, and the
/// network's bridge with the last one (issue 16). Stop and suspend remove theirs at once; this catches the rest within
/// a couple of seconds. After an agent restart, <see cref="MachineService.RecoverAsync"/> has re-found the NICs first.
/// </summary>
internal sealed class NetworkSweep(MachineService machines) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
            await machines.SweepNetworksAsync();
    }
}
