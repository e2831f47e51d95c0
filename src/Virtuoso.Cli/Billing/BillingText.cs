using Virtuoso.Cli.Output;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Billing;

/// <summary>The ledger and deposits as text. Money is shown exact and unrounded (design §4).</summary>
internal static class BillingText
{
    /// <param name="me">The logged-in user: EFFECT is what each transfer did to their balance.</param>
    public static void Ledger(TextWriter output, LedgerEntry[] entries, string me)
    {
        if (entries.Length == 0)
        {
            output.WriteLine("No transfers yet.");
            return;
        }

        var table = new Table("SEQ", "TIME", "KIND", "AMOUNT", "EFFECT", "FROM", "TO", "MACHINE", "HOST", "KEY");
        foreach (var e in entries)
        {
            var effect = (e.To == me ? e.Amount : 0m) - (e.From == me ? e.Amount : 0m);
            table.Add(Text.Number(e.Seq), Text.Time(e.At), e.Kind, Text.Money(e.Amount), effect > 0 ? "+" + Text.Money(effect) : Text.Money(effect),
                e.From, e.To, e.Machine is { } id ? Text.ShortId(id) : "-", e.Host ?? "-", e.Key);
        }

        table.WriteTo(output);
    }

    public static void Deposit(TextWriter output, DepositResponse deposit)
    {
        output.WriteLine(deposit.Repeated
            ? $"Already deposited: reference {deposit.Reference} credited {Text.Money(deposit.Amount)} to {deposit.Account} at {Text.Time(deposit.At)}; nothing moved this time."
            : $"Deposited {Text.Money(deposit.Amount)} to {deposit.Account} (reference {deposit.Reference}).");
        output.WriteLine($"Balance of {deposit.Account}: {Text.Money(deposit.Balance)}");
    }
}
