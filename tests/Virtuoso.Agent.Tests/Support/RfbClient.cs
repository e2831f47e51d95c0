using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;

namespace Virtuoso.Testing;

/// <summary>VNC refused the password (RFB SecurityResult failed).</summary>
internal sealed class RfbAuthenticationException(string reason) : Exception($"VNC authentication failed: {reason}");

/// <summary>
/// A small VNC (RFB 3.8) client for tests, over a console WebSocket or a plain TCP stream: version, security type 2
/// (VNC authentication: DES of the server's challenge, keyed by the password with each byte's bits reversed), init,
/// a full framebuffer update in raw encoding, and key events. Shared with the end-to-end tests (linked file).
/// </summary>
internal sealed class RfbClient : IAsyncDisposable
{
    private readonly Func<Memory<byte>, CancellationToken, ValueTask<int>> _read;
    private readonly Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> _write;
    private readonly IAsyncDisposable _transport;
    private readonly TimeSpan _timeout;
    private byte[] _pending = [];
    private int _offset;

    private RfbClient(Func<Memory<byte>, CancellationToken, ValueTask<int>> read, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write, IAsyncDisposable transport, TimeSpan timeout)
    {
        _read = read;
        _write = write;
        _transport = transport;
        _timeout = timeout;
    }

    public int Width { get; private set; }
    public int Height { get; private set; }
    public string Name { get; private set; } = "";
    public int BytesPerPixel { get; private set; }

    /// <summary>An RFB session over a WebSocket whose binary frames carry the byte stream (the console's path).</summary>
    public static RfbClient Over(WebSocket ws, TimeSpan timeout) => new(
        async (buffer, ct) =>
        {
            var r = await ws.ReceiveAsync(buffer, ct);
            return r.MessageType == WebSocketMessageType.Close ? 0 : r.Count;
        },
        (data, ct) => ws.SendAsync(data, WebSocketMessageType.Binary, true, ct),
        new WebSocketCloser(ws), timeout);

    /// <summary>An RFB session straight over TCP (the VNC server's own port).</summary>
    public static RfbClient Over(Stream stream, TimeSpan timeout) => new(stream.ReadAsync, stream.WriteAsync, stream, timeout);

    /// <summary>Version, VNC authentication with <paramref name="password"/>, client and server init.</summary>
    public async Task HandshakeAsync(string password)
    {
        var version = Encoding.ASCII.GetString(await ReadAsync(12));
        if (!version.StartsWith("RFB 003.", StringComparison.Ordinal))
            throw new InvalidOperationException($"not an RFB server: '{version}'");
        await WriteAsync(Encoding.ASCII.GetBytes("RFB 003.008\n"));
        var count = (await ReadAsync(1))[0];
        if (count == 0)
            throw new InvalidOperationException($"the server refused: {await ReadReasonAsync()}");
        var types = await ReadAsync(count);
        if (!types.Contains((byte)2))
            throw new InvalidOperationException($"the server does not offer VNC authentication (types {string.Join(",", types)})");
        await WriteAsync([2]);
        var challenge = await ReadAsync(16);
        await WriteAsync(Respond(challenge, password));
        var result = BinaryPrimitives.ReadUInt32BigEndian(await ReadAsync(4));
        if (result != 0)
            throw new RfbAuthenticationException(await ReadReasonAsync());
        await WriteAsync([1]); // ClientInit: shared
        var init = await ReadAsync(24);
        Width = BinaryPrimitives.ReadUInt16BigEndian(init);
        Height = BinaryPrimitives.ReadUInt16BigEndian(init.AsSpan(2));
        BytesPerPixel = init[4] / 8;
        Name = Encoding.UTF8.GetString(await ReadAsync((int)BinaryPrimitives.ReadUInt32BigEndian(init.AsSpan(20))));
    }

    /// <summary>The VNC authentication response: DES-ECB of the challenge with the password (8 bytes, zero padded, bits of each byte reversed) as key.</summary>
    public static byte[] Respond(byte[] challenge, string password)
    {
        var key = new byte[8];
        var bytes = Encoding.Latin1.GetBytes(password);
        for (var i = 0; i < 8 && i < bytes.Length; i++)
        {
            var b = bytes[i];
            byte r = 0;
            for (var bit = 0; bit < 8; bit++)
                if ((b & (1 << bit)) != 0)
                    r |= (byte)(0x80 >> bit);
            key[i] = r;
        }
        using var des = DES.Create();
        des.Key = key;
        return des.EncryptEcb(challenge, PaddingMode.None);
    }

    /// <summary>Asks for the whole screen in raw encoding and returns its pixels (first rectangle), row by row.</summary>
    public async Task<byte[]> FrameAsync()
    {
        // SetEncodings: raw only. FramebufferUpdateRequest: not incremental, the whole screen.
        await WriteAsync([2, 0, 0, 1, 0, 0, 0, 0]);
        var request = new byte[10];
        request[0] = 3;
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(6), (ushort)Width);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(8), (ushort)Height);
        await WriteAsync(request);
        while (true)
        {
            var type = (await ReadAsync(1))[0];
            switch (type)
            {
                case 0: // FramebufferUpdate
                    var header = await ReadAsync(3);
                    var rects = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(1));
                    byte[]? first = null;
                    for (var i = 0; i < rects; i++)
                    {
                        var r = await ReadAsync(12);
                        int w = BinaryPrimitives.ReadUInt16BigEndian(r.AsSpan(4)), h = BinaryPrimitives.ReadUInt16BigEndian(r.AsSpan(6));
                        var encoding = BinaryPrimitives.ReadInt32BigEndian(r.AsSpan(8));
                        if (encoding != 0)
                            throw new InvalidOperationException($"unexpected encoding {encoding}: only raw was asked for");
                        var pixels = await ReadAsync(w * h * BytesPerPixel);
                        first ??= pixels;
                    }
                    if (first is not null)
                        return first;
                    break;
                case 1: // SetColourMapEntries
                    var colours = await ReadAsync(5);
                    await ReadAsync(6 * BinaryPrimitives.ReadUInt16BigEndian(colours.AsSpan(3)));
                    break;
                case 2: // Bell
                    break;
                case 3: // ServerCutText
                    var cut = await ReadAsync(7);
                    await ReadAsync((int)BinaryPrimitives.ReadUInt32BigEndian(cut.AsSpan(3)));
                    break;
                default:
                    throw new InvalidOperationException($"unexpected server message type {type}");
            }
        }
    }

    /// <summary>Whether a frame shows anything but one colour.</summary>
    public static bool ShowsSomething(byte[] pixels, int bytesPerPixel)
    {
        for (var i = bytesPerPixel; i + bytesPerPixel <= pixels.Length; i += bytesPerPixel)
            if (!pixels.AsSpan(i, bytesPerPixel).SequenceEqual(pixels.AsSpan(0, bytesPerPixel)))
                return true;
        return false;
    }

    /// <summary>Types <paramref name="text"/> as a US keyboard would: Shift held for the shifted characters, '\n' as Return.</summary>
    public async Task TypeAsync(string text)
    {
        const uint shift = 0xffe1, enter = 0xff0d;
        foreach (var c in text)
        {
            if (c == '\n')
            {
                await KeyAsync(enter);
                continue;
            }
            var shifted = char.IsAsciiLetterUpper(c) || "~!@#$%^&*()_+{}|:\"<>?".Contains(c);
            if (shifted)
                await KeyEventAsync(shift, down: true);
            await KeyAsync(c);
            if (shifted)
                await KeyEventAsync(shift, down: false);
        }
    }

    private async Task KeyAsync(uint keysym)
    {
        await KeyEventAsync(keysym, down: true);
        await KeyEventAsync(keysym, down: false);
    }

    private Task KeyEventAsync(uint keysym, bool down)
    {
        var m = new byte[8];
        m[0] = 4;
        m[1] = (byte)(down ? 1 : 0);
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(4), keysym);
        return WriteAsync(m);
    }

    /// <summary>Reads until the server closes the connection; returns true if it did within the timeout.</summary>
    public async Task<bool> ClosedAsync(TimeSpan within)
    {
        using var cts = new CancellationTokenSource(within);
        var buffer = new byte[65536];
        try
        {
            while (await _read(buffer, cts.Token) > 0)
            {
            }
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (Exception e) when (e is WebSocketException or IOException)
        {
            return true;
        }
    }

    private async Task<string> ReadReasonAsync()
    {
        var length = BinaryPrimitives.ReadUInt32BigEndian(await ReadAsync(4));
        return Encoding.UTF8.GetString(await ReadAsync((int)length));
    }

    private async Task WriteAsync(byte[] data)
    {
        using var cts = new CancellationTokenSource(_timeout);
        await _write(data, cts.Token);
    }

    private async Task<byte[]> ReadAsync(int n)
    {
        var result = new byte[n];
        var filled = 0;
        using var cts = new CancellationTokenSource(_timeout);
        while (filled < n)
        {
            if (_offset < _pending.Length)
            {
                var take = Math.Min(n - filled, _pending.Length - _offset);
                _pending.AsSpan(_offset, take).CopyTo(result.AsSpan(filled));
                _offset += take;
                filled += take;
                continue;
            }
            var buffer = new byte[65536];
            int got;
            try
            {
                got = await _read(buffer, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"RFB: no {n} bytes from the server within {_timeout.TotalSeconds} s (got {filled})");
            }
            if (got == 0)
                throw new EndOfStreamException($"RFB: the server closed the connection ({filled} of {n} bytes read)");
            _pending = buffer[..got];
            _offset = 0;
        }
        return result;
    }

    public ValueTask DisposeAsync() => _transport.DisposeAsync();

    private sealed class WebSocketCloser(WebSocket ws) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            if (ws.State == WebSocketState.Open)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                try
                {
                    await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "test done", cts.Token);
                }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException)
                {
                    // The other side went first.
                }
            }
            ws.Dispose();
        }
    }
}
