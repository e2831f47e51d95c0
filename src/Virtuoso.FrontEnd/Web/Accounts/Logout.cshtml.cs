using Microsoft.AspNetCore.Mvc;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Web.Auth;

namespace Virtuoso.FrontEnd.Web.Accounts;

/// <summary>Log out: the session row is deleted, so the cookie stops working everywhere at once.</summary>
internal sealed class LogoutModel(AccountService accounts) : WebPage
{
    public void OnGet() { }

    public async Task<IActionResult> OnPostAsync()
    {
        await WebSessions.EndAsync(HttpContext, accounts);
        Notice = "You are logged out.";
        return Redirect("/");
    }
}
