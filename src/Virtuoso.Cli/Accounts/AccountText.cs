using Virtuoso.Cli.Output;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Accounts;

/// <summary>The account page (report Figures 22–23 for buyers, 30 and 32 for providers) as text.</summary>
internal static class AccountText
{
    public static void Account(TextWriter output, AccountResponse account)
    {
        Fields.Write(output,
            ("account", $"{account.Username} ({account.Type})"),
            ("email", account.Email),
            ("balance", Text.Money(account.Balance)));

        if (account.Machines.Count > 0)
        {
            output.WriteLine();
            var table = new Table("ID", "NAME", "STATE", "HOST", "STORAGE", "NEXT STORAGE CHARGE", "RUNNING", "PREPAID", "NEXT RUNNING CHARGE");
            foreach (var m in account.Machines)
            {
                table.Add(m.Id.ToString(), m.Name, m.State, m.Host ?? "-",
                    m.StoragePrice is { } storage && m.StoragePeriodDays is { } days ? Text.StorageCharge(storage, days) : "-",
                    In(m.NextStorageDebitSeconds),
                    m.RunningPrice is { } running && m.RunningPeriodSeconds is { } seconds ? Text.RunningCharge(running, seconds) : "-",
                    m.PrepaidRunningSeconds is { } prepaid ? Text.Duration(prepaid) : "-",
                    In(m.NextRunningDebitSeconds));
            }

            table.WriteTo(output);
        }
        else if (account.Type == "buyer")
        {
            output.WriteLine();
            output.WriteLine($"No machines yet. Register one with: {Machines.MachineText.RegisterHint}");
        }

        foreach (var host in account.Hosts)
        {
            output.WriteLine();
            output.WriteLine($"Host {host.Name}: income {Text.Money(host.Income)}");
            if (host.Machines.Count == 0)
            {
                output.WriteLine("  no machines stored on it");
                continue;
            }

            var table = new Table("ID", "OWNER", "STATE", "SPEED", "MEMORY", "DISK", "STORAGE", "RUNNING", "INCOME");
            foreach (var m in host.Machines)
            {
                table.Add(m.Id.ToString(), m.Owner, m.State, $"{m.Speed} bogomips", $"{m.Memory} MB", $"{m.Disk} MB",
                    Text.StorageCharge(m.StoragePrice, m.StoragePeriodDays), Text.RunningCharge(m.RunningPrice, m.RunningPeriodSeconds),
                    Text.Money(m.Income));
            }

            table.WriteTo(output);
        }

        if (account.Type == "provider" && account.Hosts.Count == 0)
        {
            output.WriteLine();
            output.WriteLine("No hosts yet. Add one with: virtuoso host add NAME --address A --port P ... (see: virtuoso host add --help)");
        }
    }

    private static string In(decimal? seconds) => seconds is { } value ? "in " + Text.Duration(value) : "-";
}
