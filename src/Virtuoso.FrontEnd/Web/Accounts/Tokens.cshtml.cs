using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;

namespace Virtuoso.FrontEnd.Web.Accounts;

/// <summary>
/// My account's API keys (issue 20 point 2): list, make, revoke; the same <see cref="ApiKeyService"/> calls as the API's,
/// so the same refusals with the same codes. A new key is rendered in the answer to the form's post, never carried over a
/// redirect (TempData is a cookie) and never stored: it is shown once, and the answer is not cached.
/// </summary>
internal sealed class TokensModel(ApiKeyService keys) : WebPage
{
    /// <summary>The expiry choices of the form, as the API's <c>expires</c> takes them.</summary>
    public static readonly IReadOnlyList<(string Value, string Label)> Lifetimes =
        [("7d", "in 7 days"), ("30d", "in 30 days"), ("90d", "in 90 days"), ("365d", "in a year"), ("never", "never")];

    public IReadOnlyList<ApiKeyResponse> Keys { get; private set; } = [];
    /// <summary>The key just made, shown this once.</summary>
    public NewApiKeyResponse? NewKey { get; private set; }
    public string? Name { get; private set; }
    public string? Scope { get; private set; }
    public string? Expires { get; private set; }

    public async Task OnGetAsync() => Keys = await keys.ListAsync(Me);

    public async Task<IActionResult> OnPostAsync(string? name, string? scope, string? expires)
    {
        var made = await keys.CreateAsync(Me, new CreateApiKeyRequest(name!, scope!, expires));
        Keys = await keys.ListAsync(Me);
        if (made.Failure is { } f)
        {
            (Name, Scope, Expires) = (name, scope, expires);
            return Fail(f);
        }
        NewKey = made.Value;
        Response.Headers.CacheControl = "no-store";
        return Page();
    }

    public async Task<IActionResult> OnPostRevokeAsync(string? name)
    {
        if (await keys.RevokeAsync(Me, name ?? "") is { } refused)
        {
            Keys = await keys.ListAsync(Me);
            return Fail(refused);
        }
        Notice = $"API key {name} revoked: calls with it are refused from now on.";
        return Redirect("/account/tokens");
    }
}
