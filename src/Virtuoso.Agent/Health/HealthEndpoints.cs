using System.Security.Cryptography;
using System.Text;
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
    /// GET /v1/health: the one call without the secret. Issue 20: without it, it tells only liveness (<c>status</c>) and the
    /// control API's <c>protocol</c>, which the front-end's connection test needs to tell an agent of its version from
    /// anything else before it proves the secret. With <c>Authorization: Bearer &lt;secret&gt;</c> it tells the rest: the
    /// host's name, the accelerator, the machine count, the VMMP port and migration methods (design §6.1), which the
    /// front-end shows buyers choosing a destination; and (issue 18) the agent's build and the speed of the cores it runs
    /// machines on, in bogomips, which the provider's "Add host" page suggests as the host's total speed. On an agent with TLS,
    /// the rest also takes the front-end's client certificate (<see cref="Security.MarketPeer"/>), as every control call does.
    /// </summary>
    public static void MapHealth(this IEndpointRouteBuilder app) =>
        app.MapGet(AgentRoutes.Health, (HttpContext context, AgentOptions options, AcceleratorState accelerator, MachineService machines, VmmpServer vmmp,
                IncomingMigrations incoming, HostFacts facts, TimeProvider clock) =>
            PresentsSecret(context.Request, options.Secret) && Security.MarketPeer.IsFrontEnd(context, options.Tls, clock)
                ? Results.Ok(new AgentHealth(options.Name, accelerator.Current, machines.Count, vmmp.Port, incoming.MethodNames,
                    AgentProtocol.Current, facts.Version, facts.Bogomips, AgentHealth.Ok))
                : Results.Ok(new { status = AgentHealth.Ok, protocol = AgentProtocol.Current }));

    /// <summary>Whether the request carries the host secret as a Bearer token; digests compared in fixed time, like the API's.</summary>
    private static bool PresentsSecret(HttpRequest request, string secret)
    {
        const string scheme = "Bearer ";
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return false;
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim())),
            SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
    }
}
