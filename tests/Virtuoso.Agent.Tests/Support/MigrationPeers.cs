using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Agent.Vmm;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.Agent.Tests.Support;

/// <summary>Agents on real loopback ports (Kestrel), so that one agent can fetch from another over HTTP.</summary>
internal static class KestrelAgent
{
    public static AgentFactory Start(string dataDirectory, IVmm? vmm = null, Dictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null)
    {
        // Port 0: Kestrel picks a free port (no race with parallel tests); the client's base address tells which.
        settings = new Dictionary<string, string?>(settings ?? []);
        settings.TryAdd("urls", "http://127.0.0.1:0"); // https://127.0.0.1:0 for an agent with TLS (TestMarket)
        var factory = new AgentFactory(dataDirectory, vmm, settings, services);
        factory.UseKestrel();
        factory.StartServer();
        return factory;
    }

    /// <summary>
    /// Stops an agent and waits until its data directory is free again: the host's disposal may still be finishing
    /// (cancelled fetches ending) when DisposeAsync returns, and a restarted agent must find the directory unlocked.
    /// </summary>
    public static async Task StopAsync(AgentFactory agent)
    {
        await agent.DisposeAsync();
        for (var waited = 0; waited < 200; waited++)
        {
            var (held, _) = DataDirectoryLock.Acquire(agent.DataDirectory);
            if (held is not null)
            {
                held.Dispose();
                return;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"the stopped agent still holds {agent.DataDirectory} after 20 s");
    }

    public static string BaseAddress(this AgentFactory agent) => agent.CreateClient().BaseAddress!.ToString().TrimEnd('/');

    public static async Task<int> VmmpPortAsync(this AgentFactory agent) =>
        (await agent.CreateAuthenticatedClient().GetFromJsonAsync<AgentHealth>(AgentRoutes.Health))!.VmmpPort!.Value;
}

/// <summary>A VMMP peer that speaks only the grammar of design §6.1, over a raw TCP connection.</summary>
internal static class VmmpPeer
{
    /// <summary>Sends raw bytes and returns the one line answered, or null when the agent closed the connection instead.</summary>
    public static async Task<string?> ExchangeAsync(int port, byte[] bytes)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(bytes);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            return await VmmpWire.ReadLineAsync(stream, timeout.Token);
        }
        catch (IOException)
        {
            return null; // reset by the agent
        }
    }

    public static Task<string?> ExchangeAsync(int port, string line) => ExchangeAsync(port, Encoding.ASCII.GetBytes(line + "\n"));

    /// <summary>Sends <paramref name="message"/> after an AUTH line keyed by <paramref name="key"/> (the host secret unless
    /// given, as the front-end does), and returns the one line answered, or null when the agent closed the connection.</summary>
    public static Task<string?> AskAsync(int port, VmmpMessage message, string key = AgentFactory.Secret) =>
        ExchangeAsync(port, VmmpAuth.Encode(key, message));
}

/// <summary>The front-end's VMMP listener (CENTRAL_IP:CENTRAL_PORT): collects what a destination sends.</summary>
internal sealed class FakeCentral : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly TestMarket? _market;

    /// <param name="market">Issue 20: serve TLS as the front-end of this market, taking only host certificates.</param>
    public FakeCentral(TestMarket? market = null)
    {
        _market = market;
        _listener.Start();
    }

    /// <summary>The identity the last TLS peer proved.</summary>
    public MarketIdentity? Peer { get; private set; }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>
    /// Accepts the destination's connection and reads messages until a RESP (or the connection ends). Each must follow an
    /// AUTH line proving it with the destination's host secret (issue 20), as the front-end's listener requires.
    /// </summary>
    public async Task<List<VmmpMessage>> ReceiveUntilRespAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var client = await _listener.AcceptTcpClientAsync(cts.Token);
        Stream stream = client.GetStream();
        if (_market is not null)
        {
            var ssl = new System.Net.Security.SslStream(stream);
            await ssl.AuthenticateAsServerAsync(MarketTls.Server(_market.FrontEnd, _market.Authority, id => id.Role == MarketRole.Host), cts.Token);
            Peer = MarketTls.IdentityOf(ssl.RemoteCertificate, _market.Authority);
            stream = ssl;
        }
        List<VmmpMessage> received = [];
        while (await VmmpWire.ReadLineAsync(stream, cts.Token) is { } auth)
        {
            var proof = VmmpAuth.ParseProof(auth);
            Assert.True(proof is not null, $"the destination sent '{auth}' where an AUTH line belongs");
            var line = await VmmpWire.ReadLineAsync(stream, cts.Token);
            Assert.True(line is not null, "the destination closed after an AUTH line");
            Assert.True(VmmpAuth.Verify(AgentFactory.Secret, line!, proof!), $"the AUTH line before '{line}' is not proven by the host secret");
            var parsed = VmmpWire.Parse(line!);
            Assert.True(parsed.Message is not null, $"the destination sent a line that is not VMMP 1.0: {line} ({parsed.Error})");
            received.Add(parsed.Message!);
            if (parsed.Message is VmmpResp)
                break;
        }
        return received;
    }

    public void Dispose() => _listener.Stop();
}

/// <summary>The front-end's calls around a migration (design §6.2), on an origin and a destination agent.</summary>
internal static class MigrationCalls
{
    public static string NewToken() => Convert.ToHexString(Guid.NewGuid().ToByteArray()) + "-token";

    public static IncomingMigration Incoming(AgentFactory origin, long version, string token, string method = VmmpMethods.Scp,
        string? image = null, long memoryMb = 128, long diskMb = 100) =>
        new(version, method, origin.BaseAddress(), "origin-host", token, "52:54:00:12:34:56", 1000, memoryMb, diskMb, image);

    public static VmmpReq Req(Guid id, long version, AgentFactory origin, int centralPort, string method = VmmpMethods.Scp)
    {
        var uri = new Uri(origin.BaseAddress());
        return new VmmpReq(id, version, IPAddress.Parse(uri.Host), uri.Port, IPAddress.Loopback, centralPort, method);
    }

    public static async Task<MigrationProgress> WaitForPhaseAsync(HttpClient destination, Guid id, string phase, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var progress = await AgentApi.ReadAsync<MigrationProgress>(await destination.GetAsync(MigrationRoutes.Incoming(id)));
            if (progress.Phase == phase)
                return progress;
            if (watch.Elapsed > timeout)
                throw new TimeoutException($"migration of {id} is {progress.Phase}, not {phase}, after {timeout.TotalSeconds} s: {progress}");
            await Task.Delay(100);
        }
    }
}
