using System.Net;
using System.Net.Security;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Agent;
using Virtuoso.FrontEnd.Agents;
using Virtuoso.FrontEnd.Hosts;

namespace Virtuoso.FrontEnd.Migration;

/// <summary>
/// Issue 20 point 1: the migration links of a host that speaks TLS — VMMP from this front-end to its agent, VMMP from its
/// agent to this front-end's listener, and the origin address a destination fetches from (https://). Certificates are the
/// marketplace's (<see cref="MarketTrust"/>): this replica shows its own and accepts a host only for the name it expects.
/// <para>Which hosts speak TLS is decided in one place, <see cref="For"/>: a host that joined or enrolled with a certificate
/// (<see cref="AgentConnector.UsesTls"/>, as for its control API), or every host when <c>Virtuoso:AgentTls</c> says so (the
/// front-end's tests, whose fake agents speak TLS on these links without enrolling).</para>
/// </summary>
internal sealed class HostTls(MarketTrust trust, IOptions<MigrationOptions> options, TimeProvider clock)
{
    /// <summary>Whether the agent of <paramref name="host"/> speaks TLS on its VMMP port and transfer routes.</summary>
    public bool For(HostRow host) => AgentConnector.UsesTls(host) || options.Value.AgentTls;

    /// <summary>The origin's transfer base address a destination is told (<see cref="IncomingMigration.Origin"/>).</summary>
    public string TransferBase(HostRow origin, IPAddress ip) =>
        $"{(For(origin) ? "https" : "http")}://{(ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString())}:{origin.Port}";

    /// <summary>
    /// TLS to the VMMP server of <paramref name="host"/>: accepted only with that host's certificate, and (when the host
    /// enrolled) with the serial stored for it, as <see cref="AgentConnector.Accepts"/> does for the control API.
    /// </summary>
    public SslClientAuthenticationOptions VmmpClient(HostRow host) =>
        MarketTls.Client(trust.Certificate, trust.Authority, MarketIdentity.Host(host.Name), clock, host.CertSerial is { Length: > 0 } serial ? serial : null);

    /// <summary>TLS on this replica's VMMP listener: any host's certificate opens it; each line is then checked against the migration's destination.</summary>
    public SslServerAuthenticationOptions VmmpListener() =>
        MarketTls.Server(trust.Certificate, trust.Authority, id => id.Role == MarketRole.Host, clock);

    /// <summary>The marketplace identity a TLS peer proved (for the listener's checks).</summary>
    public MarketIdentity? IdentityOf(SslStream stream) => MarketTls.IdentityOf(stream.RemoteCertificate, trust.Authority, clock);
}
