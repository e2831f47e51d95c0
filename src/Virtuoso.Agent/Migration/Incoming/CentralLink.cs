using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.Agent.Migration.Incoming;

/// <summary>
/// The destination's VMMP connection to the front-end (CENTRAL_IP:CENTRAL_PORT of the REQ), carrying HEARTBEATs and
/// the final RESP (design §6.2). Writes are serialised, so a heartbeat never interleaves with the RESP. Issue 20: each
/// message follows an AUTH line keyed by this host's secret (<see cref="VmmpAuth"/>), so the front-end counts a heartbeat
/// only when the migration's destination sent it.
/// </summary>
internal sealed class CentralLink : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly TcpClient _client;
    private readonly Stream _stream;
    private readonly SemaphoreSlim _write = new(1, 1);

    private readonly string _secret;

    private CentralLink(TcpClient client, Stream stream, string secret)
    {
        _client = client;
        _stream = stream;
        _secret = secret;
    }

    /// <summary>
    /// Connects to the front-end's listener; with <paramref name="tls"/> (issue 20 point 1) over TLS, showing this host's
    /// certificate and accepting only the front-end's of the same authority.
    /// </summary>
    public static async Task<CentralLink> ConnectAsync(IPAddress ip, int port, string secret, AgentTls? tls, CancellationToken ct)
    {
        var client = new TcpClient(ip.AddressFamily) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Timeout);
        try
        {
            await client.ConnectAsync(ip, port, timeout.Token);
            Stream stream = client.GetStream();
            if (tls is not null)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsClientAsync(MarketTls.Client(tls.Certificate, tls.Authority, MarketIdentity.FrontEnd), timeout.Token);
            }
            return new CentralLink(client, stream, secret);
        }
        catch (Exception e) when (e is SocketException or IOException or AuthenticationException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            client.Dispose();
            throw new IOException($"cannot reach the front-end's VMMP listener at {ip}:{port}{(tls is null ? "" : " over TLS")}: {e.Message}", e);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Writes one message; throws <see cref="IOException"/> when the front-end cannot be reached within 10 s.</summary>
    public async Task SendAsync(VmmpMessage message)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        await _write.WaitAsync(timeout.Token);
        try
        {
            await _stream.WriteAsync(VmmpAuth.Encode(_secret, message), timeout.Token);
            await _stream.FlushAsync(timeout.Token);
        }
        catch (OperationCanceledException e)
        {
            throw new IOException("the front-end did not take a VMMP message within 10 s", e);
        }
        finally
        {
            _write.Release();
        }
    }

    public ValueTask DisposeAsync()
    {
        _stream.Dispose();
        _client.Dispose();
        _write.Dispose();
        return ValueTask.CompletedTask;
    }
}
