using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using Virtuoso.Cli.Machines;
using Virtuoso.Cli.Output;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Billing;

/// <summary>Money (design §4): your ledger, your monthly statement, and the operator's deposits.</summary>
internal static partial class BillingCommands
{
    public const decimal MaxDeposit = 1_000_000_000m;

    [GeneratedRegex(@"^[0-9]{4}-(0[1-9]|1[0-2])\z")] private static partial Regex MonthRx();

    public static IEnumerable<Command> Build(Runner run)
    {
        yield return Ledger(run);
        yield return Statement(run);
        yield return Deposit(run);
    }

    private static Command Ledger(Runner run)
    {
        var machine = Opt.Text("--machine", "Only this machine's transfers (id, id prefix or name; providers give the full id)", "ID");
        var command = new Command("ledger", "List the ledger transfers you are a party to, newest first, a page at a time") { machine };
        var pages = new Pages();
        pages.AddTo(command);
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            string? filter = null;
            if (parse.GetValue(machine) is { } reference)
            {
                if ((await MachineRef.ResolveAsync(session.Api, reference, ct)).Failed(out var notFound, out var machineId))
                {
                    return notFound;
                }

                filter = $"machine={machineId}";
            }

            // With an API key (VIRTUOSO_API_KEY) there is no stored login to say who "me" is: the account does.
            var me = session.Login?.Username;
            if (me is null && !session.Json)
            {
                if ((await session.Api.GetAsync<AccountResponse>("account", ct)).Failed(out var noAccount, out var account))
                {
                    return noAccount;
                }

                me = account.Username;
            }

            return (await session.Api.GetAsync<LedgerEntry[]>(pages.Path("ledger", filter, parse), ct)).Failed(out var failure, out var entries)
                ? failure
                : session.Show(entries, (output, value) =>
                {
                    BillingText.Ledger(output, value, me!);
                    Pages.Next(output, value.Length, parse.GetValue(pages.Limit), value.Length > 0 ? value[^1].Seq : 0,
                        "ledger" + (parse.GetValue(machine) is { } m ? $" --machine {m}" : ""));
                });
        });
        return command;
    }

    private static Command Statement(Runner run)
    {
        var month = new Argument<string>("MONTH") { Description = "The calendar month, YYYY-MM (UTC)" };
        month.Validators.Add(result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (!MonthRx().IsMatch(text))
            {
                result.AddError($"MONTH must be YYYY-MM, such as 2026-11, not '{text}'");
            }
        });
        var output = Opt.Text("--output", "Write the CSV to this file instead of printing it", "FILE");
        var command = new Command("statement", "Download your statement of a month as CSV: every transfer, its effect on your balance, opening and closing balance") { month, output };
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            var which = parse.GetValue(month)!;
            if ((await session.Api.GetTextAsync($"statements/{which}", ct)).Failed(out var failure, out var csv))
            {
                return failure;
            }

            if (parse.GetValue(output) is not { } file)
            {
                return session.Show(new StatementText(which, csv), (writer, value) => writer.Write(value.Csv));
            }

            return Write(file, csv)
                ?? session.Show(new StatementFile(which, Path.GetFullPath(file)), (writer, value) =>
                    writer.WriteLine($"Wrote the statement of {value.Month} to {value.File}."));
        });
        return command;
    }

    /// <summary>What <c>statement --json</c> prints: the server answers CSV.</summary>
    private sealed record StatementText(string Month, string Csv);

    /// <summary>What <c>statement --output FILE --json</c> prints.</summary>
    private sealed record StatementFile(string Month, string File);

    /// <summary>Writes beside the target, then renames: an interrupted write never leaves half a statement under the name.</summary>
    private static Failure? Write(string file, string text)
    {
        var full = Path.GetFullPath(file);
        var temporary = full + ".part";
        try
        {
            File.WriteAllText(temporary, text);
            File.Move(temporary, full, overwrite: true);
            return null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }

            return new Failure(ExitCode.Refused, $"cannot write {full}: {exception.Message}", Failure.LocalFilesCode);
        }
    }

    private static Command Deposit(Runner run)
    {
        var account = new Argument<string>("ACCOUNT") { Description = "The buyer's or provider's username" };
        var amount = new Argument<decimal>("AMOUNT")
        {
            Description = $"Dollars, above 0 and at most {MaxDeposit:0}",
            CustomParser = result =>
            {
                var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
                if (decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) && value > 0 && value <= MaxDeposit)
                {
                    return value;
                }

                result.AddError($"AMOUNT must be dollars above 0 and at most {MaxDeposit:0}, such as 25.50, not '{text}'");
                return 0;
            },
        };
        var reference = Opt.Text("--reference", "The payment's reference (e.g. the bank transfer's id): a deposit repeated with it is not credited twice", "REF", required: true);
        var command = new Command("deposit", "Operator: credit an account from the deposit source") { account, amount, reference };
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            var request = new DepositRequest(parse.GetValue(account)!, parse.GetValue(amount), parse.GetValue(reference)!);
            return (await session.Api.SendAsync<DepositResponse>(HttpMethod.Post, "deposits", request, ct)).Failed(out var failure, out var deposit)
                ? failure
                : session.Show(deposit, BillingText.Deposit);
        });
        return command;
    }
}
