using Virtuoso.FrontEnd.Accounts;

namespace Virtuoso.FrontEnd.Web.Auth;

/// <summary>Starting and ending the web's sessions (rows of <c>sessions</c>, shared with the API's tokens).</summary>
internal static class WebSessions
{
    /// <summary>
    /// Hands the browser a fresh session: the session it came with, if any, is deleted first, so a log-in (or a
    /// switch of user) never keeps an old session id alive (no session fixation).
    /// </summary>
    public static async Task StartAsync(HttpContext context, AccountService accounts, string token, DateTimeOffset expires)
    {
        if (context.Request.Cookies[CookieAuthentication.CookieName] is { Length: > 0 } old) await accounts.LogoutAsync(old);
        CookieAuthentication.Issue(context, token, expires);
    }

    /// <summary>Deletes the session row (so the cookie is worthless even if kept) and clears the cookie.</summary>
    public static async Task EndAsync(HttpContext context, AccountService accounts)
    {
        if (context.Request.Cookies[CookieAuthentication.CookieName] is { Length: > 0 } token) await accounts.LogoutAsync(token);
        CookieAuthentication.Clear(context);
    }

    /// <summary>Where a user lands after logging in.</summary>
    public static string HomeOf(string type) => type switch { Roles.Buyer => "/machines", Roles.Provider => "/hosts", _ => "/account" };
}
