using Dapper;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Http;

namespace Virtuoso.FrontEnd.Billing;

/// <summary>
/// The operator's account (design §3: receives fees, credits deposits) is seeded with an unusable password
/// (0002_seed.sql). At start-up the front-end sets it from <c>Virtuoso:OperatorPassword</c> (environment
/// <c>Virtuoso__OperatorPassword</c>) when that is given.
/// </summary>
internal static class OperatorAccount
{
    public const string PasswordSetting = "Virtuoso:OperatorPassword";

    /// <summary>
    /// Sets the operator's password unless it already is <paramref name="password"/>. A changed password ends the
    /// operator's sessions, so rotating it locks out whoever had the old one. False when nothing changed.
    /// </summary>
    public static async Task<bool> SetPasswordAsync(Database db, string password)
    {
        if (Validate.Password(password) is { } bad) throw new InvalidOperationException($"{PasswordSetting}: {bad}");
        return await db.WriteAsync(async (c, tx) =>
        {
            var current = await c.ExecuteScalarAsync<string?>($"SELECT password_hash FROM accounts WHERE username = @name{db.ForUpdate}", new { name = Ledger.Operator }, tx)
                ?? throw new InvalidOperationException($"the operator's account '{Ledger.Operator}' is missing (0002_seed.sql)");
            if (PasswordHasher.Verify(password, current)) return false;
            await c.ExecuteAsync("UPDATE accounts SET password_hash = @hash WHERE username = @name", new { hash = PasswordHasher.Hash(password), name = Ledger.Operator }, tx);
            await c.ExecuteAsync("DELETE FROM sessions WHERE username = @name", new { name = Ledger.Operator }, tx);
            return true;
        });
    }
}
