using Microsoft.Extensions.Hosting;

namespace Virtuoso.Agent.Machines;

/// <summary>Runs <see cref="MachineService.RecoverAsync"/> at start, before the API serves (hosted services start before the server).</summary>
internal sealed class MachineRecovery(MachineService machines) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => machines.RecoverAsync();

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
