using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Agents;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Agents;

/// <summary>AgentTlsTests on SQLite, the default dialect.</summary>
public sealed class AgentTlsTests(MarketFixture market) : AgentTlsTests<MarketFixture>(market);

/// <summary>AgentTlsTests on PostgreSQL, production's dialect.</summary>
public sealed class AgentTlsPostgresTests(PostgresMarketFixture market) : AgentTlsTests<PostgresMarketFixture>(market);

/// <summary>
/// Issue 20: the front-end calls an agent that has a certificate over TLS, shows its own certificate as the client's, and
/// believes the agent only when it shows this very host's current certificate from the marketplace's authority: another
/// host's, or this host's before it enrolled or joined again (or before it was deleted and added again), is refused.
/// </summary>
public abstract class AgentTlsTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    private async Task<(HostResponse Host, FakeAgent Agent, FakeAgentTls Tls)> EnrolledHostAsync()
    {
        var name = MarketFixture.UniqueName("tls");
        var (agent, tls) = await TlsAgents.StartAsync(name);
        var host = await market.Provider.AddHostAsync(HostSpecs.Virt13(name, agent));
        (tls.Certificate, tls.Authority) = await TlsAgents.EnrollAsync(market, name, agent.Secret);
        return (host, agent, tls);
    }

    private async Task<HostTestResponse> TestAsync(string host) =>
        await Session.Ok<HostTestResponse>(await market.Provider.PostAsync($"/api/v1/hosts/{host}/test"));

    [Fact]
    public async Task AnEnrolledAgent_IsCalledOverTls_WithTheFrontEndsCertificate_AndItsSerialIsStored()
    {
        var (host, agent, tls) = await EnrolledHostAsync();
        await using var running = agent;

        var test = await TestAsync(host.Name);
        Assert.True(test.Ok, test.Message);
        Assert.Contains(MarketIdentity.FrontEnd, tls.Clients);
        Assert.DoesNotContain(null, tls.Clients);
        Assert.Equal(1, await market.CountAsync("SELECT COUNT(*) FROM hosts WHERE name = @n AND cert_serial = @s AND cert_expires_at IS NOT NULL",
            ("n", host.Name), ("s", MarketCertificates.SerialOf(tls.Certificate))));
        // The authority the agent was given is the one the front-end keeps, not the agent's name for it.
        Assert.Equal(market.Factory.Services.GetRequiredService<MarketTrust>().Authority.Thumbprint, tls.Authority.Thumbprint);
    }

    [Fact]
    public async Task AnAgentShowingAnotherHostsCertificate_IsRefused()
    {
        var (host, agent, tls) = await EnrolledHostAsync();
        var (other, otherAgent, otherTls) = await EnrolledHostAsync();
        await using var running = agent;
        await using var otherRunning = otherAgent;

        tls.Certificate = otherTls.Certificate;
        var test = await TestAsync(host.Name);
        Assert.Equal((false, ConnectionCodes.CertificateRefused), (test.Ok, test.Code));
        Assert.True((await TestAsync(other.Name)).Ok);
        Assert.Contains(market.Logs.Entries, e => e.Message.Contains($"host {host.Name}: the agent's TLS certificate was refused: it is host {other.Name}'s", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnOlderCertificate_IsRefused_OnceTheHostEnrolledAgain()
    {
        var (host, agent, tls) = await EnrolledHostAsync();
        await using var running = agent;
        var first = tls.Certificate;
        var (second, _) = await TlsAgents.EnrollAsync(market, host.Name, agent.Secret);

        Assert.Equal(ConnectionCodes.CertificateRefused, (await TestAsync(host.Name)).Code);
        tls.Certificate = second;
        Assert.True((await TestAsync(host.Name)).Ok);
        tls.Certificate = first;
        Assert.Equal(ConnectionCodes.CertificateRefused, (await TestAsync(host.Name)).Code);
    }

    [Fact]
    public async Task ADeletedHostsCertificate_IsRefused_WhenItsNameComesBack()
    {
        var (host, agent, tls) = await EnrolledHostAsync();
        await using var running = agent;
        var old = tls.Certificate;
        Assert.True((await TestAsync(host.Name)).Ok);
        Assert.True((await market.Provider.DeleteAsync($"/api/v1/hosts/{host.Name}")).IsSuccessStatusCode);

        // The same name and secret again: the deleted host's certificate is no longer this host's.
        await market.Provider.AddHostAsync(HostSpecs.Virt13(host.Name, agent));
        Assert.Equal(0, await market.CountAsync("SELECT COUNT(*) FROM hosts WHERE name = @n AND cert_serial IS NOT NULL", ("n", host.Name)));
        (tls.Certificate, _) = await TlsAgents.EnrollAsync(market, host.Name, agent.Secret);
        Assert.True((await TestAsync(host.Name)).Ok);
        tls.Certificate = old;
        Assert.Equal(ConnectionCodes.CertificateRefused, (await TestAsync(host.Name)).Code);
    }

    [Fact]
    public async Task AJoinAgain_VoidsTheCertificateOfTheFirstJoin()
    {
        var name = MarketFixture.UniqueName("rejoin");
        var (agent, tls) = await TlsAgents.StartAsync(name);
        await using var running = agent;
        var added = await market.Provider.AddHostAsync(HostSpecs.Virt13(name, agent) with { Secret = null });
        (tls.Certificate, tls.Authority) = await JoinAsync(added.Join!.Token, agent.Secret);
        var first = tls.Certificate;
        Assert.True((await TestAsync(name)).Ok);

        var renewed = await Session.Ok<HostResponse>(await market.Provider.PostAsync($"/api/v1/hosts/{name}/join"));
        var (second, _) = await JoinAsync(renewed.Join!.Token, agent.Secret);
        Assert.Equal(ConnectionCodes.CertificateRefused, (await TestAsync(name)).Code);
        tls.Certificate = second;
        Assert.True((await TestAsync(name)).Ok);
        tls.Certificate = first;
        Assert.Equal(ConnectionCodes.CertificateRefused, (await TestAsync(name)).Code);
    }

    private async Task<(System.Security.Cryptography.X509Certificates.X509Certificate2, System.Security.Cryptography.X509Certificates.X509Certificate2)> JoinAsync(string token, string secret)
    {
        var (csr, key) = MarketCertificates.NewRequest("joining");
        using (key)
            return TlsAgents.Received(await Session.Ok<JoinResponse>(await market.Anonymous().PostAsJsonAsync("/api/v1/agents/join", new JoinRequest(token, secret, csr))), key);
    }

    [Fact]
    public async Task AnAgentOfAnotherMarketplace_IsRefused()
    {
        var (host, agent, tls) = await EnrolledHostAsync();
        await using var running = agent;
        var elsewhere = MarketCertificates.CreateAuthority("Virtuoso marketplace authority", DateTimeOffset.UtcNow);
        tls.Certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(
            MarketCertificates.IssueWithKey(elsewhere, MarketIdentity.Host(host.Name), DateTimeOffset.UtcNow, TimeSpan.FromDays(1))
                .Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12), null);
        Assert.Equal(ConnectionCodes.CertificateRefused, (await TestAsync(host.Name)).Code);
    }

    [Fact]
    public async Task Enrollment_WithAWrongSecretOrUnknownHost_IsRefused_AndChangesNothing()
    {
        var (host, agent, tls) = await EnrolledHostAsync();
        await using var running = agent;
        var serial = MarketCertificates.SerialOf(tls.Certificate);
        var csr = MarketCertificates.NewRequest(host.Name).RequestPem;
        foreach (var (name, secret) in new[] { (host.Name, agent.Secret + "x"), (host.Name, ""), ("no-such-host", agent.Secret), ("", agent.Secret) })
            await Problem.AssertAsync(await market.Anonymous().PostAsJsonAsync("/api/v1/agents/certificate", new EnrollRequest(name, secret, csr)), 401, ErrorCodes.InvalidHostSecret);
        Assert.Equal(1, await market.CountAsync("SELECT COUNT(*) FROM hosts WHERE name = @n AND cert_serial = @s", ("n", host.Name), ("s", serial)));
        Assert.True((await TestAsync(host.Name)).Ok);
    }

    public static TheoryData<string?, string> BadRequests() => new()
    {
        { null, "csr is required" },
        { "", "csr is required" },
        { "not a certificate request", "not a valid PEM certificate request" },
        { new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=rsa", System.Security.Cryptography.RSA.Create(2048),
            System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1).CreateSigningRequestPem(), "must be ECDSA" },
        { Tampered(), "not a valid PEM certificate request" },
        { new string('A', 20_000), "too long" },
    };

    // A request whose signature no longer holds: the sender cannot prove it has the key.
    private static string Tampered()
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var der = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=tampered", key, System.Security.Cryptography.HashAlgorithmName.SHA256).CreateSigningRequest();
        der[^5] ^= 0x5a;
        return System.Security.Cryptography.PemEncoding.WriteString("CERTIFICATE REQUEST", der);
    }

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task ABadCertificateRequest_IsAClearProblem_ForEnrollmentAndJoin_AndChangesNothing(string? csr, string says)
    {
        var (host, agent, tls) = await EnrolledHostAsync();
        await using var running = agent;
        var serial = MarketCertificates.SerialOf(tls.Certificate);
        var enrolled = await Problem.AssertAsync(await market.Anonymous().PostAsJsonAsync("/api/v1/agents/certificate",
            new { name = host.Name, secret = agent.Secret, csr }), 400, ErrorCodes.InvalidCertificateRequest);
        Assert.Contains(says, enrolled.GetProperty("detail").GetString());
        Assert.Equal(1, await market.CountAsync("SELECT COUNT(*) FROM hosts WHERE name = @n AND cert_serial = @s", ("n", host.Name), ("s", serial)));

        var joining = await market.Provider.AddHostAsync(HostSpecs.Virt13(MarketFixture.UniqueName("joining"), market.Spare) with { Secret = null });
        var joined = await Problem.AssertAsync(await market.Anonymous().PostAsJsonAsync("/api/v1/agents/join",
            new { token = joining.Join!.Token, secret = agent.Secret, csr }), 400, ErrorCodes.InvalidCertificateRequest);
        Assert.Contains(says, joined.GetProperty("detail").GetString());
        // The token still works: a bad request spends nothing.
        Assert.Equal(1, await market.CountAsync("SELECT COUNT(*) FROM hosts WHERE name = @n AND join_token_hash IS NOT NULL", ("n", joining.Name)));
    }

    [Fact]
    public async Task EveryReplica_SharesTheAuthority_AndHasItsOwnCertificate()
    {
        await using var replica = market.Factory.WithWebHostBuilder(b => b.UseSetting("Virtuoso:AllowCleartextAgents", "false"));
        var mine = market.Factory.Services.GetRequiredService<MarketTrust>();
        var theirs = replica.Services.GetRequiredService<MarketTrust>();
        Assert.Equal(mine.Authority.Thumbprint, theirs.Authority.Thumbprint);
        Assert.NotEqual(mine.Certificate.Thumbprint, theirs.Certificate.Thumbprint);
        Assert.Equal(MarketIdentity.FrontEnd, MarketCertificates.Verify(theirs.Certificate, mine.Authority, DateTimeOffset.UtcNow));
        Assert.Equal(1, await market.CountAsync("SELECT COUNT(*) FROM market_authority"));

        // The replica does not call agents in cleartext: a host without a certificate is unreachable to it, and it says why.
        var plain = await market.AddHostAsync();
        using var provider = replica.CreateClient();
        provider.DefaultRequestHeaders.Authorization = market.Provider.Http.DefaultRequestHeaders.Authorization;
        var test = await Session.Ok<HostTestResponse>(await provider.PostAsync($"/api/v1/hosts/{plain.Name}/test", null));
        Assert.Equal((false, ConnectionCodes.CertificateRefused), (test.Ok, test.Code));
        Assert.Contains("virtuoso-agent enroll", test.Message);
    }

    [Fact]
    public async Task AReplicasOwnCertificate_IsRenewed_TenDaysBeforeItEnds()
    {
        var clock = new TestClock(DateTimeOffset.UtcNow);
        var trust = new MarketTrust(market.Factory.Services.GetRequiredService<Virtuoso.FrontEnd.Data.Database>(), clock);
        await trust.LoadAsync();
        var first = trust.Certificate;
        Assert.Equal(market.Factory.Services.GetRequiredService<MarketTrust>().Authority.Thumbprint, trust.Authority.Thumbprint);
        Assert.InRange(first.NotAfter.ToUniversalTime() - clock.GetUtcNow().UtcDateTime, TimeSpan.FromDays(29.9), TimeSpan.FromDays(30.1));

        clock.Advance(TimeSpan.FromDays(19));
        Assert.Same(first, trust.Certificate);
        clock.Advance(TimeSpan.FromDays(2)); // 9 days left
        var renewed = trust.Certificate;
        Assert.NotEqual(first.Thumbprint, renewed.Thumbprint);
        Assert.Equal(MarketIdentity.FrontEnd, MarketCertificates.Verify(renewed, trust.Authority, clock.GetUtcNow()));
    }
}
