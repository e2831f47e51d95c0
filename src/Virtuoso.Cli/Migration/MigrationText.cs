using System.Globalization;
using Virtuoso.Cli.Output;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Migration;

/// <summary>The human renderings of migration targets, progress and outcome.</summary>
internal static class MigrationText
{
    public static void Targets(TextWriter output, MigrationTargetsResponse targets)
    {
        if (targets.Hosts.Count == 0)
        {
            output.WriteLine($"No other host has room for this machine now (it is on {targets.From}).");
            return;
        }

        output.WriteLine($"The machine is on {targets.From}. Hosts with room for it, cheapest storage first:");
        var table = new Table("HOST", "RATES", "STORAGE", "RUNNING", "ON ARRIVAL", "METHODS");
        foreach (var t in targets.Hosts)
        {
            table.Add(t.Host, Text.Rates(t.StorageRate, t.RunningRate), Text.StorageCharge(t.StorageCharge, t.StoragePeriodDays),
                Text.RunningCharge(t.RunningCharge, t.RunningPeriodSeconds), Text.Money(t.ArrivalCharge),
                t.Methods is { Count: > 0 } methods ? string.Join(' ', methods) : "unknown");
        }

        table.WriteTo(output);
        output.WriteLine(targets.Note);
        output.WriteLine($"Migrate with: virtuoso migrate {Text.ShortId(targets.Machine)} --host HOST --method SCP|RSYNC|DEDUP");
    }

    public static void Done(TextWriter output, MigrationResponse m) =>
        output.WriteLine($"Migrated {m.Machine} from {m.From} to {m.To} with {m.Method}: {m.PreviousState}, version {Text.Number(m.Version + 1)}.");

    /// <summary>"copying [#########-----------]  45%  450 kB of 1 MB, 120 kB/s, ETA 4 s"; the bar only on a terminal.</summary>
    public static string ProgressLine(MigrationResponse m, bool bar)
    {
        if (m.Phase != MigrationStates.Open)
        {
            return m.Phase switch
            {
                MigrationStates.Committed => $"committed: activating on {m.To}",
                MigrationStates.Done => $"done: on {m.To}",
                _ => $"reverted: {m.Error}",
            };
        }

        if (m.BytesTotal is not { } total || m.BytesDone is not { } done || total <= 0)
        {
            return $"{m.DestinationPhase ?? "starting"}: {m.From} -> {m.To} with {m.Method}";
        }

        var percent = (int)Math.Clamp(done * 100 / total, 0, 100);
        var parts = $"{percent,3}%  {Bytes(done)} of {Bytes(total)}";
        if (m.BytesPerSecond is > 0 and var rate)
        {
            parts += $", {Bytes((long)rate)}/s";
        }

        if (m.EtaSeconds is { } eta)
        {
            parts += $", ETA {Math.Ceiling(eta).ToString(CultureInfo.InvariantCulture)} s";
        }

        var head = m.DestinationPhase ?? "copying";
        return bar ? $"{head} {LiveLine.Bar(percent)} {parts}" : $"{head}: {parts}";
    }

    internal static string Bytes(long n) => n switch
    {
        >= 1_000_000_000 => (n / 1e9).ToString("0.##", CultureInfo.InvariantCulture) + " GB",
        >= 1_000_000 => (n / 1e6).ToString("0.##", CultureInfo.InvariantCulture) + " MB",
        >= 1_000 => (n / 1e3).ToString("0.##", CultureInfo.InvariantCulture) + " kB",
        _ => n.ToString(CultureInfo.InvariantCulture) + " B",
    };
}
