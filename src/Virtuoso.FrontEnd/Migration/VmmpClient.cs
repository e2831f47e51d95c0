using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Api;
using Virtuoso.Contracts.Vmmp;
using Virtuoso.FrontEnd.Hosts;
using Virtuoso.FrontEnd.Http;

namespace Virtuoso.FrontEnd.Migration;

/// <summary>
/// The front-end's VMMP 1.0 calls to a destination agent's VMMP server (design §6.1): QUERY → RESULTS, and REQ (accepted
/// when the destination closes the connection, refused when it answers RESP ... FAIL). Each exchange has a timeout and
/// fails with a message naming the host. Issue 20: each message follows an AUTH line keyed by the host's secret
/// (<see cref="VmmpAuth"/>): the agent answers nobody else.
/// <para>Issue 20 point 1: to a host that speaks TLS (<see cref="HostTls"/>), over TLS, showing this replica's certificate and
/// accepting only that host's.</para>
/// </summary>
internal sealed class VmmpClient(IOptions<MigrationOptions> options, Agents.AgentConnector connector, HostTls tls)
{
    private TimeSpan Timeout => options.Value.VmmpTimeout;

    public async Task<Outcome<IReadOnlyList<string>>> QueryAsync(HostRow host, Guid machine, CancellationToken ct = default)
    {
        if (host.VmmpPort is null) return NoServer(host);
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(Timeout);
            await using var stream = await OpenAsync(host, cts.Token);
            await stream.WriteAsync(VmmpAuth.Encode(host.Secret, new VmmpQuery(machine)), cts.Token);
            var line = await VmmpWire.ReadLineAsync(stream, cts.Token);
            if (line is null) return Failed(host, "QUERY", "it closed the connection without RESULTS");
            return VmmpWire.Parse(line).Message switch
            {
                VmmpResults r when r.MachineId == machine => Outcome<IReadOnlyList<string>>.Success(r.Methods),
                _ => Failed(host, "QUERY", $"it answered '{Cut(line)}' instead of RESULTS for {machine}"),
            };
        }
        catch (Exception e) when (e is SocketException or IOException or InvalidDataException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            return Failed(host, "QUERY", $"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>Sends the REQ; null when the destination accepted it (closed the connection without answering).</summary>
    public async Task<Failure?> RequestAsync(HostRow host, VmmpReq req, CancellationToken ct = default)
    {
        if (host.VmmpPort is null) return NoServer(host);
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(Timeout);
            await using var stream = await OpenAsync(host, cts.Token);
            await stream.WriteAsync(VmmpAuth.Encode(host.Secret, req), cts.Token);
            var line = await VmmpWire.ReadLineAsync(stream, cts.Token);
            if (line is null) return null;
            return Failed(host, "REQ", VmmpWire.Parse(line).Message is VmmpResp { Success: false }
                ? "it refused the migration (RESP FAIL)"
                : $"it answered '{Cut(line)}'");
        }
        catch (Exception e) when (e is SocketException or IOException or InvalidDataException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            return Failed(host, "REQ", $"{e.GetType().Name}: {e.Message}");
        }
    }

    private async Task<Stream> OpenAsync(HostRow host, CancellationToken ct)
    {
        var plain = new NetworkStream(await connector.ConnectAsync(host.Address, (int)host.VmmpPort!, ct), ownsSocket: true);
        if (!tls.For(host)) return plain;
        var ssl = new SslStream(plain, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(tls.VmmpClient(host), ct);
            return ssl;
        }
        catch (AuthenticationException e)
        {
            await ssl.DisposeAsync();
            throw new IOException($"TLS with host {host.Name} failed (its certificate must be the marketplace's for {host.Name}): {e.Message}", e);
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }
    }

    /// <summary>The IP of a host's address as VMMP wants it (a REQ carries IPs, not names).</summary>
    public static async Task<IPAddress?> ResolveAsync(string address, CancellationToken ct = default)
    {
        if (IPAddress.TryParse(address, out var ip)) return ip;
        try
        {
            var all = await Dns.GetHostAddressesAsync(address, ct);
            return all.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? all.FirstOrDefault();
        }
        catch (SocketException) { return null; }
    }

    private static Failure NoServer(HostRow host) =>
        new(ErrorCodes.AgentFailed, $"host {host.Name}: its agent has not reported a VMMP port (it cannot receive migrations)");

    private static Failure Failed(HostRow host, string what, string why) =>
        new(ErrorCodes.AgentFailed, $"host {host.Name}: VMMP {what} to {host.Address}:{host.VmmpPort} failed: {why}");

    private static string Cut(string line) => line.Length > 80 ? line[..80] + "…" : line;
}
