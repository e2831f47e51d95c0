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

        output.WriteLine($"The machine is on {targets.From}. Hosts with room for it, cheapest first for {Text.Number(targets.Hours)} hours a month of running:");
        var table = new Table("HOST", "A MONTH", "RATES", "STORAGE", "RUNNING", "ON ARRIVAL", "METHODS");
        foreach (var t in targets.Hosts)
        {
            table.Add(t.Host, Text.Money(t.MonthlyTotal), Text.Rates(t.StorageRate, t.RunningRate), Text.StorageCharge(t.StorageCharge, t.StoragePeriodDays),
                Text.RunningCharge(t.RunningCharge, t.RunningPeriodSeconds), Text.Money(t.ArrivalCharge),
                t.Methods is { Count: > 0 } methods ? string.Join(' ', methods) : "unknown");
        }

        table.WriteTo(output);
        output.WriteLine(targets.Note);
        if (targets.Forfeit is { } f)
        {
            output.WriteLine($"Moving now gives up on {targets.From}: {Text.GivenUp(f)}" + (f.ChargedNow > 0 ? $"; {Text.Money(f.ChargedNow)} for periods begun there is charged first." : "."));
        }

        output.WriteLine($"Migrate with: virtuoso migrate {Text.ShortId(targets.Machine)} --host HOST --method SCP|RSYNC|DEDUP");
    }

    /// <param name="forfeit">What leaving the origin gave up, read before the move; null: not known.</param>
    public static void Done(TextWriter output, MigrationResponse m, ForfeitResponse? forfeit = null)
    {
        output.WriteLine($"Migrated {m.Machine} from {m.From} to {m.To} with {m.Method}: {m.PreviousState}, version {Text.Number(m.Version + 1)}.");
        if (forfeit is not null) output.WriteLine($"Gave up on {m.From}: {Text.GivenUp(forfeit)}.");
    }

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
