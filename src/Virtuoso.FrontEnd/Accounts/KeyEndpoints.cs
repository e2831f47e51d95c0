using System.Security.Claims;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Http;
using E = Virtuoso.Contracts.Api.ErrorCodes;

namespace Virtuoso.FrontEnd.Accounts;

/// <summary>The account's SSH public keys, /keys (issue 14): any logged-in account, its own keys only.</summary>
internal static class KeyEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var keys = api.MapGroup("/keys").RequireAuthorization().WithTags("Accounts");
        keys.MapGet("", async (ClaimsPrincipal u, SshKeys s) => Results.Ok(await s.ListAsync(u.Name()))).WithSummary("My SSH public keys, oldest first")
            .WithName("listSshKeys").Produces<IReadOnlyList<KeyResponse>>();
        keys.MapPost("", async (AddKeyRequest r, ClaimsPrincipal u, SshKeys s) =>
            (await s.AddAsync(u.Name(), r)).ToResult(k => Results.Created($"/api/v1/keys/{Uri.EscapeDataString(k.Name)}", k)))
            .WithSummary("Add an SSH public key (one OpenSSH .pub line)").WithName("addSshKey").Produces<KeyResponse>(StatusCodes.Status201Created)
            .Refuses(E.InvalidKey, E.KeyExists, E.KeyNameTaken, E.TooManyKeys);
        keys.MapDelete("/{name}", async (string name, ClaimsPrincipal u, SshKeys s) => await s.DeleteAsync(u.Name(), name) is { } f ? f.ToResult() : Results.NoContent())
            .WithSummary("Delete one of my SSH keys: machines started from then on no longer get it")
            .WithName("deleteSshKey").Produces(StatusCodes.Status204NoContent).Refuses(E.NotFound);
    }
}
