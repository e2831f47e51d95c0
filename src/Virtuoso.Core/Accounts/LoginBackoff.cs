namespace Virtuoso.Core.Accounts;

/// <summary>
/// When the next log-in attempt may be tried (issue 20: "25 wrong passwords in 1 s, then the right one worked"). Only
/// failed attempts count, recorded in the database so that every front-end replica sees them:
/// <list type="bullet">
/// <item>one account from one address: <see cref="FreeFailures"/> failures in <see cref="Window"/> are free; then each
/// further attempt waits <see cref="FirstWait"/> after the last failure, doubling with every further failure up to
/// <see cref="LongestWait"/>. Attempts refused while waiting are not failures, so a guesser cannot push the wait further
/// than the longest, and the owner logging in from elsewhere is not locked out.</item>
/// <item>one address, any accounts: at most <c>perAddressPerMinute</c> failures in the last minute (password spraying).</item>
/// </list>
/// A success forgets that account's failures from that address.
/// </summary>
public static class LoginBackoff
{
    public const int FreeFailures = 5;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan FirstWait = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan LongestWait = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How long to wait before an attempt is allowed (<see cref="TimeSpan.Zero"/>: allowed now), given this account's
    /// failures from this address in the last <see cref="Window"/> (count and the latest) and this address's failures in
    /// the last minute (count and the oldest).
    /// </summary>
    public static TimeSpan WaitBeforeAttempt(int accountFailures, DateTimeOffset? lastAccountFailure, int addressFailuresLastMinute,
        DateTimeOffset? oldestAddressFailure, int perAddressPerMinute, DateTimeOffset now)
    {
        var wait = TimeSpan.Zero;
        if (accountFailures >= FreeFailures && lastAccountFailure is { } last)
        {
            var doublings = Math.Min(accountFailures - FreeFailures, 10);
            var step = TimeSpan.FromTicks(Math.Min(FirstWait.Ticks << doublings, LongestWait.Ticks));
            wait = Max(wait, last + step - now);
        }
        if (addressFailuresLastMinute >= perAddressPerMinute && oldestAddressFailure is { } oldest)
            wait = Max(wait, oldest + TimeSpan.FromMinutes(1) - now);
        return wait;
    }

    /// <summary>The wait as a buyer reads it, rounded up to whole seconds.</summary>
    public static string Say(TimeSpan wait) => $"too many failed log-ins: try again in {Plain.Duration(Math.Ceiling((decimal)wait.TotalSeconds))}";

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
