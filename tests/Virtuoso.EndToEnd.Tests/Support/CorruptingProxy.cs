using System.Net;
using System.Net.Sockets;

namespace Virtuoso.EndToEnd.Tests.Support;

/// <summary>
/// A TCP proxy that flips one byte in every <c>threshold</c> bytes the server sends on a connection (the first
/// after <c>threshold</c> bytes): a bad cable, a broken NIC or a malicious middlebox, for the "corrupted block" fault
/// of issue 4. Small exchanges (control calls) pass untouched; every large transfer is hit, even on a kept-alive
/// connection that carried an earlier one.
/// </summary>
internal sealed class CorruptingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _server;
    private readonly long _threshold;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _flipped;

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    /// <summary>How many bytes were flipped so far.</summary>
    public int Flipped => Volatile.Read(ref _flipped);
    /// <summary>Set to false to pass everything untouched from now on.</summary>
    public volatile bool Corrupt = true;

    private CorruptingProxy(IPAddress listen, IPEndPoint server, long threshold)
    {
        _server = server;
        _threshold = threshold;
        _listener = new TcpListener(listen, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public static CorruptingProxy Start(IPAddress listen, IPEndPoint server, long threshold) => new(listen, server, threshold);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var c = client;
        using var s = new TcpClient();
        try
        {
            await s.ConnectAsync(_server.Address, _server.Port, _stop.Token);
            var up = CopyAsync(c.GetStream(), s.GetStream(), corrupt: false);
            var down = CopyAsync(s.GetStream(), c.GetStream(), corrupt: true);
            await Task.WhenAny(up, down);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException) { }
    }

    private async Task CopyAsync(NetworkStream from, NetworkStream to, bool corrupt)
    {
        var buffer = new byte[64 * 1024];
        long total = 0;
        var next = _threshold;
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                while (corrupt && Corrupt && total + n > next)
                {
                    buffer[(int)(next - total)] ^= 0x01;
                    next += _threshold;
                    Interlocked.Increment(ref _flipped);
                }
                total += n;
                await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            }
            to.Socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
