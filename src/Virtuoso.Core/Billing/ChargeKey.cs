namespace Virtuoso.Core.Billing;

/// <summary>Kinds of money movement in the ledger (design §4).</summary>
public static class TransferKinds
{
    public const string OpeningCredit = "opening-credit";
    public const string Deposit = "deposit";
    public const string RegistrationFee = "registration-fee";
    public const string Storage = "storage";
    public const string Running = "running";
}

/// <summary>
/// Unique keys of ledger transfers: a duplicate key means "already done" (design §4). A machine's charges
/// are numbered per stay on a host (<paramref name="stay"/> grows with every arrival), so that a migration
/// starts new periods without colliding with the old host's.
/// </summary>
public static class ChargeKey
{
    public static string Storage(Guid machine, long stay, long period) => $"machine:{machine:N}:stay:{stay}:storage:{period}";
    public static string Running(Guid machine, long stay, long period) => $"machine:{machine:N}:stay:{stay}:running:{period}";
    public static string RegistrationFee(Guid machine) => $"machine:{machine:N}:registration-fee";
    public static string OpeningCredit(string account) => $"account:{account}:opening-credit";
}
