using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Migration.Incoming;

/// <summary>
/// The destination's HTTP client for one origin (design §6.3: the destination fetches from the origin's transfer
/// routes). Issue 20 point 1: when this host has <see cref="AgentOptions.Tls"/>, the origin must be an https:// address,
/// this host shows its own certificate as the client's, and the origin's certificate is accepted only when the
/// marketplace's authority issued it to the very host the front-end named as the origin
/// (<see cref="IncomingMigration.OriginHost"/>): an agent that took over the origin's address cannot serve a copy. The
/// migration token still goes with every call. Without TLS: plain HTTP, as before.
/// </summary>
internal static class OriginClient
{
    /// <summary>Why this host cannot fetch from <paramref name="origin"/>, or null.</summary>
    public static string? Refusal(AgentTls? tls, string origin) =>
        tls is not null && !origin.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
            ? $"this host speaks TLS: the origin '{origin}' must be an https:// address (the agents' transfers never go in cleartext)"
            : null;

    /// <summary>A client for one migration's fetch from <paramref name="originHost"/>; the caller disposes it.</summary>
    public static HttpClient For(AgentTls? tls, string originHost, TimeProvider clock)
    {
        var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(15) };
        if (tls is not null)
            handler.SslOptions = MarketTls.Client(tls.Certificate, tls.Authority, MarketIdentity.Host(originHost), clock);
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan }; // methods set their own idle timeouts
    }
}
