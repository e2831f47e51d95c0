using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Networks;

namespace Virtuoso.FrontEnd.Web.Networks;

/// <summary>
/// My private networks (issue 16): the list with each network's subnet and machines, delete (refused with the reason while
/// machines are attached), and a create form. The same <see cref="NetworkService"/> calls as the API's, so the same refusals.
/// </summary>
internal sealed class IndexModel(NetworkService networks) : WebPage
{
    public IReadOnlyList<NetworkResponse> Networks { get; private set; } = [];
    /// <summary>What the create form held, shown again when it was refused.</summary>
    public string? Name { get; private set; }
    public string? Subnet { get; private set; }

    public async Task OnGetAsync() => Networks = await networks.ListAsync(Me);

    public async Task<IActionResult> OnPostCreateAsync(string? name, string? subnet)
    {
        var created = await networks.CreateAsync(Me, new CreateNetworkRequest(name ?? "", string.IsNullOrWhiteSpace(subnet) ? null : subnet.Trim()));
        if (created.Failure is { } refused)
        {
            (Name, Subnet) = (name, subnet);
            Networks = await networks.ListAsync(Me);
            return Fail(refused);
        }
        Notice = $"Network {created.Value!.Name} ({created.Value.Subnet}) created.";
        return Redirect("/networks");
    }

    public async Task<IActionResult> OnPostDeleteAsync(string? name)
    {
        if (await networks.DeleteAsync(Me, name ?? "") is { } refused)
        {
            Networks = await networks.ListAsync(Me);
            return Fail(refused);
        }
        Notice = $"Network {name} deleted.";
        return Redirect("/networks");
    }
}
