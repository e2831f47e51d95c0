using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Web.Machines;

/// <summary>My computers (Figures 9, 12, 17, 19): the buyer's machines grouped by state, each with the actions its state allows.</summary>
internal sealed class IndexModel(MachineService machines) : WebPage
{
    private static readonly string[] Order = ["running", "migrating", "suspended", "stopped", "stored", "registered"];

    public IReadOnlyList<MachineResponse> Machines { get; private set; } = [];
    public IEnumerable<IGrouping<string, MachineResponse>> Groups =>
        Machines.GroupBy(m => m.State).OrderBy(g => Array.IndexOf(Order, g.Key) is var i && i < 0 ? Order.Length : i);

    public async Task OnGetAsync() => Machines = await machines.DescribeAllAsync(Me);
}
