using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Migration.Incoming;
using Virtuoso.Agent.Migration.Vmmp;
using Virtuoso.Agent.Vmm;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Health;

internal static class HealthEndpoints
{
    /// <summary>
    /// GET /v1/health: the one call without the secret; it tells liveness, the accelerator, the machine count, and the
    /// VMMP port and migration methods (design §6.1), which the front-end shows buyers choosing a destination; and (issue 18) the
    /// control API's protocol and the agent's build, which the front-end's connection test compares with its own, and the speed
    /// of the cores it runs machines on, in bogomips, which the provider's "Add host" page suggests as the host's total speed.
    /// </summary>
    public static void MapHealth(this IEndpointRouteBuilder app) =>
        app.MapGet(AgentRoutes.Health, (AgentOptions options, AcceleratorState accelerator, MachineService machines, VmmpServer vmmp, IncomingMigrations incoming, HostFacts facts) =>
            Results.Ok(new AgentHealth(options.Name, accelerator.Current, machines.Count, vmmp.Port, incoming.MethodNames,
                AgentProtocol.Current, facts.Version, facts.Bogomips)));
}
