using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Http;
using Virtuoso.FrontEnd.Web.Auth;

namespace Virtuoso.FrontEnd.Web.Accounts;

/// <summary>Log in and switch user (Figures 4, 24): every log-in starts a new server-side session with a new cookie.</summary>
[EnableRateLimiting(WebSetup.LoginPolicy)]
internal sealed class LoginModel(AccountService accounts, TimeProvider clock, IOptions<MarketOptions> options) : WebPage
{
    public string? Username { get; private set; }
    public string? ReturnUrl { get; private set; }

    public void OnGet(string? returnUrl) => ReturnUrl = returnUrl;

    public async Task<IActionResult> OnPostAsync(string? username, string? password, string? returnUrl)
    {
        (Username, ReturnUrl) = (username, returnUrl);
        // Throttled in the database by the service, as the API's log-in is (issue 20).
        var session = await accounts.LoginAsync(new LoginRequest(username!, password!), LoginThrottle.AddressOf(HttpContext));
        if (session.Failure is { } f) return Fail(f);
        await WebSessions.StartAsync(HttpContext, accounts, session.Value!.Token, clock.GetUtcNow() + TimeSpan.FromDays(options.Value.SessionDays));
        if (returnUrl is { Length: > 0 } && Url.IsLocalUrl(returnUrl)) return LocalRedirect(returnUrl);
        return Redirect(WebSessions.HomeOf(session.Value.Type));
    }
}
