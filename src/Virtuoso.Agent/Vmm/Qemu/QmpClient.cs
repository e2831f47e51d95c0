using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Virtuoso.Agent.Vmm.Qemu;

/// <summary>
/// A client of QEMU's machine protocol (QMP): JSON objects, one per line, over the machine's unix socket.
/// It reads the greeting, negotiates capabilities, then runs one command at a time, matching each answer by its
/// <c>id</c> and setting aside the asynchronous events QEMU interleaves. Every step has a timeout, and every failure
/// is a <see cref="VmmException"/> naming the socket and the command.
/// </summary>
internal sealed class QmpClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;
    private readonly string _path;
    private readonly TimeSpan _timeout;
    private readonly List<JsonElement> _events = [];
    private long _nextId;
    private bool _broken;

    private QmpClient(Socket socket, string path, TimeSpan timeout)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new StreamReader(_stream, new UTF8Encoding(false));
        _path = path;
        _timeout = timeout;
    }

    /// <summary>Events (<c>{"event": ...}</c>) received so far, in order.</summary>
    public IReadOnlyList<JsonElement> Events => _events;

    /// <summary>The version QEMU announced in its greeting, e.g. "7.2.22".</summary>
    public string? QemuVersion { get; private set; }

    public static async Task<QmpClient> ConnectAsync(string socketPath, TimeSpan timeout)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cts.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            throw new VmmException(e is OperationCanceledException
                ? $"QMP connect to {socketPath}: no connection within {timeout.TotalSeconds:0.#} s"
                : $"QMP connect to {socketPath} failed: {e.Message}", e);
        }

        var client = new QmpClient(socket, socketPath, timeout);
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            var greeting = await client.ReadMessageAsync("greeting", cts.Token);
            if (!greeting.TryGetProperty("QMP", out var qmp))
                throw new VmmException($"QMP on {socketPath}: expected a greeting, got {greeting.GetRawText()}");
            if (qmp.TryGetProperty("version", out var v) && v.TryGetProperty("qemu", out var q))
                client.QemuVersion = $"{q.GetProperty("major")}.{q.GetProperty("minor")}.{q.GetProperty("micro")}";
            await client.ExecuteAsync("qmp_capabilities");
            return client;
        }
        catch (IOException e)
        {
            // A QEMU that exits after making its socket but before accepting (a forwarded port it cannot bind, say)
            // resets connections still waiting in the socket's backlog.
            await client.DisposeAsync();
            throw new VmmException($"QMP on {socketPath}: connection failed before the greeting: {e.Message}", e);
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs one command and returns its <c>return</c> value. A QMP error answer throws <see cref="QmpErrorException"/>.</summary>
    public async Task<JsonElement> ExecuteAsync(string command, IReadOnlyDictionary<string, object?>? arguments = null)
    {
        if (_broken)
            throw new VmmException($"QMP on {_path}: '{command}' not sent, the connection failed earlier");
        var id = ++_nextId;
        using var cts = new CancellationTokenSource(_timeout);
        try
        {
            await _stream.WriteAsync(Serialize(command, arguments, id), cts.Token);
            while (true)
            {
                var message = await ReadMessageAsync(command, cts.Token);
                if (message.TryGetProperty("event", out _))
                {
                    _events.Add(message);
                    continue;
                }
                // An answer to an earlier command that timed out would carry another id; skip it.
                if (!message.TryGetProperty("id", out var answerId) || answerId.ValueKind != JsonValueKind.Number || answerId.GetInt64() != id)
                    continue;
                if (message.TryGetProperty("return", out var result))
                    return result;
                if (message.TryGetProperty("error", out var error))
                    throw new QmpErrorException(command, _path,
                        error.TryGetProperty("class", out var c) ? c.GetString() ?? "" : "",
                        error.TryGetProperty("desc", out var d) ? d.GetString() ?? "" : error.GetRawText());
                throw new VmmException($"QMP on {_path}: unexpected answer to '{command}': {message.GetRawText()}");
            }
        }
        catch (OperationCanceledException e)
        {
            _broken = true;
            throw new VmmException($"QMP on {_path}: no answer to '{command}' within {_timeout.TotalSeconds:0.#} s", e);
        }
        catch (IOException e)
        {
            _broken = true;
            throw new VmmException($"QMP on {_path}: connection failed during '{command}': {e.Message}", e);
        }
    }

    private async Task<JsonElement> ReadMessageAsync(string during, CancellationToken ct)
    {
        string? line;
        try
        {
            line = await _reader.ReadLineAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            _broken = true;
            throw new VmmException($"QMP on {_path}: no answer to '{during}' within {_timeout.TotalSeconds:0.#} s");
        }
        if (line is null)
        {
            _broken = true;
            throw new QmpClosedException(during, _path);
        }
        try
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new JsonException("not an object");
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            _broken = true;
            throw new VmmException($"QMP on {_path}: unreadable line during '{during}': {(line.Length > 200 ? line[..200] : line)}", e);
        }
    }

    private static byte[] Serialize(string command, IReadOnlyDictionary<string, object?>? arguments, long id)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("execute", command);
            if (arguments is not null)
            {
                writer.WritePropertyName("arguments");
                JsonSerializer.Serialize(writer, arguments);
            }
            writer.WriteNumber("id", id);
            writer.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        _reader.Dispose();
        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}

/// <summary>QEMU answered a command with an error.</summary>
internal sealed class QmpErrorException(string command, string path, string errorClass, string description)
    : VmmException($"QMP on {path}: '{command}' failed: {errorClass}: {description}")
{
    public string ErrorClass { get; } = errorClass;
    public string Description { get; } = description;
}

/// <summary>QEMU closed the QMP connection (it exits, for instance after <c>quit</c>).</summary>
internal sealed class QmpClosedException(string during, string path)
    : VmmException($"QMP on {path}: QEMU closed the connection during '{during}'");
