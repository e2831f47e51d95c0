using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Virtuoso.FrontEnd.Web.Auth;

/// <summary>
/// Log-in attempts per client address and account (fixed one-minute windows): guessing one account's password from
/// one address is slowed to <see cref="MarketOptions.LoginAttemptsPerAccountPerMinute"/> tries a minute, whatever the
/// answers (windows run on wall time: System.Threading.RateLimiting has no clock hook, and this is no market rule).
/// The per-address limit of all log-in posts is the rate-limiting middleware's policy <see cref="WebSetup.LoginPolicy"/>.
/// </summary>
internal sealed class LoginThrottle(IOptions<MarketOptions> options) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(key =>
        RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = options.Value.LoginAttemptsPerAccountPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0, AutoReplenishment = true,
        }), StringComparer.Ordinal);

    /// <summary>True when one more attempt from <paramref name="address"/> on <paramref name="username"/> is allowed now.</summary>
    public bool TryAttempt(string? address, string? username)
    {
        using var lease = _limiter.AttemptAcquire($"{address}|{username?.ToLowerInvariant()}");
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}
