using Virtuoso.Agent.Tests.Support;
using Virtuoso.Agent.Vmm;
using Virtuoso.Agent.Vmm.Qemu;

namespace Virtuoso.Agent.Tests.Vmm.Qemu;

public sealed class QmpClientTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private readonly TestDirectory _dir = new();
    private readonly FakeQmpServer _server;

    public QmpClientTests() => _server = new FakeQmpServer(_dir.Path);

    public void Dispose()
    {
        _server.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task Connect_ReadsGreetingAndNegotiatesCapabilities()
    {
        var connecting = QmpClient.ConnectAsync(_server.Path, Timeout);
        using var qemu = await _server.AcceptNegotiatedAsync();

        await using var client = await connecting;

        Assert.Equal("7.2.22", client.QemuVersion);
    }

    [Fact]
    public async Task Execute_SendsArgumentsAndReturnsTheAnswer()
    {
        var (client, qemu) = await ConnectAsync();
        await using var _ = client;
        using var __ = qemu;

        var running = client.ExecuteAsync("migrate", new Dictionary<string, object?> { ["uri"] = "unix:/x/suspend.sock" });
        var command = await qemu.ExpectAsync("migrate");
        await qemu.ReplyAsync(command, """{"status": "completed"}""");

        Assert.Equal("unix:/x/suspend.sock", command.GetProperty("arguments").GetProperty("uri").GetString());
        Assert.Equal("completed", (await running).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Execute_ErrorAnswer_ThrowsWithClassAndDescription()
    {
        var (client, qemu) = await ConnectAsync();
        await using var _ = client;
        using var __ = qemu;

        var running = client.ExecuteAsync("cont");
        await qemu.ReplyErrorAsync(await qemu.ExpectAsync("cont"), "GenericError", "Migration is not finalized yet");

        var e = await Assert.ThrowsAsync<QmpErrorException>(() => running);
        Assert.Equal("GenericError", e.ErrorClass);
        Assert.Contains("'cont' failed", e.Message);
        Assert.Contains("Migration is not finalized yet", e.Message);
        Assert.Contains(_server.Path, e.Message);
    }

    [Fact]
    public async Task Execute_EventsInterleaved_AreSetAsideAndTheAnswerStillMatched()
    {
        var (client, qemu) = await ConnectAsync();
        await using var _ = client;
        using var __ = qemu;

        var running = client.ExecuteAsync("stop");
        var command = await qemu.ExpectAsync("stop");
        await qemu.SendEventAsync("STOP");
        await qemu.SendEventAsync("RESUME");
        await qemu.ReplyAsync(command);
        await running;

        Assert.Equal(["STOP", "RESUME"], client.Events.Select(e => e.GetProperty("event").GetString()));
    }

    [Fact]
    public async Task Execute_AnswerWithAnotherId_IsSkipped()
    {
        var (client, qemu) = await ConnectAsync();
        await using var _ = client;
        using var __ = qemu;

        var running = client.ExecuteAsync("query-status");
        var command = await qemu.ExpectAsync("query-status");
        await qemu.SendAsync("""{"return": {"status": "stale"}, "id": 999}""");
        await qemu.ReplyAsync(command, """{"status": "running", "running": true}""");

        Assert.Equal("running", (await running).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Execute_NoAnswer_TimesOutNamingTheCommand_AndTheConnectionIsNotReused()
    {
        var connecting = QmpClient.ConnectAsync(_server.Path, TimeSpan.FromMilliseconds(300));
        using var qemu = await _server.AcceptNegotiatedAsync();
        await using var client = await connecting;

        var running = client.ExecuteAsync("query-migrate");
        await qemu.ExpectAsync("query-migrate");

        var e = await Assert.ThrowsAsync<VmmException>(() => running);
        Assert.Contains("no answer to 'query-migrate'", e.Message);
        var next = await Assert.ThrowsAsync<VmmException>(() => client.ExecuteAsync("query-status"));
        Assert.Contains("failed earlier", next.Message);
    }

    [Fact]
    public async Task Connect_NoGreeting_TimesOut()
    {
        var connecting = QmpClient.ConnectAsync(_server.Path, TimeSpan.FromMilliseconds(300));
        using var qemu = await _server.AcceptAsync();

        var e = await Assert.ThrowsAsync<VmmException>(() => connecting);
        Assert.Contains("no answer to 'greeting'", e.Message);
    }

    [Fact]
    public async Task Connect_SomethingElseThanAGreeting_Fails()
    {
        var connecting = QmpClient.ConnectAsync(_server.Path, Timeout);
        using var qemu = await _server.AcceptAsync();
        await qemu.SendAsync("""{"hello": 1}""");

        var e = await Assert.ThrowsAsync<VmmException>(() => connecting);
        Assert.Contains("expected a greeting", e.Message);
    }

    [Fact]
    public async Task Connect_NoSocket_FailsNamingThePath()
    {
        var missing = Path.Combine(_dir.Path, "none.sock");

        var e = await Assert.ThrowsAsync<VmmException>(() => QmpClient.ConnectAsync(missing, Timeout));

        Assert.Contains(missing, e.Message);
    }

    [Fact]
    public async Task Execute_QemuClosesTheConnection_ThrowsClosed()
    {
        var (client, qemu) = await ConnectAsync();
        await using var _ = client;

        var running = client.ExecuteAsync("quit");
        await qemu.ExpectAsync("quit");
        qemu.Dispose();

        await Assert.ThrowsAsync<QmpClosedException>(() => running);
    }

    [Fact]
    public async Task Execute_UnreadableLine_Fails()
    {
        var (client, qemu) = await ConnectAsync();
        await using var _ = client;
        using var __ = qemu;

        var running = client.ExecuteAsync("query-vnc");
        await qemu.ExpectAsync("query-vnc");
        await qemu.SendAsync("this is not json");

        var e = await Assert.ThrowsAsync<VmmException>(() => running);
        Assert.Contains("unreadable line", e.Message);
    }

    private async Task<(QmpClient Client, FakeQmpServer.Connection Qemu)> ConnectAsync()
    {
        var connecting = QmpClient.ConnectAsync(_server.Path, Timeout);
        var qemu = await _server.AcceptNegotiatedAsync();
        return (await connecting, qemu);
    }
}
