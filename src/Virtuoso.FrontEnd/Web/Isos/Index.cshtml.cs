using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Isos;

namespace Virtuoso.FrontEnd.Web.Isos;

/// <summary>
/// My ISO images (issue 15): the list with the machines each is attached to, delete, the quota, and the upload form (which
/// posts to <see cref="UploadModel"/>, streamed). The same <see cref="IsoService"/> calls as the API's, so the same refusals.
/// </summary>
internal sealed class IndexModel(IsoService isos) : WebPage
{
    public IsoListResponse List { get; private set; } = new([], 0, 0);

    public async Task OnGetAsync() => List = await isos.ListAsync(Me);

    public async Task<IActionResult> OnPostDeleteAsync(string? name)
    {
        if (await isos.DeleteAsync(Me, name ?? "") is { } refused)
        {
            List = await isos.ListAsync(Me);
            return Fail(refused);
        }
        Notice = $"ISO {name} deleted.";
        return Redirect("/isos");
    }
}
