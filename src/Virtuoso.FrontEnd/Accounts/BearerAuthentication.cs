using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Accounts;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Http;

namespace Virtuoso.FrontEnd.Accounts;

/// <summary>
/// API sessions (report §6.1.3, with hashed random tokens instead of username+rand()): the bearer token's
/// SHA-256 is looked up in <c>sessions</c>. Sessions live in the database, so any replica can serve any call.
/// A token that begins with <see cref="ApiKeys.Prefix"/> is first looked up as an API key (issue 20 point 2,
/// <see cref="ApiKeyService"/>); keys work on the API only (<c>/api</c>), never for the web's pages. An unknown or
/// expired key is answered with its own code (<c>invalid-api-key</c>, <c>expired-api-key</c>) where a call needs a user.
/// </summary>
internal sealed class BearerAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    Database db, TimeProvider clock, ApiKeyService keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal)) return AuthenticateResult.NoResult();
        var token = header["Bearer ".Length..].Trim();
        if (ApiKeys.LooksLikeKey(token))
        {
            if (!Request.Path.StartsWithSegments("/api"))
                return Refuse(new Failure(ErrorCodes.InvalidApiKey, "API keys work on the API (/api/v1) only; log in on the web with your password"));
            switch (await keys.AuthenticateAsync(token, SchemeName))
            {
                case ({ } key, _): return AuthenticateResult.Success(new AuthenticationTicket(key, SchemeName));
                case (_, { } refused): return Refuse(refused);
            }
        }
        var principal = await Sessions.PrincipalAsync(db, clock, token, SchemeName);
        if (principal is not null) return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
        return ApiKeys.LooksLikeKey(token)
            ? Refuse(new Failure(ErrorCodes.InvalidApiKey, "no such API key: it was revoked, or never made (check it was copied whole)"))
            : AuthenticateResult.Fail("invalid or expired token");
    }

    /// <summary>A failed authentication whose challenge answers with <paramref name="why"/> rather than plain "unauthenticated".</summary>
    private AuthenticateResult Refuse(Failure why)
    {
        Context.Items[RefusalKey] = why;
        return AuthenticateResult.Fail(why.Message);
    }

    private static readonly object RefusalKey = new();

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        (Context.Items[RefusalKey] as Failure ?? new Failure(ErrorCodes.Unauthenticated, "log in first: this call needs a valid session token"))
            .ToResult().ExecuteAsync(Context);

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        new Failure(ErrorCodes.WrongRole, "this action is not available to your kind of account").ToResult().ExecuteAsync(Context);
}

internal static class Roles
{
    public const string Buyer = "buyer";
    public const string Provider = "provider";
    public const string Operator = "operator";

    public static string Name(this ClaimsPrincipal user) => user.Identity!.Name!;
}
