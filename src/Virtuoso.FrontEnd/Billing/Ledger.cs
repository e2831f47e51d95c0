using System.Data.Common;
using Dapper;
using Virtuoso.Core;
using Virtuoso.FrontEnd.Data;

namespace Virtuoso.FrontEnd.Billing;

/// <summary>
/// The double-entry ledger (design §4): every movement of money is an immutable transfer with a unique key,
/// inserted in the same transaction as the two balance changes. A key already present means "already done"
/// and moves nothing. Balances change only here, so the sum of all balances (the deposit source included)
/// stays zero.
/// </summary>
internal sealed class Ledger(Database db)
{
    /// <summary>The operator's account that receives fees.</summary>
    public const string Operator = "operator";
    /// <summary>The operator's deposit source: opening credits and deposits come from here.</summary>
    public const string Deposits = "deposits";

    /// <summary>Moves <paramref name="amount"/> unless <paramref name="key"/> was already used. True when it moved.</summary>
    public async Task<bool> TransferAsync(DbConnection c, DbTransaction tx, string key, string kind, Money amount,
        string from, string to, Guid? machine, string? host, DateTimeOffset at)
    {
        if (!await InsertAsync(c, tx, key, kind, amount, from, to, machine, host, at)) return false;
        await ApplyAsync(c, tx, new Dictionary<string, decimal> { [from] = -amount.Dollars, [to] = amount.Dollars });
        return true;
    }

    /// <summary>
    /// Records a transfer without touching balances: the caller applies the sum of its transfers' effects with
    /// <see cref="ApplyAsync"/> in the same transaction (the billing daemon does, once per account per batch).
    /// False when the key exists: already done, nothing to apply.
    /// </summary>
    public async Task<bool> InsertAsync(DbConnection c, DbTransaction tx, string key, string kind, Money amount,
        string from, string to, Guid? machine, string? host, DateTimeOffset at)
    {
        if (amount.Dollars <= 0) throw new ArgumentOutOfRangeException(nameof(amount), "transfers move a positive amount");
        return await c.ExecuteAsync(
            "INSERT INTO transfers (key, kind, amount, from_account, to_account, machine, host, at) " +
            "VALUES (@key, @kind, @amount, @from, @to, @machine, @host, @at) ON CONFLICT (key) DO NOTHING",
            new { key, kind, amount = Money.Format(amount.Dollars), from, to, machine = machine?.ToString("D"), host, at = at.ToUnixTimeMilliseconds() }, tx) > 0;
    }

    /// <summary>Adds each delta to its account's balance. Accounts are locked in name order so replicas never deadlock on them.</summary>
    public async Task ApplyAsync(DbConnection c, DbTransaction tx, IReadOnlyDictionary<string, decimal> deltas)
    {
        foreach (var (account, delta) in deltas.OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            if (delta == 0) continue;
            var balance = await BalanceAsync(c, tx, account);
            await c.ExecuteAsync("UPDATE accounts SET balance = @balance WHERE username = @account",
                new { balance = Money.Format(balance.Dollars + delta), account }, tx);
        }
    }

    public async Task<Money> BalanceAsync(DbConnection c, DbTransaction? tx, string account) =>
        new(decimal.Parse(await c.ExecuteScalarAsync<string>(
            "SELECT balance FROM accounts WHERE username = @account" + (tx is null ? "" : db.ForUpdate), new { account }, tx)
            ?? throw new InvalidOperationException($"account {account} does not exist"), System.Globalization.CultureInfo.InvariantCulture));
}
