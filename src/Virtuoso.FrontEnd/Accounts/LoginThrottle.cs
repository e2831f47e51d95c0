using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Accounts;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Http;

namespace Virtuoso.FrontEnd.Accounts;

/// <summary>
/// Failed log-ins and sign-ups per client address, counted in the database so that every replica sees the same
/// counts (issue 20). The decision is <see cref="LoginBackoff"/>'s; the API's <c>POST /sessions</c> and the web's
/// log-in form both go through <see cref="AccountService.LoginAsync"/>, which asks here first.
/// </summary>
internal sealed class LoginThrottle(Database db, TimeProvider clock, IOptions<MarketOptions> options)
{
    /// <summary>The address of a client that has none (an in-process test server).</summary>
    public const string NoAddress = "local";

    /// <summary>The client's address as the throttle counts it.</summary>
    public static string AddressOf(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? NoAddress;

    /// <summary>A refusal when <paramref name="username"/> may not be tried from <paramref name="address"/> now.</summary>
    public async Task<Failure?> CheckLoginAsync(string address, string? username)
    {
        var now = clock.GetUtcNow();
        var key = Key(username);
        var (account, fromAddress) = await db.ReadAsync(async c => (
            await c.QuerySingleAsync<(long N, DateTimeOffset? Last)>(
                "SELECT COUNT(*), MAX(at) FROM login_failures WHERE username_key = @key AND address = @address AND at > @since",
                new { key, address, since = now - LoginBackoff.Window }),
            await c.QuerySingleAsync<(long N, DateTimeOffset? Oldest)>(
                "SELECT COUNT(*), MIN(at) FROM login_failures WHERE address = @address AND at > @since",
                new { address, since = now - TimeSpan.FromMinutes(1) })));
        var wait = LoginBackoff.WaitBeforeAttempt((int)account.N, account.Last, (int)fromAddress.N, fromAddress.Oldest,
            options.Value.LoginAttemptsPerAddressPerMinute, now);
        return wait > TimeSpan.Zero ? new Failure(ErrorCodes.RateLimited, LoginBackoff.Say(wait)) : null;
    }

    public Task FailedAsync(string address, string? username)
    {
        var now = clock.GetUtcNow();
        return db.WriteAsync(async (c, tx) =>
        {
            await c.ExecuteAsync("INSERT INTO login_failures (username_key, address, at) VALUES (@key, @address, @now)",
                new { key = Key(username), address, now }, tx);
            // Rows older than the longest look-back decide nothing any more.
            return await c.ExecuteAsync("DELETE FROM login_failures WHERE at < @old", new { old = now - LoginBackoff.Window - LoginBackoff.LongestWait }, tx);
        });
    }

    public Task SucceededAsync(string address, string username) =>
        db.WriteAsync((c, tx) => c.ExecuteAsync("DELETE FROM login_failures WHERE username_key = @key AND address = @address",
            new { key = Key(username), address }, tx));

    /// <summary>A refusal when <paramref name="address"/> has signed up as many accounts as an hour allows.</summary>
    public async Task<Failure?> CheckSignupAsync(string address)
    {
        var limit = options.Value.SignupsPerAddressPerHour;
        if (limit <= 0) return null;
        var since = clock.GetUtcNow() - TimeSpan.FromHours(1);
        var n = await db.ReadAsync(c => c.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM accounts WHERE signup_address = @address AND created_at > @since", new { address, since }));
        return n >= limit
            ? new Failure(ErrorCodes.RateLimited, $"too many accounts signed up from your address in the last hour (at most {limit}): try again later")
            : null;
    }

    private static string Key(string? username) => (username ?? "").ToLowerInvariant();
}
