using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Web.Auth;

namespace Virtuoso.FrontEnd.Web.Accounts;

/// <summary>Sign up as a buyer or a provider (Figures 5, 24), then start a session at once.</summary>
internal sealed class SignupModel(AccountService accounts, TimeProvider clock, IOptions<MarketOptions> options) : WebPage
{
    public string? Username { get; private set; }
    public string? Email { get; private set; }
    public string Type { get; private set; } = Roles.Buyer;

    public void OnGet(string? type) => Type = type == Roles.Provider ? Roles.Provider : Roles.Buyer;

    public async Task<IActionResult> OnPostAsync(string? username, string? email, string? password, string? type)
    {
        (Username, Email, Type) = (username, email, type ?? Roles.Buyer);
        var created = await accounts.SignupAsync(new SignupRequest(username!, password!, email!, type!), LoginThrottle.AddressOf(HttpContext));
        if (created.Failure is { } f) return Fail(f);
        var session = await accounts.LoginAsync(new LoginRequest(username!, password!), LoginThrottle.AddressOf(HttpContext));
        if (session.Failure is { } lf) return Fail(lf);
        await WebSessions.StartAsync(HttpContext, accounts, session.Value!.Token, clock.GetUtcNow() + TimeSpan.FromDays(options.Value.SessionDays));
        Notice = $"Welcome, {username}: your {type} account is ready, with an opening credit of {Show.Money(created.Value!.Balance)}.";
        return Redirect(WebSessions.HomeOf(session.Value.Type));
    }
}
