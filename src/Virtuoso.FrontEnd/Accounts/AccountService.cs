using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Api;
using Virtuoso.Core;
using Virtuoso.Core.Billing;
using Virtuoso.Core.Machines;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Http;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Accounts;

/// <summary>Sign-up, log-in and the account page (report §5.1.1, §5.1.6, §5.2.1, §5.2.4).</summary>
internal sealed class AccountService(Database db, Ledger ledger, EventLog events, LoginThrottle throttle, TimeProvider clock, IOptions<MarketOptions> options)
{
    /// <summary>A new account. Usernames are unique whatever their case (issue 20: no "Operator" beside "operator").</summary>
    public async Task<Outcome<AccountResponse>> SignupAsync(SignupRequest r, string address)
    {
        if (Validate.First(Validate.Username(r.Username), Validate.Password(r.Password), Validate.Email(r.Email),
                r.Type is Roles.Buyer or Roles.Provider ? null : "type must be 'buyer' or 'provider'") is { } bad)
            return bad;
        if (await throttle.CheckSignupAsync(address) is { } limited) return limited;
        var hash = PasswordHasher.Hash(r.Password);
        var now = clock.GetUtcNow();
        var result = await db.WriteAsync<Failure?>(async (c, tx) =>
        {
            // No conflict target: the unique index on lower(username) answers too, and the answer is the same.
            var n = await c.ExecuteAsync("INSERT INTO accounts (username, email, password_hash, type, balance, created_at, signup_address) " +
                "VALUES (@u, @e, @h, @t, '0', @now, @address) ON CONFLICT DO NOTHING", new { u = r.Username, e = r.Email, h = hash, t = r.Type, now, address }, tx);
            if (n == 0) return new Failure(ErrorCodes.UsernameTaken, $"the username '{r.Username}' is taken");
            var credit = new Money(options.Value.OpeningCredit);
            if (credit.Dollars > 0)
                await ledger.TransferAsync(c, tx, ChargeKey.OpeningCredit(r.Username), TransferKinds.OpeningCredit, credit, Ledger.Deposits, r.Username, null, null, now);
            await events.AppendAsync(c, tx, "signed-up", null, r.Username, $"{r.Type} account created with an opening credit of {Plain.Exact(credit)}");
            return null;
        }, f => f is null);
        if (result is { } f) return f;
        return await ViewAsync(r.Username);
    }

    /// <summary>
    /// A new session for a username (any case) and its password, from <paramref name="address"/>. Throttled in the
    /// database (<see cref="LoginThrottle"/>): a refused attempt checks no password. An unknown username costs the same
    /// password hashing as a wrong password, so neither the answer nor its time tells which usernames exist.
    /// </summary>
    public async Task<Outcome<SessionResponse>> LoginAsync(LoginRequest r, string address)
    {
        if (await throttle.CheckLoginAsync(address, r.Username) is { } limited) return limited;
        var account = r.Username is null ? null : await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<(string Username, string PasswordHash, string Type)?>(
            "SELECT username, password_hash, type FROM accounts WHERE lower(username) = lower(@u)", new { u = r.Username }));
        var verified = PasswordHasher.Verify(r.Password ?? "", account?.PasswordHash ?? UnknownUserHash.Value);
        if (account is not { } a || r.Password is null || !verified)
        {
            await throttle.FailedAsync(address, r.Username);
            return new Failure(ErrorCodes.InvalidCredentials, "wrong username or password");
        }
        await throttle.SucceededAsync(address, r.Username!);
        var token = PasswordHasher.NewToken();
        var now = clock.GetUtcNow();
        await db.WriteAsync(async (c, tx) =>
        {
            await c.ExecuteAsync("INSERT INTO sessions (token_hash, username, created_at, expires_at) VALUES (@h, @u, @now, @exp)",
                new { h = PasswordHasher.TokenHash(token), u = a.Username, now, exp = now + TimeSpan.FromDays(options.Value.SessionDays) }, tx);
            await c.ExecuteAsync("DELETE FROM sessions WHERE expires_at <= @now", new { now }, tx);
            return 0;
        });
        return new SessionResponse(token, a.Username, a.Type);
    }

    /// <summary>A hash of no one's password, verified against when the username is unknown (same cost as a real one).</summary>
    private static readonly Lazy<string> UnknownUserHash = new(() => PasswordHasher.Hash(PasswordHasher.NewToken()));

    public Task LogoutAsync(string token) =>
        db.ReadAsync(c => c.ExecuteAsync("DELETE FROM sessions WHERE token_hash = @h", new { h = PasswordHasher.TokenHash(token) }));

    /// <summary>The account page: balance; a buyer's machines with prices and the time to their next debits; a provider's income per host and machine.</summary>
    public async Task<AccountResponse> ViewAsync(string username)
    {
        var now = clock.GetUtcNow();
        return await db.ReadAsync(async c =>
        {
            var a = await c.QuerySingleAsync<(string Username, string Email, string Type, Money Balance)>(
                "SELECT username, email, type, balance FROM accounts WHERE username = @username", new { username });
            var machines = (await c.QueryAsync<MachineRow>($"SELECT {MachineRow.Columns} FROM machines WHERE owner = @username ORDER BY created_at", new { username }))
                .Select(m => AccountMachine(m, now)).ToList();
            var hosts = new List<AccountHost>();
            if (a.Type == Roles.Provider)
            {
                var income = (await c.QueryAsync<(string? Host, MachineId? Machine, Money Amount)>(
                    "SELECT host, machine, amount FROM transfers WHERE to_account = @username AND host IS NOT NULL", new { username })).ToList();
                var onHosts = (await c.QueryAsync<MachineRow>($"SELECT {MachineRow.Columns} FROM machines WHERE host IN (SELECT name FROM hosts WHERE owner = @username)", new { username }))
                    .ToLookup(m => m.Host);
                foreach (var name in await c.QueryAsync<string>("SELECT name FROM hosts WHERE owner = @username ORDER BY name", new { username }))
                    hosts.Add(new AccountHost(name, income.Where(i => i.Host == name).Sum(i => i.Amount.Dollars),
                        onHosts[name].Select(m =>
                        {
                            var times = AccountMachine(m, now);
                            return new AccountHostMachine(m.Id, m.Owner, MachineRow.StateText(m.State), m.Speed, m.Memory, m.Disk,
                                m.StoragePrice!.Value.Dollars, m.StoragePeriodDays!.Value, m.RunningPrice!.Value.Dollars, m.RunningPeriodSeconds!.Value,
                                income.Where(i => i.Machine == m.Id).Sum(i => i.Amount.Dollars), times.NextStorageDebitSeconds, times.NextRunningDebitSeconds, m.Name);
                        }).ToList()));
            }
            return new AccountResponse(a.Username, a.Email, a.Type, a.Balance.Dollars, machines, hosts);
        });
    }

    private static AccountMachine AccountMachine(MachineRow m, DateTimeOffset now)
    {
        if (m.Host is null)
            return new AccountMachine(m.Id, m.Name, MachineRow.StateText(m.State), null, null, null, null, null, null, null, null);
        // As the billing daemon charges (design §4): the next storage period begins at arrival + charged periods × period;
        // a running machine's next running period begins when its prepaid time runs out. Zero when due and not yet
        // charged (the next billing pass charges it).
        var storagePeriodSeconds = m.StoragePeriodDays!.Value * 86400m;
        var nextStorage = Math.Max(0m, (decimal)(m.ArrivedAt!.Value - now).TotalSeconds + m.StoragePeriodsCharged * storagePeriodSeconds);
        var left = Math.Max(0m, m.RunningTime.LeftAt(now, m.RunningPeriodSeconds!.Value));
        return new AccountMachine(m.Id, m.Name, MachineRow.StateText(m.State), m.Host,
            m.StoragePrice!.Value.Dollars, m.StoragePeriodDays, m.RunningPrice!.Value.Dollars, m.RunningPeriodSeconds,
            nextStorage, left, m.RunningSince is null ? null : left);
    }
}
