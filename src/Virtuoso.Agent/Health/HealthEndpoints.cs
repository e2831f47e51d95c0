using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Vmm;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Health;

internal static class HealthEndpoints
{
    /// <summary>GET /v1/health: the one call without the secret; it tells liveness, the accelerator and the machine count.</summary>
    public static void MapHealth(this IEndpointRouteBuilder app) =>
        app.MapGet(AgentRoutes.Health, (AgentOptions options, AcceleratorState accelerator, MachineService machines) =>
            Results.Ok(new AgentHealth(options.Name, accelerator.Current, machines.Count)));
}
