using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Virtuoso.Agent.Tests.Support;

/// <summary>
/// Plays QEMU's side of QMP on a unix socket, one scripted step at a time (after npgsql's PgServerMock): the test
/// sends the greeting, expects commands, and answers them, events and all, exactly as it likes.
/// </summary>
internal sealed class FakeQmpServer : IDisposable
{
    public const string Greeting =
        """{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}""";

    private readonly Socket _listener;

    public FakeQmpServer(string directory)
    {
        Path = System.IO.Path.Combine(directory, "qmp.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(Path));
        _listener.Listen(1);
    }

    public string Path { get; }

    public async Task<Connection> AcceptAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        return new Connection(await _listener.AcceptAsync(cts.Token));
    }

    /// <summary>Accepts, greets and completes capability negotiation.</summary>
    public async Task<Connection> AcceptNegotiatedAsync()
    {
        var connection = await AcceptAsync();
        await connection.SendAsync(Greeting);
        await connection.ReplyAsync(await connection.ExpectAsync("qmp_capabilities"));
        return connection;
    }

    public void Dispose() => _listener.Dispose();

    internal sealed class Connection(Socket socket) : IDisposable
    {
        private readonly NetworkStream _stream = new(socket, ownsSocket: true);
        private StreamReader? _reader;

        public async Task SendAsync(string line) => await _stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\r\n"));

        /// <summary>Reads the next command and checks its name.</summary>
        public async Task<JsonElement> ExpectAsync(string command)
        {
            _reader ??= new StreamReader(_stream, Encoding.UTF8);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var line = await _reader.ReadLineAsync(cts.Token) ?? throw new InvalidOperationException($"client closed instead of sending '{command}'");
            var message = JsonDocument.Parse(line).RootElement.Clone();
            Assert.Equal(command, message.GetProperty("execute").GetString());
            return message;
        }

        public Task ReplyAsync(JsonElement command, string result = "{}") =>
            SendAsync($$"""{"return": {{result}}, "id": {{command.GetProperty("id").GetRawText()}}}""");

        public Task ReplyErrorAsync(JsonElement command, string errorClass, string description) =>
            SendAsync($$"""{"error": {"class": "{{errorClass}}", "desc": "{{description}}"}, "id": {{command.GetProperty("id").GetRawText()}}}""");

        public Task SendEventAsync(string name) =>
            SendAsync($$"""{"timestamp": {"seconds": 1795303369, "microseconds": 212382}, "event": "{{name}}"}""");

        public void Dispose() => _stream.Dispose();
    }
}
