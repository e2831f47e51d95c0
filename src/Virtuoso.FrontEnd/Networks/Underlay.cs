using System.Net;
using System.Net.Sockets;
using Dapper;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Hosts;

namespace Virtuoso.FrontEnd.Networks;

/// <summary>
/// The hosts' underlay addresses (issue 16): where their agents send and accept VXLAN. A host's is its <c>address</c>
/// column, the agent's address, when that is an IPv4 literal; a name is resolved (IPv4 only, the first answer), and a
/// host whose name does not resolve is left out (logged) until it does.
/// </summary>
internal sealed partial class Underlay(Database db, ILogger<Underlay> log)
{
    /// <summary>Every host's underlay address, by host name.</summary>
    public async Task<IReadOnlyDictionary<string, string>> AddressesAsync(CancellationToken ct = default)
    {
        var hosts = await db.ReadAsync(c => c.QueryAsync<(string Name, string Address)>("SELECT name, address FROM hosts ORDER BY name"), ct);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, address) in hosts)
            if (await ResolveAsync(name, address, ct) is { } ip) result[name] = ip;
        return result;
    }

    /// <summary>The underlay address of one host row.</summary>
    public Task<string?> AddressOfAsync(HostRow host, CancellationToken ct = default) => ResolveAsync(host.Name, host.Address, ct);

    private async Task<string?> ResolveAsync(string host, string address, CancellationToken ct)
    {
        if (IPAddress.TryParse(address, out var literal))
            return literal.AddressFamily == AddressFamily.InterNetwork ? literal.ToString() : NotIpv4(host, address);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            var found = await Dns.GetHostAddressesAsync(address, AddressFamily.InterNetwork, timeout.Token);
            return found.Length > 0 ? found[0].ToString() : NotIpv4(host, address);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            LogUnresolved(log, host, address, e.Message);
            return null;
        }
    }

    private string? NotIpv4(string host, string address)
    {
        LogUnresolved(log, host, address, "no IPv4 address");
        return null;
    }

    [LoggerMessage(EventId = 9201, Level = LogLevel.Warning, Message = "Host {Host}: its address {Address} gives no IPv4 underlay address ({Why}); it is left out of the private networks until it does")]
    private static partial void LogUnresolved(ILogger logger, string host, string address, string why);
}
