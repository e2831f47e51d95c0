using System.CommandLine;
using Virtuoso.Cli.Output;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Networks;

/// <summary>
/// A buyer's private networks (issue 16): <c>networks</c> lists them, <c>network create NAME [--subnet CIDR]</c>,
/// <c>network delete NAME</c>. A machine joins one with <c>register --network NAME</c> or <c>edit ID --network NAME</c>.
/// </summary>
internal static class NetworkCommands
{
    public const string CreateHint = "virtuoso network create NAME [--subnet 10.129.0.0/24]";

    public static IEnumerable<Command> Build(Runner run)
    {
        var list = new Command("networks", "List your private networks (name, subnet, the machines attached); 'default' is always there");
        run.Bind(list, Access.LoggedIn, async (_, session, ct) =>
            (await session.Api.GetAsync<NetworkResponse[]>("networks", ct)).Failed(out var failure, out var networks)
                ? failure
                : session.Show(networks, List));
        yield return list;
        yield return new Command("network", "Create or delete a private network; attach a machine with: virtuoso edit ID --network NAME") { Create(run), Delete(run) };
    }

    private static Command Create(Runner run)
    {
        var name = new Argument<string>("NAME") { Description = "1 to 32 letters, digits, '-' or '_', starting with a letter or digit" };
        var subnet = Opt.Text("--subnet", "Its IPv4 subnet: inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, /16 to /29, not overlapping 10.0.2.0/24 " +
            "(default 10.128.0.0/24)", "CIDR");
        var command = new Command("create", "Create a private network: one Ethernet segment for the machines you attach, whatever their hosts") { name, subnet };
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
            (await session.Api.SendAsync<NetworkResponse>(HttpMethod.Post, "networks", new CreateNetworkRequest(parse.GetValue(name)!, parse.GetValue(subnet)), ct))
                .Failed(out var failure, out var network)
                ? failure
                : session.Show(network, Created));
        return command;
    }

    private static Command Delete(Runner run)
    {
        var name = new Argument<string>("NAME") { Description = "One of your private networks" };
        var command = new Command("delete", "Delete one of your private networks (refused while machines are attached)") { name };
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            var network = parse.GetValue(name)!;
            return (await session.Api.SendForAnyAsync(HttpMethod.Delete, $"networks/{Uri.EscapeDataString(network)}", null, ct)).Failed(out var failure, out _)
                ? failure
                : session.Show(new { }, (output, _) => output.WriteLine($"Deleted network {network}."));
        });
        return command;
    }

    private static void Created(TextWriter output, NetworkResponse network)
    {
        output.WriteLine($"Created network {network.Name} ({network.Subnet}).");
        output.WriteLine($"Attach a machine that is not running with: virtuoso edit ID --network {network.Name}");
    }

    public static void List(TextWriter output, NetworkResponse[] networks)
    {
        if (networks.Length == 0)
        {
            output.WriteLine($"No private networks yet. Create one with: {CreateHint}");
            return;
        }

        var table = new Table("NAME", "SUBNET", "MACHINES");
        foreach (var n in networks)
        {
            table.Add(n.Name, n.Subnet, n.Machines.Count == 0 ? "-" : string.Join(", ", n.Machines));
        }

        table.WriteTo(output);
    }
}
