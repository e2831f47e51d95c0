using Dapper;
using Virtuoso.Contracts.Api;
using Virtuoso.Core;
using Virtuoso.Core.Billing;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Http;

namespace Virtuoso.FrontEnd.Billing;

/// <summary>
/// Deposits (design §4): the operator credits a buyer's or provider's account from the deposit source, so the sum
/// of all balances stays zero. The payment's reference is the transfer's key: a deposit sent again (a retry, a
/// double click) finds its key taken and moves nothing.
/// </summary>
internal sealed class DepositService(Database db, Ledger ledger, EventLog events, TimeProvider clock)
{
    public const decimal MaxAmount = 1_000_000_000m;
    public const int MaxReference = 128;

    public static string Key(string reference) => $"deposit:{reference}";

    public async Task<Outcome<DepositResponse>> DepositAsync(DepositRequest r)
    {
        if (Validate.First(
                r.Account is null ? "account is required" : null,
                Validate.Price("amount", r.Amount, MaxAmount),
                Validate.Label("reference", r.Reference, MaxReference)) is { } bad)
            return bad;
        // Refused above when missing; said again here for the compiler, which cannot follow Validate.First.
        if (r.Account is null)
            return Failure.Validation("account is required");
        var key = Key(r.Reference);
        var now = clock.GetUtcNow();
        return await db.WriteAsync(async (c, tx) =>
        {
            var type = await c.ExecuteScalarAsync<string?>("SELECT type FROM accounts WHERE username = @account", new { account = r.Account }, tx);
            if (type is null) return (Outcome<DepositResponse>)Failure.NotFound($"account '{r.Account}'");
            if (type is not (Roles.Buyer or Roles.Provider))
                return Failure.Validation($"deposits are credited to buyer and provider accounts; '{r.Account}' is the operator's");

            if (!await ledger.TransferAsync(c, tx, key, TransferKinds.Deposit, new Money(r.Amount), Ledger.Deposits, r.Account, null, null, now))
            {
                // Already done, as long as it is the same deposit; the same reference for another one is a mistake to report.
                var done = await c.QuerySingleAsync<(string To, Money Amount, DateTimeOffset At)>("SELECT to_account, amount, at FROM transfers WHERE key = @key", new { key }, tx);
                if (done.To != r.Account || done.Amount.Dollars != r.Amount)
                    return new Failure(ErrorCodes.Conflict, $"the reference '{r.Reference}' was already used for a deposit of {Plain.Exact(done.Amount)} to {done.To}");
                return new DepositResponse(key, r.Account, r.Amount, r.Reference, done.At, Repeated: true,
                    (await ledger.BalanceAsync(c, tx, r.Account)).Dollars);
            }
            await events.AppendAsync(c, tx, "deposit", null, r.Account, $"deposit of {Plain.Exact(r.Amount)} credited (reference {r.Reference})");
            return new DepositResponse(key, r.Account, r.Amount, r.Reference, now, Repeated: false, (await ledger.BalanceAsync(c, tx, r.Account)).Dollars);
        }, o => o.Ok);
    }
}
