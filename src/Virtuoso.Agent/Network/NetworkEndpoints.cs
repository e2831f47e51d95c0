using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Virtuoso.Agent.Machines;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Network;

/// <summary><c>PUT /v1/networks</c> (issue 16): the private networks this host carries and their peers, behind the host secret.</summary>
internal static class NetworkEndpoints
{
    public static void MapNetworks(this IEndpointRouteBuilder app) => app.MapPut(AgentRoutes.Networks, PutAsync);

    private static async Task<IResult> PutAsync(HttpRequest request, HostNetwork network, AgentOptions options, CancellationToken ct)
    {
        var body = await MachineEndpoints.ReadBodyAsync<AgentNetworks>(request, ct);
        if (body.Error is { } badBody)
            return MachineEndpoints.Problem(badBody);
        if (NetworkValidation.Check(body.Value) is { Count: > 0 } problems)
            return MachineEndpoints.Problem(AgentError.Validation(string.Join("; ", problems)));
        // --private-networks off: this host carries no private network, so there is nothing to point anywhere.
        if (!options.PrivateNetworks)
            return Results.NoContent();
        try
        {
            await network.SetPeersAsync(body.Value!);
        }
        catch (NetworkException e)
        {
            return MachineEndpoints.Problem(AgentError.Failed($"updating the private networks failed: {e.Message}"));
        }
        return Results.NoContent();
    }
}
