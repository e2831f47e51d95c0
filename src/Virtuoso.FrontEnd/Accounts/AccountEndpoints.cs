using System.Security.Claims;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Http;
using E = Virtuoso.Contracts.Api.ErrorCodes;

namespace Virtuoso.FrontEnd.Accounts;

/// <summary>The accounts part of <see cref="Api"/>: sign up, log in and out, and the account's own view.</summary>
internal static class AccountEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/accounts", async (SignupRequest r, HttpContext ctx, AccountService s) =>
            (await s.SignupAsync(r, LoginThrottle.AddressOf(ctx))).ToResult(v => Results.Created("/api/v1/account", v))).WithTags("Accounts").WithSummary("Sign up as a buyer or provider")
            .WithName("signUp").Produces<AccountResponse>(StatusCodes.Status201Created).Refuses(E.UsernameTaken, E.RateLimited);
        api.MapPost("/sessions", async (LoginRequest r, HttpContext ctx, AccountService s) => (await s.LoginAsync(r, LoginThrottle.AddressOf(ctx))).ToResult()).WithTags("Accounts").WithSummary("Log in: returns a bearer token")
            .WithName("logIn").Produces<SessionResponse>().Refuses(E.InvalidCredentials, E.RateLimited);
        api.MapDelete("/sessions/current", async (HttpContext ctx, AccountService s) =>
        {
            await s.LogoutAsync(ctx.Request.Headers.Authorization.ToString()["Bearer ".Length..].Trim());
            return Results.NoContent();
        }).RequireAuthorization().WithTags("Accounts").WithSummary("Log out").WithName("logOut").Produces(StatusCodes.Status204NoContent);
        api.MapGet("/account", async (ClaimsPrincipal u, AccountService s) => Results.Ok(await s.ViewAsync(u.Name())))
            .RequireAuthorization().WithTags("Accounts").WithSummary("Balance, per-machine prices and next debits; income per host for providers").WithName("getAccount").Produces<AccountResponse>();
    }
}
