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
    /// VMMP port and migration methods (design §6.1), which the front-end shows buyers choosing a destination.
    /// </summary>
    public static void MapHealth(this IEndpointRouteBuilder app) =>
        app.MapGet(AgentRoutes.Health, (AgentOptions options, AcceleratorState accelerator, MachineService machines, VmmpServer vmmp, IncomingMigrations incoming) =>
            Results.Ok(new AgentHealth(options.Name, accelerator.Current, machines.Count, vmmp.Port, incoming.MethodNames)));
}
