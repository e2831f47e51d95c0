using System.Data.Common;
using Dapper;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Http;

namespace Virtuoso.FrontEnd.Billing;

/// <summary>
/// What users see of the ledger (issue 5, item 5): their own transfers, as a list or as a monthly CSV statement.
/// A caller sees only transfers they are a party to; a machine that is neither theirs nor in any of their
/// transfers answers exactly like one that does not exist (§6.1.4).
/// </summary>
internal sealed class LedgerView(Database db)
{
    private const string Columns = "t.key, t.kind, t.amount, t.from_account, t.to_account, t.machine, t.host, t.at, t.id, m.name";

    /// <summary>
    /// A page of the transfers <paramref name="account"/> is a party to, newest first: at most <paramref name="limit"/>, older than
    /// <paramref name="before"/> (a <see cref="LedgerEntry.Seq"/>) when given; only <paramref name="machine"/>'s when given.
    /// </summary>
    public Task<Outcome<IReadOnlyList<LedgerEntry>>> ForAccountAsync(string account, Guid? machine, int limit = Paging.DefaultLimit, long? before = null) => db.ReadAsync(async c =>
    {
        var entries = await ReadAsync(c, account, (machine is null ? "" : "AND t.machine = @machine") + (before is null ? "" : " AND t.id < @before"),
            new { account, machine, before, limit }, newestFirst: true);
        if (machine is { } id && entries.Count == 0 && await c.ExecuteScalarAsync<long>(
                "SELECT COUNT(*) FROM machines WHERE id = @id AND owner = @account", new { id, account }) == 0)
            return (Outcome<IReadOnlyList<LedgerEntry>>)Failure.MachineNotFound;
        return Outcome<IReadOnlyList<LedgerEntry>>.Success(entries);
    });

    /// <summary><paramref name="account"/>'s statement for <paramref name="month"/> (yyyy-MM, UTC) as CSV.</summary>
    public async Task<Outcome<string>> StatementAsync(string account, string month)
    {
        if (Statement.ParseMonth(month, out var error) is not { } range) return Failure.Validation(error!);
        var (start, end) = (range.Start, range.End);
        return await db.ReadAsync(async c =>
        {
            // Balances change only through transfers and start at zero, so the opening balance is the sum of every earlier effect.
            var earlier = await c.QueryAsync<(decimal Amount, string From, string To)>(
                "SELECT amount, from_account, to_account FROM transfers WHERE (from_account = @account OR to_account = @account) AND at < @start",
                new { account, start });
            var opening = earlier.Sum(t => (t.To == account ? t.Amount : 0m) - (t.From == account ? t.Amount : 0m));
            var transfers = await ReadAsync(c, account, "AND t.at >= @start AND t.at < @end", new { account, start, end });
            return (Outcome<string>)Statement.Csv(account, month, opening, transfers);
        });
    }

    // Newest first is by the ledger's own sequence (the cursor); a statement lists a month in time order.
    // Machines are named by their names while they exist (issue 18: no hex ids where a name exists).
    private static async Task<IReadOnlyList<LedgerEntry>> ReadAsync(DbConnection c, string account, string filter, object args, bool newestFirst = false) =>
        (await c.QueryAsync<(string Key, string Kind, decimal Amount, string From, string To, Guid? Machine, string? Host, DateTimeOffset At, long Id, string? Name)>(
            $"SELECT {Columns} FROM transfers t LEFT JOIN machines m ON m.id = t.machine WHERE (t.from_account = @account OR t.to_account = @account) {filter} " +
            (newestFirst ? "ORDER BY t.id DESC LIMIT @limit" : "ORDER BY t.at, t.id"), args))
        .Select(t => new LedgerEntry(t.Key, t.Kind, t.Amount, t.From, t.To, t.Machine, t.Host, t.At, t.Id, t.Name))
        .ToList();
}
