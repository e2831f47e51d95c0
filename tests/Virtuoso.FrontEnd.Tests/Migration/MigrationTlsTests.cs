using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.Contracts.Vmmp;
using Virtuoso.Core.Migration;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Agents;
using Virtuoso.FrontEnd.Migration;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Migration;

/// <summary>A market whose agents speak TLS on the migration links (<c>Virtuoso:AgentTls</c>, issue 20 point 1).</summary>
public class TlsMarket : MarketFixture
{
    public TlsMarket() : base(new SqliteTestDatabase(), new Dictionary<string, string?> { ["Virtuoso:AgentTls"] = "true" }) { }
}

/// <summary>
/// Issue 20 point 1 on the front-end's side: VMMP to destinations over TLS (their certificate, issued by the front-end's
/// authority, checked), exports that name their destination, origins given as https://, and the VMMP listener serving
/// TLS with the front-end's certificate that takes hosts' certificates only, and each line only from its migration's
/// destination. The fake agents speak TLS with certificates of <see cref="MarketTrust"/>'s authority.
/// </summary>
public sealed class MigrationTlsTests(TlsMarket market) : IClassFixture<TlsMarket>
{

    private MarketTrust Trust => market.Factory.Services.GetRequiredService<MarketTrust>();
    private IPEndPoint Listener => market.Factory.Services.GetRequiredService<CentralAddress>().Bound!;

    private X509Certificate2 Issue(MarketIdentity identity) =>
        MarketCertificates.IssueWithKey(Trust.Authority, identity, DateTimeOffset.UtcNow, TimeSpan.FromDays(1));

    private sealed record Pair(FakeAgent Origin, FakeAgent Destination, string OriginHost, string DestinationHost) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Origin.DisposeAsync();
            await Destination.DisposeAsync();
        }
    }

    /// <summary>Two fresh fake agents with hosts, each speaking TLS with its host's certificate.</summary>
    private async Task<Pair> PairAsync()
    {
        var origin = await FakeAgent.StartAsync("origin");
        var destination = await FakeAgent.StartAsync("destination");
        var o = await market.Provider.AddHostAsync(HostSpecs.Virt8(MarketFixture.UniqueName("tls-origin"), origin) with { Speed = 100_000, Memory = 100_000, Storage = 100_000 });
        var d = await market.Provider.AddHostAsync(HostSpecs.Virt13(MarketFixture.UniqueName("tls-dest"), destination) with { Speed = 100_000, Memory = 100_000, Storage = 100_000 });
        origin.Tls = (Issue(MarketIdentity.Host(o.Name)), Trust.Authority);
        destination.Tls = (Issue(MarketIdentity.Host(d.Name)), Trust.Authority);
        return new Pair(origin, destination, o.Name, d.Name);
    }

    private async Task<(Session Buyer, MachineResponse Machine)> StoppedMachineOnAsync(string host)
    {
        var buyer = await market.SignupAsync(Roles.Buyer, "tls-buyer");
        var machine = await buyer.RegisterAsync("linux-busybox", 1000m, 100m);
        machine = await buyer.StoreAsync(machine.Id, host);
        await buyer.ActAsync(machine.Id, "start");
        return (buyer, await buyer.ActAsync(machine.Id, "stop"));
    }

    private static async Task MigrateAsync(Session buyer, Guid id, string host)
    {
        var response = await buyer.PostAsync($"/api/v1/machines/{id:D}/migrate", new MigrateRequest(host, "SCP"));
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A TLS connection to the front-end's VMMP listener showing <paramref name="own"/> (none: null); null when the handshake is refused.</summary>
    private async Task<(TcpClient Tcp, SslStream Ssl)?> ConnectAsync(X509Certificate2? own)
    {
        var tcp = new TcpClient(Listener.AddressFamily);
        await tcp.ConnectAsync(Listener.Address, Listener.Port);
        var ssl = new SslStream(tcp.GetStream());
        var options = own is null
            ? new SslClientAuthenticationOptions { TargetHost = "virtuoso-frontend", RemoteCertificateValidationCallback = (_, _, _, _) => true }
            : MarketTls.Client(own, Trust.Authority, MarketIdentity.FrontEnd);
        try
        {
            await ssl.AuthenticateAsClientAsync(options);
            // TLS 1.3 reports a refused client certificate at the first read: the listener's answer is to close.
            using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            try
            {
                if (await ssl.ReadAsync(new byte[1], wait.Token) == 0) throw new IOException("closed");
            }
            catch (OperationCanceledException) { } // still open: the handshake was taken
            return (tcp, ssl);
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
            tcp.Dispose();
            return null;
        }
    }

    [Fact]
    public async Task Migrate_BetweenHostsWithTls_CommitsOverTls_TheExportNamesTheDestination_TheOriginIsHttps()
    {
        await using var pair = await PairAsync();
        var (buyer, machine) = await StoppedMachineOnAsync(pair.OriginHost);

        await MigrateAsync(buyer, machine.Id, pair.DestinationHost);

        Assert.Equal(MigrationStates.Done, (await buyer.MigrationEndedAsync(machine.Id)).Phase);
        Assert.Equal(pair.DestinationHost, pair.Origin.ExportedTo[machine.Id]);
        Assert.Single(pair.Destination.Requests); // the fake destination takes VMMP over TLS only
        Assert.Equal(pair.DestinationHost, (await buyer.MachineAsync(machine.Id)).Host);
    }

    [Fact]
    public async Task Listener_RefusesAClientThatIsNotAHostOfTheMarketplace()
    {
        var otherAuthority = MarketCertificates.CreateAuthority("another marketplace", DateTimeOffset.UtcNow);
        var refused = new Dictionary<string, X509Certificate2?>
        {
            ["no certificate"] = null,
            ["the front-end's own certificate"] = Trust.Certificate,
            ["another authority's host"] = MarketCertificates.IssueWithKey(otherAuthority, MarketIdentity.Host("beta"), DateTimeOffset.UtcNow, TimeSpan.FromDays(1)),
        };
        foreach (var (what, certificate) in refused)
            Assert.True(await ConnectAsync(certificate) is null, $"the listener took {what}");
        // A host's certificate is taken (what it may say is checked per line).
        var host = await ConnectAsync(Issue(MarketIdentity.Host("beta")));
        Assert.NotNull(host);
        host.Value.Tcp.Dispose();
        Assert.Contains(market.Logs.Entries, e => e.EventId == 4103 && e.Message.Contains("TLS refused", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Heartbeats_FromAnotherHostsCertificate_OrInCleartext_DoNotKeepTheMigrationOpen()
    {
        await using var pair = await PairAsync();
        var (buyer, machine) = await StoppedMachineOnAsync(pair.OriginHost);
        pair.Destination.Behaviour = FakeMigration.Silent; // accepted the REQ, then died
        await MigrateAsync(buyer, machine.Id, pair.DestinationHost);
        using var stop = new CancellationTokenSource();
        // The strongest forgeries: proven with the destination's own secret, from the origin's certificate or without TLS.
        var forging = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var forged = VmmpAuth.Encode(pair.Destination.Secret, new VmmpHeartbeat(machine.Id));
                if (await ConnectAsync(Issue(MarketIdentity.Host(pair.OriginHost))) is { } tls)
                    using (tls.Tcp)
                    {
                        try { await tls.Ssl.WriteAsync(forged); } catch (IOException) { }
                    }
                using (var plain = new TcpClient(Listener.AddressFamily))
                {
                    await plain.ConnectAsync(Listener.Address, Listener.Port);
                    try { await plain.GetStream().WriteAsync(forged); } catch (IOException) { }
                }
                await Task.Delay(200);
            }
        });
        MigrationResponse ended;
        try
        {
            ended = await buyer.MigrationEndedAsync(machine.Id);
        }
        finally
        {
            await stop.CancelAsync();
            await forging;
        }
        Assert.Equal(MigrationStates.Reverted, ended.Phase);
        Assert.Contains("heartbeat", ended.Error);
        Assert.Contains(market.Logs.Entries, e => e.EventId == 4103 && e.Message.Contains($"not its destination {pair.DestinationHost}", StringComparison.Ordinal));
        Assert.Contains(market.Logs.Entries, e => e.EventId == 4103 && e.Message.Contains("in cleartext", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Migrate_ToADestinationShowingAnotherHostsCertificate_FailsAtTheQuery()
    {
        await using var pair = await PairAsync();
        var (buyer, machine) = await StoppedMachineOnAsync(pair.OriginHost);
        pair.Destination.Tls = (Issue(MarketIdentity.Host(pair.OriginHost)), Trust.Authority); // an impostor at the destination's address

        var response = await buyer.PostAsync($"/api/v1/machines/{machine.Id:D}/migrate", new MigrateRequest(pair.DestinationHost, "SCP"));

        var problem = await Problem.AssertAsync(response, 502, ErrorCodes.AgentFailed);
        Assert.Contains("TLS", Problem.Detail(problem));
        Assert.Empty(pair.Destination.Requests);
    }
}
