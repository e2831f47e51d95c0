using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Virtuoso.Core.Hosts;

namespace Virtuoso.FrontEnd.Agents;

/// <summary>
/// Issue 20: every connection the front-end opens to an agent (control API, console and tunnel WebSockets, VMMP) is made here.
/// A host's address is checked as text when typed (<see cref="HostAddress.Check"/>, never resolved then); a name can still
/// resolve to an internal address, now or later (a name pointed at 127.0.0.1, DNS rebinding). So the name is resolved at
/// connect time and the internal addresses among the answers are refused, unless the operator allows private host addresses
/// (<c>Virtuoso:AllowPrivateHostAddresses</c>, as <c>./run</c> does). A refusal is a <see cref="SocketException"/> with
/// <see cref="SocketError.AccessDenied"/>: the connection test calls it <c>unreachable</c> and says why.
/// </summary>
internal sealed class AgentConnector(IOptions<MarketOptions> options)
{
    /// <summary>The HTTP handler of every agent call: connections made by <see cref="ConnectAsync"/>.</summary>
    public SocketsHttpHandler NewHandler() => new()
    {
        ConnectCallback = async (context, ct) =>
            new NetworkStream(await ConnectAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, ct), ownsSocket: true),
        PooledConnectionLifetime = TimeSpan.FromMinutes(2), // a name's new addresses are used (and checked) within minutes
    };

    /// <summary>A connected socket to the first allowed address of <paramref name="host"/>.</summary>
    public async Task<Socket> ConnectAsync(string host, int port, CancellationToken ct)
    {
        var literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        var addresses = IPAddress.TryParse(literal, out var ip) ? [ip] : await Dns.GetHostAddressesAsync(host, ct);
        var allowed = options.Value.AllowPrivateHostAddresses ? addresses : addresses.Where(a => !HostAddress.IsInternal(a)).ToArray();
        if (allowed.Length == 0)
            throw new SocketException((int)SocketError.AccessDenied,
                $"{host} resolves only to internal addresses ({string.Join(", ", addresses.Take(3))}), which this marketplace does not connect to");
        SocketException? last = null;
        foreach (var address in allowed)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), ct);
                return socket;
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw last!;
    }
}
