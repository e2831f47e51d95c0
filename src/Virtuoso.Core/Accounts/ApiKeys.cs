using System.Globalization;
using System.Text.RegularExpressions;

namespace Virtuoso.Core.Accounts;

/// <summary>What an API key may do (issue 20 point 2): <see cref="Read"/> only looks, <see cref="Write"/> acts as its owner.</summary>
public enum ApiKeyScope { Read, Write }

/// <summary>
/// The rules of API keys (issue 20 point 2), pure: what a key looks like, which names, scopes and lifetimes are
/// accepted, and what a scope permits. The front-end stores and checks keys; the CLI shows them; both decide here.
/// </summary>
public static partial class ApiKeys
{
    /// <summary>
    /// Every key begins with this, so that the front-end tells a key from a session token without a second lookup, and a
    /// key pasted somewhere it should not be (a repository, a log) is recognisable to a secret scanner.
    /// </summary>
    public const string Prefix = "vk_";

    /// <summary>The longest lifetime a key may be given; a longer-lived key is one without expiry.</summary>
    public static readonly TimeSpan LongestLifetime = TimeSpan.FromDays(365);

    /// <summary>The shortest lifetime a key may be given.</summary>
    public static readonly TimeSpan ShortestLifetime = TimeSpan.FromHours(1);

    /// <summary>What <see cref="ParseLifetime"/> accepts, for messages and help texts.</summary>
    public const string LifetimeForm = "a number of hours or days such as 12h, 30d or 365d (1 hour to 365 days), or 'never'";

    /// <summary>The most keys one account may hold.</summary>
    public const int MaxPerAccount = 50;

    // \z, not $: "$" also matches before a final newline.
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\z")] private static partial Regex NameRx();
    [GeneratedRegex(@"^([0-9]{1,6})([hd])\z")] private static partial Regex LifetimeRx();

    /// <summary>Why <paramref name="name"/> is not a key name, or null when it is one: it goes in a URL path and a CLI argument.</summary>
    public static string? NameError(string? name) => name is not null && NameRx().IsMatch(name) ? null
        : "a key's name must be 1–63 characters: letters, digits, '.', '_' or '-', starting with a letter or digit";

    /// <summary>"read" or "write" (any case), else null.</summary>
    public static ApiKeyScope? ParseScope(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "read" => ApiKeyScope.Read,
        "write" => ApiKeyScope.Write,
        _ => null,
    };

    /// <summary>The scope as the API and the database write it.</summary>
    public static string Text(this ApiKeyScope scope) => scope == ApiKeyScope.Read ? "read" : "write";

    /// <summary>
    /// A key's lifetime: <c>12h</c>, <c>30d</c> (within <see cref="ShortestLifetime"/> and <see cref="LongestLifetime"/>),
    /// or <c>never</c> / empty / null for a key without expiry. False, with the reason, for anything else.
    /// </summary>
    public static bool ParseLifetime(string? text, out TimeSpan? lifetime, out string? error)
    {
        lifetime = null;
        error = null;
        var t = text?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(t) || t == "never") return true;
        if (LifetimeRx().Match(t) is not { Success: true } m)
        {
            error = $"expiry must be {LifetimeForm}, not '{text}'";
            return false;
        }
        var n = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        var span = m.Groups[2].Value == "h" ? TimeSpan.FromHours(n) : TimeSpan.FromDays(n);
        if (span < ShortestLifetime || span > LongestLifetime)
        {
            error = $"expiry must be {LifetimeForm}, not '{text}'";
            return false;
        }
        lifetime = span;
        return true;
    }

    /// <summary>Whether a bearer token is meant as an API key (a session token may begin so by chance: 1 in 262,144).</summary>
    public static bool LooksLikeKey(string token) => token.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>
    /// Whether a key of <paramref name="scope"/> may make a request of <paramref name="httpMethod"/>: a read key may
    /// only look (GET, HEAD), whatever the endpoint; a write key may do what its owner may.
    /// </summary>
    public static bool Permits(ApiKeyScope scope, string httpMethod) =>
        scope == ApiKeyScope.Write || string.Equals(httpMethod, "GET", StringComparison.OrdinalIgnoreCase) || string.Equals(httpMethod, "HEAD", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether a key that expires at <paramref name="expiresAt"/> (null: never) has expired at <paramref name="now"/>.</summary>
    public static bool Expired(DateTimeOffset? expiresAt, DateTimeOffset now) => expiresAt is { } e && e <= now;
}
