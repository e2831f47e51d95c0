using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace Virtuoso.FrontEnd.Http;

/// <summary>
/// Issue 19 and 20: behind a load balancer every request comes from the balancer's address, which would put all clients in
/// one bucket of the per-address limits (log-in, sign-up). <c>Virtuoso:TrustedProxies</c> (addresses or CIDR ranges, comma
/// separated) names the reverse proxies whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are believed: the client
/// address and scheme are then taken from them, one proxy deep. From anyone else the headers are ignored, so a client cannot
/// pick its own address. Unset (the default): no forwarded header is honoured.
/// </summary>
internal static class TrustedProxies
{
    public const string Setting = "Virtuoso:TrustedProxies";

    public static void UseTrustedProxies(this WebApplication app)
    {
        if (app.Configuration[Setting] is not { Length: > 0 } setting) return;
        var options = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto, ForwardLimit = 1 };
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear(); // the defaults trust loopback; only what the operator names is trusted
        foreach (var item in Parse(setting))
            options.KnownIPNetworks.Add(item);
        app.UseForwardedHeaders(options);
    }

    /// <summary>The ranges of <paramref name="setting"/>; a bare address is a range of one. Throws on a malformed entry.</summary>
    public static IReadOnlyList<System.Net.IPNetwork> Parse(string setting) =>
        setting.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(s =>
            System.Net.IPNetwork.TryParse(s, out var range) ? range
            : IPAddress.TryParse(s, out var ip) ? new System.Net.IPNetwork(ip, ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128)
            : throw new InvalidOperationException($"{Setting}: '{s}' is neither an IP address nor a CIDR range")).ToList();
}
