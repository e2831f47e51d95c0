using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;

namespace Virtuoso.FrontEnd.Web.Accounts;

/// <summary>
/// My account's SSH keys (issue 14): list, add, delete; the same <see cref="SshKeys"/> calls as the API's, so the same
/// refusals with the same codes. A refused key is shown back in the form so that it can be corrected.
/// </summary>
internal sealed class KeysModel(SshKeys keys) : WebPage
{
    public IReadOnlyList<KeyResponse> Keys { get; private set; } = [];
    public string? Name { get; private set; }
    public string? PublicKey { get; private set; }

    /// <summary>The comment part of a key's line (what follows the type and the base64), often the user and machine it came from.</summary>
    public static string CommentOf(KeyResponse k) => k.PublicKey.Split(' ', 3) is [_, _, var comment] ? comment : "";

    public async Task OnGetAsync() => Keys = await keys.ListAsync(Me);

    public async Task<IActionResult> OnPostAsync(string? name, string? publicKey)
    {
        var added = await keys.AddAsync(Me, new AddKeyRequest(name!, publicKey!));
        if (added.Failure is { } f)
        {
            (Name, PublicKey, Keys) = (name, publicKey, await keys.ListAsync(Me));
            return Fail(f);
        }
        Notice = $"Key {added.Value!.Name} added ({added.Value.Fingerprint}): machines get it from their next start.";
        return Redirect("/account/keys");
    }

    public async Task<IActionResult> OnPostDeleteAsync(string? name)
    {
        if (await keys.DeleteAsync(Me, name ?? "") is { } refused)
        {
            Keys = await keys.ListAsync(Me);
            return Fail(refused);
        }
        Notice = $"Key {name} deleted: machines started from now on no longer accept it.";
        return Redirect("/account/keys");
    }
}
