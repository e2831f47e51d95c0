namespace Virtuoso.Contracts.Api;

/// <summary>
/// GET /api/v1/ledger: one transfer of the double-entry ledger (design §4) that the caller is a party to.
/// Transfers are immutable; a mistake is corrected by a new transfer, never by an edit.
/// </summary>
/// <param name="Key">Unique per transfer, e.g. <c>machine:{id}:stay:1:running:3</c>; a repeat of the same key is "already done".</param>
/// <param name="Kind">opening-credit, deposit, registration-fee, storage or running.</param>
/// <param name="Amount">Dollars moved from <paramref name="From"/> to <paramref name="To"/>: positive, exact, unrounded.</param>
/// <param name="Machine">The machine charged, for fees and charges.</param>
/// <param name="Host">The host the machine was on, for storage and running charges.</param>
/// <param name="Seq">The transfer's place in the ledger: lists are newest first, and <c>?before=SEQ</c> asks for the entries older than this one.</param>
/// <param name="MachineName">The machine's name while it exists (null once it is deleted, or for transfers of no machine).</param>
public sealed record LedgerEntry(string Key, string Kind, decimal Amount, string From, string To, Guid? Machine, string? Host, DateTimeOffset At, long Seq = 0,
    string? MachineName = null);

/// <summary>Paging of the ledger and event lists (GET /api/v1/ledger, /api/v1/events): newest first, a page at a time.</summary>
public static class Paging
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;
}

/// <summary>
/// POST /api/v1/deposits (operator only): credits <paramref name="Account"/> from the operator's deposit source.
/// <paramref name="Reference"/> identifies the payment received (e.g. the bank transfer's id): a deposit sent
/// again with the same reference is not credited twice.
/// </summary>
/// <param name="Amount">Dollars, above 0 and at most 1e9.</param>
public sealed record DepositRequest(string Account, decimal Amount, string Reference);

/// <summary>The deposit's ledger transfer.</summary>
/// <param name="Key">The transfer's key, <c>deposit:{reference}</c>.</param>
/// <param name="Repeated">True when this reference had already been deposited (nothing moved this time).</param>
/// <param name="Balance">The account's balance after the deposit.</param>
public sealed record DepositResponse(string Key, string Account, decimal Amount, string Reference, DateTimeOffset At, bool Repeated, decimal Balance);
