using Virtuoso.Cli.Output;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Machines;

/// <summary>The human renderings of configurations, machines and search results.</summary>
internal static class MachineText
{
    public const string RegisterHint = "virtuoso register --config linux-busybox --storage-bid 30 --running-bid 1";

    public static void Configurations(TextWriter output, ConfigurationResponse[] configurations)
    {
        if (configurations.Length == 0)
        {
            output.WriteLine("No configurations on this server. Register a custom machine with: "
                + "virtuoso register --name NAME --speed BOGOMIPS --memory MB --disk MB --os OS --storage-bid DOLLARS --running-bid DOLLARS");
            return;
        }

        var table = new Table("NAME", "PROCESSOR", "SPEED", "MEMORY", "DISK", "OS", "IMAGE", "MARKET ESTIMATE");
        foreach (var c in configurations)
        {
            table.Add(c.Name, c.Processor, $"{c.Speed} bogomips", $"{c.Memory} MB", $"{c.Disk} MB", c.Os,
                c.Image is null ? "blank" : $"{c.Image} (min {c.MinMemory} MB memory, {c.MinDisk} MB disk"
                    + (c.ImageInfo is { } image ? $"; {image.Os}, {Text.Size(image.Size)}, sha256 {image.Sha256[..12]}…)" : ")"),
                c.EstimatedStorageRate is { } storage && c.EstimatedRunningRate is { } running
                    ? Text.Rates(storage, running)
                    : "no host has room yet");
        }

        table.WriteTo(output);
    }

    /// <summary>The catalogue of base images (issue 15).</summary>
    public static void Images(TextWriter output, ImageResponse[] images)
    {
        if (images.Length == 0)
        {
            output.WriteLine("The image catalogue is empty: this server's operator has not given it an images directory. Blank configurations can install from an ISO.");
            return;
        }
        var table = new Table("IMAGE", "OS", "SIZE", "MIN MEMORY", "MIN DISK", "SHA-256 OF THE DISK");
        foreach (var i in images)
            table.Add(i.Name, i.Os, Text.Size(i.Size), $"{i.MinMemory} MB", $"{i.MinDisk} MB", i.Sha256);
        table.WriteTo(output);
    }

    public static void List(TextWriter output, MachineResponse[] machines)
    {
        if (machines.Length == 0)
        {
            output.WriteLine($"No machines yet. Register one with: {RegisterHint}");
            return;
        }

        var table = new Table("ID", "NAME", "STATE", "VERSION", "HOST", "ACTIONS");
        foreach (var m in machines)
        {
            table.Add(m.Id.ToString(), m.Name, StateText(m), Text.Number(m.Version), m.Host ?? "-", Actions(m));
        }

        table.WriteTo(output);
    }

    /// <summary>The state, with what is going on: an action under way (busy), a host that does not answer (issue 13).</summary>
    private static string StateText(MachineResponse m) =>
        m.State + (m.HostOffline ? " (host offline: no running time charged)" : "")
        + (m.Busy ? m.Activity is { } activity ? $" ({activity})" : " (busy: an action is under way)" : "");

    public static void Details(TextWriter output, MachineResponse m) =>
        Fields.Write(output,
            ("machine", m.Name),
            ("id", m.Id.ToString()),
            ("state", $"{StateText(m)}, version {m.Version}"),
            ("host", m.Host ?? "none (not stored yet)"),
            ("owner", m.Owner),
            ("spec", $"{m.Speed} bogomips {m.Processor}, {m.Memory} MB memory, {m.Disk} MB disk, {m.Os}"),
            ("image", m.Image ?? "blank"),
            ("cdrom", m.Cdrom),
            ("network", Network(m)),
            ("mac", m.Mac),
            ("bids", Text.Rates(m.StorageBid, m.RunningBid)),
            ("storage", m.StoragePrice is { } storage && m.StoragePeriodDays is { } days ? Text.StorageCharge(storage, days) : null),
            ("running", m.RunningPrice is { } running && m.RunningPeriodSeconds is { } seconds ? Text.RunningCharge(running, seconds) : null),
            ("rates", m.StorageRate is { } storageRate && m.RunningRate is { } runningRate ? Text.Rates(storageRate, runningRate) : null),
            ("cpu", Cpu(m)),
            ("ssh", Ssh(m)),
            ("ports", m.Ports is { Count: > 0 } ? Forwarded(m) : null),
            ("actions", Actions(m)));

    /// <summary>Its private network and address there (issue 16): "default (10.128.0.5)"; null when it has none yet.</summary>
    public static string? Network(MachineResponse m) => m.Network is { } network ? network + (m.PrivateAddress is { } a ? $" ({a})" : "") : null;

    /// <summary>The CPU share the host enforces (issue 17), with the use measured while running: "0.31 of 0.4 cores, 1 vCPU".</summary>
    public static string? Cpu(MachineResponse m) => m.CpuShare is not { } share ? null
        : (m.CpuUsed is { } used ? $"{used:0.##} of " : "") + $"{share:0.###} cores, {m.Vcpus ?? 1} vCPU{((m.Vcpus ?? 1) == 1 ? "" : "s")}"
          + (m.MemoryUsedMb is { } mb ? $"; {mb} MB memory in use" : "");

    /// <summary>The ready-to-paste command that logs in to a running machine (issue 14), or null.</summary>
    public static string? Ssh(MachineResponse m) => m.Ssh is { } ssh ? $"ssh -p {ssh.Port} root@{ssh.Address}" : null;

    private static string Forwarded(MachineResponse m) =>
        string.Join(", ", m.Ports!.OrderBy(p => int.Parse(p.Key, System.Globalization.CultureInfo.InvariantCulture)).Select(p => $"{p.Key} → {p.Value}"));

    /// <summary>A machine's forwarded ports: those it holds while running, and the extra guest ports asked for.</summary>
    public static void Ports(TextWriter output, MachineResponse m)
    {
        var extra = m.ExtraPorts ?? [];
        if (m.Ports is { Count: > 0 })
        {
            var table = new Table("GUEST PORT", "REACHED AT");
            foreach (var (guest, at) in m.Ports.OrderBy(p => int.Parse(p.Key, System.Globalization.CultureInfo.InvariantCulture)))
            {
                table.Add(guest, at);
            }

            table.WriteTo(output);
            output.WriteLine($"Log in with: {Ssh(m)}");
        }
        else
        {
            output.WriteLine($"{MachineRef.Label(m)} is {m.State}: its ports are forwarded only while it runs (SSH{(extra.Count > 0 ? ", " + string.Join(", ", extra) : "")}).");
        }

        var pending = extra.Where(p => m.Ports is null || !m.Ports.ContainsKey(p.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToList();
        if (m.State == "running" && pending.Count > 0)
        {
            output.WriteLine($"Guest ports {string.Join(", ", pending)} are forwarded from the next start or resume.");
        }
        else if (m.State == "running" && m.Ports is not null && m.Ports.Keys.Any(k => k != "22" && !extra.Contains(int.Parse(k, System.Globalization.CultureInfo.InvariantCulture))))
        {
            output.WriteLine("Ports removed stay forwarded until the machine stops or suspends.");
        }
    }

    /// <summary>After a state change: the new state and what can be done next.</summary>
    public static void Changed(TextWriter output, MachineResponse m) =>
        output.WriteLine($"{MachineRef.Label(m)} is {m.State}, version {m.Version}. Next: {Actions(m)}.");

    public static void Registered(TextWriter output, MachineResponse m)
    {
        output.WriteLine($"Registered {m.Name} as {m.Id} with bids of {Text.Rates(m.StorageBid, m.RunningBid)}.");
        if (Network(m) is { } network)
        {
            output.WriteLine($"On network {network}.");
        }

        output.WriteLine($"Find a host for it with: virtuoso search {Text.ShortId(m.Id)}");
    }

    public static void Stored(TextWriter output, MachineResponse m)
    {
        var prices = m.StoragePrice is { } storage && m.StoragePeriodDays is { } days && m.RunningPrice is { } running && m.RunningPeriodSeconds is { } seconds
            ? $": storage {Text.StorageCharge(storage, days)}, running {Text.RunningCharge(running, seconds)}"
            : "";
        output.WriteLine($"Stored {MachineRef.Label(m)} on {m.Host}, version {m.Version}{prices}.");
        output.WriteLine($"Start it with: virtuoso start {Text.ShortId(m.Id)}");
    }

    /// <summary>
    /// Matching hosts first, cheapest a month first for the hours the server says it assumed (issue 18), then the others
    /// with their reasons.
    /// </summary>
    public static void Search(TextWriter output, SearchResult[] results, string reference)
    {
        if (results.Length == 0)
        {
            output.WriteLine("No hosts on the market yet.");
            return;
        }

        var hours = Text.Number(results[0].Hours);
        var matching = results.Where(r => r.Matches).OrderBy(r => r.MonthlyTotal).ToList();
        if (matching.Count == 0)
        {
            output.WriteLine("No host matches this machine. Raise its bids with: "
                + $"virtuoso edit {reference} --storage-bid DOLLARS_PER_MONTH --running-bid DOLLARS_PER_HOUR");
        }
        else
        {
            output.WriteLine($"Matching hosts, cheapest first for {hours} hours a month of running (change with --hours):");
            var table = new Table("HOST", "A MONTH", "PROCESSOR", "ADDRESS", "RATES", "CHARGES");
            foreach (var r in matching)
            {
                table.Add(r.Host, Text.Money(r.MonthlyTotal), Text.Or(r.Processor, "-"), Text.Or(r.Address, "-"), Text.Rates(r.StorageRate, r.RunningRate),
                    $"{Text.StorageCharge(r.StorageCharge, r.StoragePeriodDays)}, {Text.RunningCharge(r.RunningCharge, r.RunningPeriodSeconds)}");
            }

            table.WriteTo(output);
            output.WriteLine($"Store it with: virtuoso store {reference} --host {matching[0].Host}");
        }

        var others = results.Where(r => !r.Matches).OrderBy(r => r.MonthlyTotal).ToList();
        if (others.Count > 0)
        {
            output.WriteLine();
            output.WriteLine("Hosts that do not match:");
            var table = new Table("HOST", "A MONTH", "PROCESSOR", "ADDRESS", "RATES", "WHY NOT");
            foreach (var r in others)
            {
                table.Add(r.Host, Text.Money(r.MonthlyTotal), Text.Or(r.Processor, "-"), Text.Or(r.Address, "-"), Text.Rates(r.StorageRate, r.RunningRate),
                    // The sentences when the front-end gives them (issue 18: plain language), else the codes.
                    r.Explanations is { Count: > 0 } said ? string.Join(" ", said) : string.Join(", ", r.Reasons));
            }

            table.WriteTo(output);
        }
    }

    private static string Actions(MachineResponse m) => m.Actions.Count == 0 ? "none" : string.Join(", ", m.Actions);
}
