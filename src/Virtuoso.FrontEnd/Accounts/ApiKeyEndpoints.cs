using System.Security.Claims;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Accounts;
using Virtuoso.FrontEnd.Http;
using E = Virtuoso.Contracts.Api.ErrorCodes;

namespace Virtuoso.FrontEnd.Accounts;

/// <summary>
/// The account's API keys, /tokens (issue 20 point 2): any logged-in account, its own keys only. Listing works with a key
/// too; making and revoking a key need a session (a password log-in), so that a leaked key cannot mint itself successors
/// or revoke its owner's other keys. A read key never gets that far: <see cref="ApiKeyScopes"/> refuses its writes first.
/// </summary>
internal static class ApiKeyEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var tokens = api.MapGroup("/tokens").RequireAuthorization().WithTags("Accounts");
        tokens.MapGet("", async (ClaimsPrincipal u, ApiKeyService s) => Results.Ok(await s.ListAsync(u.Name())))
            .WithSummary("My API keys, oldest first: name, scope, created, expires, last used (never the key)")
            .WithName("listApiKeys").Produces<IReadOnlyList<ApiKeyResponse>>();
        tokens.MapPost("", async (CreateApiKeyRequest r, ClaimsPrincipal u, ApiKeyService s) =>
                u.ByApiKey() ? SessionRequired("make") : (await s.CreateAsync(u.Name(), r)).ToResult(k => Results.Created($"/api/v1/tokens/{Uri.EscapeDataString(k.Name)}", k)))
            .WithSummary("Make an API key (read or write scope, optional expiry): the answer carries the key, this once")
            .WithName("createApiKey").Produces<NewApiKeyResponse>(StatusCodes.Status201Created).WithMetadata(new ApiDocument.SessionOnly())
            .Refuses(E.InvalidScope, E.InvalidExpiry, E.ApiKeyNameTaken, E.TooManyKeys);
        tokens.MapDelete("/{name}", async (string name, ClaimsPrincipal u, ApiKeyService s) =>
                u.ByApiKey() ? SessionRequired("revoke") : await s.RevokeAsync(u.Name(), name) is { } f ? f.ToResult() : Results.NoContent())
            .WithSummary("Revoke one of my API keys: calls with it are refused from now on")
            .WithName("revokeApiKey").Produces(StatusCodes.Status204NoContent).WithMetadata(new ApiDocument.SessionOnly()).Refuses(E.NotFound);
    }

    private static IResult SessionRequired(string verb) =>
        new Failure(ErrorCodes.SessionRequired, $"an API key cannot {verb} API keys; log in with your password (virtuoso login, or the web's My account page)").ToResult();
}

/// <summary>
/// What a read key may do, enforced once for every endpoint (issue 20 point 2): a call authenticated by a read-scope key
/// with any method but GET or HEAD is refused with 403 <c>read-only-key</c> before it reaches an endpoint, so a new
/// endpoint cannot forget the rule (<see cref="ApiKeys.Permits"/> decides).
/// </summary>
internal static class ApiKeyScopes
{
    public static void UseApiKeyScopes(this WebApplication app) => app.Use((ctx, next) =>
        ctx.User.KeyScope() is { } scope && !ApiKeys.Permits(scope, ctx.Request.Method)
            ? new Failure(ErrorCodes.ReadOnlyKey, $"this API key ('{ctx.User.FindFirst(ApiKeyClaims.Name)?.Value}') is read-only: it may only GET; use a write key or a session for {ctx.Request.Method}")
                .ToResult().ExecuteAsync(ctx)
            : next(ctx));
}
