using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Agent;
using Virtuoso.Core.Hosts;
using Virtuoso.FrontEnd.Hosts;

namespace Virtuoso.FrontEnd.Agents;

/// <summary>
/// Issue 20: every connection the front-end opens to an agent (control API, console and tunnel WebSockets, VMMP) is made here.
/// A host's address is checked as text when typed (<see cref="HostAddress.Check"/>, never resolved then); a name can still
/// resolve to an internal address, now or later (a name pointed at 127.0.0.1, DNS rebinding). So the name is resolved at
/// connect time and the internal addresses among the answers are refused, unless the operator allows private host addresses
/// (<c>Virtuoso:AllowPrivateHostAddresses</c>, as <c>./run</c> does). A refusal is a <see cref="SocketException"/> with
/// <see cref="SocketError.AccessDenied"/>: the connection test calls it <c>unreachable</c> and says why.
/// <para>
/// TLS: a host with a certificate (<see cref="HostRow.CertSerial"/>) is called over https/wss, showing this replica's
/// certificate (<see cref="MarketTrust.Certificate"/>) as the client's, and its agent is believed only when its server
/// certificate chains to the marketplace's authority, names this very host and has the serial stored for it (so another
/// host's certificate, or this host's before it joined or enrolled again, is refused: an <see cref="AuthenticationException"/>).
/// A host without one is called in cleartext only when <c>Virtuoso:AllowCleartextAgents</c> is on; otherwise every connection
/// to it fails with an <see cref="AuthenticationException"/> saying so.
/// </para>
/// </summary>
internal sealed partial class AgentConnector(IOptions<MarketOptions> options, MarketTrust trust, ILogger<AgentConnector> log)
{
    private readonly ConcurrentDictionary<(string Name, string Serial), SocketsHttpHandler> _tls = new();
    private SocketsHttpHandler? _cleartext;

    /// <summary>The HTTP handler of cleartext agent calls (hosts without a certificate, and agents not added yet): connections made by <see cref="ConnectAsync"/>.</summary>
    public SocketsHttpHandler NewHandler() => new()
    {
        ConnectCallback = async (context, ct) =>
        {
            if (!options.Value.AllowCleartextAgents)
                throw new AuthenticationException($"the agent at {context.DnsEndPoint.Host}:{context.DnsEndPoint.Port} has no certificate from this marketplace's " +
                    "authority, and this marketplace calls agents only over TLS: on the host, run virtuoso-agent enroll (or join) and restart the agent");
            return new NetworkStream(await ConnectAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, ct), ownsSocket: true);
        },
        PooledConnectionLifetime = TimeSpan.FromMinutes(2), // a name's new addresses are used (and checked) within minutes
    };

    /// <summary>Whether <paramref name="host"/> is called over TLS (it has a certificate).</summary>
    public static bool UsesTls(HostRow host) => host.CertSerial is { Length: > 0 };

    /// <summary>The URL of <paramref name="path"/> on the host's agent: https (or wss) when it has a certificate.</summary>
    public static Uri Url(HostRow host, string path, bool webSocket = false) =>
        new($"{(UsesTls(host) ? webSocket ? "wss" : "https" : webSocket ? "ws" : "http")}://{host.Address}:{host.Port}{path}");

    /// <summary>
    /// The handler of a host's calls: for a host with a certificate, one of its own that accepts only that certificate (pooled
    /// connections are never shared between hosts, even at one address); for the others the cleartext one.
    /// </summary>
    public SocketsHttpHandler HandlerFor(HostRow host) => !UsesTls(host)
        ? LazyInitializer.EnsureInitialized(ref _cleartext, NewHandler)
        : _tls.GetOrAdd((host.Name, host.CertSerial!), key => NewTlsHandler(key.Name, key.Serial));

    /// <summary>An HTTP client of a host's calls (<see cref="HandlerFor"/>); each call sets its own timeout.</summary>
    public HttpClient ClientFor(HostRow host) => new(HandlerFor(host), disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>
    /// The handler of the connection test of an agent not added yet (the Add host form): TLS, showing this replica's
    /// certificate, accepting any host's certificate of the marketplace's authority (no host row says which one yet). A test
    /// only: nothing but health and the machine list is asked of it.
    /// </summary>
    public SocketsHttpHandler ProbeHandler() => LazyInitializer.EnsureInitialized(ref _probe, () => new SocketsHttpHandler
    {
        ConnectCallback = async (context, ct) =>
            new NetworkStream(await ConnectAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, ct), ownsSocket: true),
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        SslOptions = new SslClientAuthenticationOptions
        {
            LocalCertificateSelectionCallback = (_, _, _, _, _) => trust.Certificate,
            RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null &&
                trust.Verify(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData())) is { Role: MarketRole.Host },
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        },
    });

    private SocketsHttpHandler? _probe;

    private SocketsHttpHandler NewTlsHandler(string name, string serial) => new()
    {
        ConnectCallback = async (context, ct) =>
            new NetworkStream(await ConnectAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, ct), ownsSocket: true),
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        SslOptions = new SslClientAuthenticationOptions
        {
            // The current certificate at every handshake: a replica's own is renewed while it runs.
            LocalCertificateSelectionCallback = (_, _, _, _, _) => trust.Certificate,
            RemoteCertificateValidationCallback = (_, certificate, _, _) => Accepts(certificate, name, serial),
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        },
    };

    /// <summary>Whether the certificate an agent showed is host <paramref name="name"/>'s current one (<paramref name="serial"/>) from the authority.</summary>
    internal bool Accepts(X509Certificate? shown, string name, string serial)
    {
        if (shown is null)
        {
            CertificateRefused(log, name, "it showed none");
            return false;
        }
        var certificate = shown as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(shown.GetRawCertData());
        var identity = trust.Verify(certificate);
        if (identity is null)
            CertificateRefused(log, name, "it is not a valid certificate of this marketplace's authority (expired, or from another marketplace)");
        else if (identity != MarketIdentity.Host(name))
            CertificateRefused(log, name, $"it is {identity}'s");
        else if (MarketCertificates.SerialOf(certificate) != serial)
            CertificateRefused(log, name, $"its serial {MarketCertificates.SerialOf(certificate)} is not the host's current one (it joined or enrolled again since, or was deleted and added again)");
        else
            return true;
        return false;
    }

    [LoggerMessage(EventId = 20101, Level = LogLevel.Warning, Message = "host {Host}: the agent's TLS certificate was refused: {Reason}")]
    private static partial void CertificateRefused(ILogger logger, string host, string reason);

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
