using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Http;

namespace Virtuoso.FrontEnd.Accounts;

/// <summary>
/// API sessions (report §6.1.3, with hashed random tokens instead of username+rand()): the bearer token's
/// SHA-256 is looked up in <c>sessions</c>. Sessions live in the database, so any replica can serve any call.
/// </summary>
internal sealed class BearerAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    Database db, TimeProvider clock)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal)) return AuthenticateResult.NoResult();
        var principal = await Sessions.PrincipalAsync(db, clock, header["Bearer ".Length..].Trim(), SchemeName);
        return principal is null ? AuthenticateResult.Fail("invalid or expired token") : AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        new Failure(ErrorCodes.Unauthenticated, "log in first: this call needs a valid session token").ToResult().ExecuteAsync(Context);

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
