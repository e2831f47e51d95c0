using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Data;

namespace Virtuoso.FrontEnd.Web.Auth;

/// <summary>
/// The web's sessions: the cookie <see cref="CookieName"/> holds a session token of the same <c>sessions</c> table
/// the API's bearer tokens use (<see cref="Sessions"/>), so the principal has the same shape (name and role claims)
/// and logging out deletes the row, which ends the session on every replica at once. Not logged in: a redirect to the
/// log-in page; the wrong kind of account: 403, rendered by the error page.
/// </summary>
internal sealed class CookieAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, Database db, TimeProvider clock)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Cookie";
    public const string CookieName = "virtuoso_session";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Request.Cookies[CookieName] is not { Length: > 0 } token) return AuthenticateResult.NoResult();
        var principal = await Sessions.PrincipalAsync(db, clock, token, SchemeName);
        return principal is null ? AuthenticateResult.Fail("expired or logged-out session") : AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var back = HttpMethods.IsGet(Request.Method) ? (Request.PathBase + Request.Path + Request.QueryString).ToString() : "/";
        Response.Redirect("/login?returnUrl=" + Uri.EscapeDataString(back));
        return Task.CompletedTask;
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        return Task.CompletedTask;
    }

    /// <summary>Sets the session cookie: HttpOnly, SameSite=Lax, Secure when the request came over HTTPS, lasting as long as the session row.</summary>
    public static void Issue(HttpContext context, string token, DateTimeOffset expires) =>
        context.Response.Cookies.Append(CookieName, token, new CookieOptions
        {
            HttpOnly = true, SameSite = SameSiteMode.Lax, Secure = context.Request.IsHttps, Path = "/", Expires = expires, IsEssential = true,
        });

    public static void Clear(HttpContext context) =>
        context.Response.Cookies.Delete(CookieName, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Lax, Secure = context.Request.IsHttps, Path = "/" });
}
