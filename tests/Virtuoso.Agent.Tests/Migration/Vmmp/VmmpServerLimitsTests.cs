using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.Agent.Tests.Migration.Vmmp;

/// <summary>
/// Issue 20: what strangers can do to the VMMP listener. 33 idle sockets made a real migration fail, a line every 25 s held
/// a slot forever, and every line cost 146 bytes of events.log. Each test opens raw sockets from loopback, as anyone could.
/// </summary>
public sealed class VmmpServerLimitsTests : IAsyncLifetime
{
    private readonly TestDirectory _dir = new();
    private readonly List<TcpClient> _sockets = [];
    private AgentFactory _agent = null!;
    private int _port;

    public async Task InitializeAsync()
    {
        _agent = new AgentFactory(_dir.Sub("data"), new FakeVmm(), new Dictionary<string, string?>
        {
            ["vmmp-first-line-timeout"] = "1",
            ["vmmp-connection-lifetime"] = "2",
            ["vmmp-max-per-peer"] = "4",
            ["vmmp-max-connections"] = "32",
            ["vmmp-log-refusals"] = "5",
        });
        _port = await _agent.VmmpPortAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var s in _sockets)
            s.Dispose();
        await _agent.DisposeAsync();
        _dir.Dispose();
    }

    private async Task<TcpClient> OpenAsync()
    {
        var client = new TcpClient();
        _sockets.Add(client);
        await client.ConnectAsync(IPAddress.Loopback, _port);
        return client;
    }

    /// <summary>True when the agent closes (or resets) the connection within <paramref name="within"/>; false when it stays open.</summary>
    private static async Task<bool> ClosedWithinAsync(TcpClient client, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        try
        {
            return await client.GetStream().ReadAsync(new byte[64], timeout.Token) == 0;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [Fact]
    public async Task SilentSocket_IsClosedOnceTheFirstLineIsOverdue()
    {
        var silent = await OpenAsync();
        var watch = Stopwatch.StartNew();

        Assert.True(await ClosedWithinAsync(silent, TimeSpan.FromSeconds(5)), "a socket that sends nothing must not keep its slot");
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task IdleSocketsBeyondEveryLimit_DoNotKeepTheFrontEndsQueryOut()
    {
        // More than all the slots, from one address: before issue 20 the 33rd was refused and the migration failed with 502.
        for (var i = 0; i < 40; i++)
            await OpenAsync();

        var id = Guid.NewGuid();
        var answer = await VmmpPeer.AskAsync(_port, new VmmpQuery(id));

        Assert.Equal(new VmmpResults(id, VmmpMethods.All.Order(StringComparer.Ordinal).ToList()), VmmpWire.Parse(answer!).Message);
    }

    [Fact]
    public async Task OneAddress_HoldsAtMostItsShare_TheOldestUnprovenSocketMakesRoom()
    {
        var first = await OpenAsync();
        List<TcpClient> later = [];
        for (var i = 0; i < 4; i++)
            later.Add(await OpenAsync());

        Assert.True(await ClosedWithinAsync(first, TimeSpan.FromSeconds(0.8)), "the fifth socket from one address evicts the oldest unproven one");
        foreach (var s in later)
            Assert.False(await ClosedWithinAsync(s, TimeSpan.FromMilliseconds(100)), "only the oldest is evicted");
    }

    [Fact]
    public async Task ProvenConnection_IsClosedAtItsLifetime_HoweverBusy()
    {
        var client = await OpenAsync();
        var stream = client.GetStream();
        var id = Guid.NewGuid();
        var watch = Stopwatch.StartNew();
        var answers = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(8));
        try
        {
            // A line every 300 ms: before issue 20, a line every 25 s kept a slot forever.
            while (!timeout.IsCancellationRequested)
            {
                await stream.WriteAsync(VmmpAuth.Encode(AgentFactory.Secret, new VmmpQuery(id)), timeout.Token);
                if (await VmmpWire.ReadLineAsync(stream, timeout.Token) is null)
                    break;
                answers++;
                await Task.Delay(300, timeout.Token);
            }
        }
        catch (IOException)
        {
            // reset by the agent while writing: closed too
        }

        Assert.False(timeout.IsCancellationRequested, "the agent never closed a connection that kept talking");
        Assert.True(answers >= 3, $"only {answers} answers before the close: the connection was cut before its lifetime");
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task RefusalsFromAStranger_WriteAtMostTheirBudgetToEventsLog_EachLineShort()
    {
        var events = Path.Combine(_agent.DataDirectory, "events.log");
        var before = File.Exists(events) ? File.ReadAllLines(events).Length : 0;

        // An overlong field first (the parse error quotes it), then a hundred malformed and unauthenticated lines.
        Assert.Null(await VmmpPeer.ExchangeAsync(_port, $"<VMMP 1.0 QUERY {new string('x', 400)}-{Guid.NewGuid()} METHODS>"));
        for (var i = 0; i < 50; i++)
        {
            Assert.NotNull(await VmmpPeer.ExchangeAsync(_port, $"<VMMP 2.0 QUERY {Guid.NewGuid()} METHODS>"));
            Assert.NotNull(await VmmpPeer.ExchangeAsync(_port, VmmpWire.Format(new VmmpQuery(Guid.NewGuid()))));
        }

        var written = File.ReadAllLines(events).Skip(before).ToList();
        Assert.Equal(5, written.Count);
        Assert.All(written, line => Assert.True(Encoding.UTF8.GetByteCount(line) < 400, $"an events.log line of {line.Length} characters: {line}"));
        // Still answered: the budget limits what is written, not what is refused.
        var id = Guid.NewGuid();
        Assert.IsType<VmmpResults>(VmmpWire.Parse((await VmmpPeer.AskAsync(_port, new VmmpQuery(id)))!).Message);
    }
}
