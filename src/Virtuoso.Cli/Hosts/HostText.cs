using Virtuoso.Cli.Output;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Hosts;

/// <summary>Hosts as text: the market, the provider's own hosts with their machines, one host in detail.</summary>
internal static class HostText
{
    private const string AddHint = "virtuoso host add NAME --address A --port P ... (see: virtuoso host add --help)";

    public static void Market(TextWriter output, HostResponse[] hosts)
    {
        if (hosts.Length == 0)
        {
            output.WriteLine("No hosts on the market yet.");
            return;
        }

        Summary(hosts, withOwner: true).WriteTo(output);
    }

    public static void Own(TextWriter output, HostResponse[] hosts)
    {
        if (hosts.Length == 0)
        {
            output.WriteLine($"No hosts yet. Add one with: {AddHint}");
            return;
        }

        Summary(hosts, withOwner: false).WriteTo(output);
        foreach (var host in hosts)
        {
            output.WriteLine();
            Machines(output, host);
        }
    }

    public static void Added(TextWriter output, HostResponse host)
    {
        output.WriteLine($"Added host {host.Name} ({host.Address}:{host.Port}); buyers reach its guests at {host.PublicAddress}, ports {host.Ports}.");
        if (host.Secret is not null)
        {
            output.WriteLine($"Agent secret (shown only this once; give it to the agent): {host.Secret}");
        }

        if (host.Join is not null)
        {
            JoinCommand(output, host);
            return;
        }

        // Issue 18: whether the agent answered, and what it measures or why not.
        output.WriteLine(host.Online
            ? $"Its agent answers" + (host.Bogomips is { } b ? $" and measures {b} bogomips ({host.Speed} sold)." : ".")
            : $"Offline: {host.LastFailureMessage ?? "its agent has not answered yet."}");
    }

    /// <summary>Issue 19: the one command that installs the agent on the host and joins it.</summary>
    public static void JoinCommand(TextWriter output, HostResponse host)
    {
        var join = host.Join!;
        output.WriteLine($"On {host.Name} (Debian 12), as root, run this once before {Text.Time(join.ExpiresAt)}; it installs QEMU and the agent as a service and joins the host:");
        output.WriteLine();
        output.WriteLine($"  {join.Command}");
        output.WriteLine();
        output.WriteLine($"The host shows online a few seconds later (virtuoso hosts). A new command: virtuoso host join {host.Name}");
    }

    public static void Details(TextWriter output, HostResponse h)
    {
        Fields.Write(output,
            ("host", h.Name),
            ("owner", h.Owner),
            ("agent", $"{h.Address}:{h.Port}, {(h.Online ? "online" : "offline")}" + (h.Bogomips is { } b ? $", measures {b} bogomips" : "")),
            ("last seen", h.LastSeen is { } seen ? Text.Time(seen) : h.JoinPendingUntil is { } until
                ? $"never: waiting for its agent to join (the install command works until {Text.Time(until)}; a new one: virtuoso host join {h.Name})" : "never"),
            ("forwarded ports", $"{h.Ports} on {h.PublicAddress}"),
            ("processor", h.Processor),
            ("connection", h.ConnectSpeed),
            ("speed", $"{h.ReservedSpeed} of {h.Speed} bogomips reserved; {SpeedPrice(h)}"),
            ("memory", $"{h.ReservedMemory} of {h.Memory} MB reserved; {MemoryPrice(h)}"),
            ("running period", $"{h.RunningPeriod} s"),
            ("storage", $"{h.ReservedStorage} of {h.Storage} MB reserved; {StoragePrice(h)}"),
            ("storage period", $"{h.StoragePeriod} {(h.StoragePeriod == 1 ? "day" : "days")}"));
        if (!h.Online && h.LastFailureMessage is { } why)
        {
            output.WriteLine($"Why offline: {why}");
        }
        if (h.Machines is not null)
        {
            output.WriteLine();
            Machines(output, h);
        }
    }

    private static Table Summary(HostResponse[] hosts, bool withOwner)
    {
        string[] headers = ["NAME", "OWNER", "ADDRESS", "PORT", "PROCESSOR", "ONLINE", "FREE SPEED", "FREE MEMORY", "FREE STORAGE", "PRICES"];
        var table = new Table(withOwner ? headers : headers.Where(h => h != "OWNER").ToArray());
        foreach (var h in hosts)
        {
            string[] cells =
            [
                h.Name, h.Owner, h.Address, Text.Number(h.Port), h.Processor, h.Online ? "yes" : "no",
                $"{h.Speed - h.ReservedSpeed}/{h.Speed} bogomips", $"{h.Memory - h.ReservedMemory}/{h.Memory} MB",
                $"{h.Storage - h.ReservedStorage}/{h.Storage} MB",
                $"{SpeedPrice(h)}; {MemoryPrice(h)}; running period {h.RunningPeriod} s; {StoragePrice(h)}; storage period {h.StoragePeriod} d",
            ];
            table.Add(withOwner ? cells : cells.Where((_, column) => column != 1).ToArray());
        }

        return table;
    }

    private static void Machines(TextWriter output, HostResponse host)
    {
        var machines = host.Machines ?? [];
        if (host is { LastSeen: null, JoinPendingUntil: { } until })
        {
            output.WriteLine($"{host.Name} is waiting for its agent to join: run the install command on it (it works until {Text.Time(until)}; a new one: virtuoso host join {host.Name}).");
        }

        if (machines.Count == 0)
        {
            output.WriteLine($"No machines on {host.Name} yet.");
            return;
        }

        output.WriteLine($"Machines on {host.Name}:");
        var table = new Table("ID", "NAME", "OWNER", "STATE", "VERSION", "SPEED", "MEMORY", "DISK", "STORAGE", "RUNNING");
        foreach (var m in machines)
        {
            table.Add(m.Id.ToString(), m.Name, m.Owner, m.State, Text.Number(m.Version), $"{m.Speed} bogomips", $"{m.Memory} MB", $"{m.Disk} MB",
                Text.StorageCharge(m.StoragePrice, m.StoragePeriodDays), Text.RunningCharge(m.RunningPrice, m.RunningPeriodSeconds));
        }

        table.WriteTo(output);
    }

    // Prices per chunk as the report's host pages state them (§6.1.6): dollars per second, or per day for storage.
    private static string SpeedPrice(HostResponse h) => $"{Text.Money(h.SpeedPrice)}/s per {h.SpeedUnit} bogomips";

    private static string MemoryPrice(HostResponse h) => $"{Text.Money(h.MemoryPrice)}/s per {h.MemoryUnit} MB";

    private static string StoragePrice(HostResponse h) => $"{Text.Money(h.StoragePrice)}/day per {h.StorageUnit} MB";
}
