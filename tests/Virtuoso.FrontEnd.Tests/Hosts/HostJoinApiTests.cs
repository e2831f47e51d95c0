using System.Net;
using System.Net.Http.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Hosts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Hosts;

/// <summary>HostJoinApiTests on SQLite, the default dialect.</summary>
public sealed class HostJoinApiTests(MarketFixture market) : HostJoinApiTests<MarketFixture>(market);

/// <summary>HostJoinApiTests on PostgreSQL, production's dialect.</summary>
public sealed class HostJoinApiPostgresTests(PostgresMarketFixture market) : HostJoinApiTests<PostgresMarketFixture>(market);

/// <summary>
/// Issue 19 point 2: a host added without a secret gets a one-time join token and the one command that installs its agent; the
/// install script presents the token with the secret it made (POST /api/v1/agents/join), once. The end-to-end proof, the script
/// itself in a fresh Debian root, is InstallJourneyTests.
/// </summary>
public abstract class HostJoinApiTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    private async Task<HostResponse> AddAwaitingJoinAsync() =>
        await market.Provider.AddHostAsync(HostSpecs.Virt13(MarketFixture.UniqueName("joining"), market.Spare) with { Secret = null });

    private Task<HttpResponseMessage> JoinAsync(string token, string secret) =>
        market.Anonymous().PostAsJsonAsync("/api/v1/agents/join", new JoinRequest(token, secret, Virtuoso.Contracts.Agent.MarketCertificates.NewRequest("joining").RequestPem));

    [Fact]
    public async Task AddingWithoutSecret_GivesTheInstallCommand_AndTheJoinBringsTheHostOnline_Once()
    {
        // Issue 20: the joined agent serves TLS with the certificate the join gives it.
        var (agent, tls) = await TlsAgents.StartAsync("joining");
        await using var running = agent;
        var added = await market.Provider.AddHostAsync(HostSpecs.Virt13(MarketFixture.UniqueName("joining"), agent) with { Secret = null });
        var join = added.Join!;
        Assert.Null(added.Secret);
        Assert.StartsWith(HostJoins.Prefix, join.Token);
        Assert.Matches(@"^curl -fsSL http://[^ ]+/install/agent\.sh \| bash -s -- --join vj_[A-Za-z0-9_-]{43}$", join.Command);
        Assert.EndsWith(join.Token, join.Command);
        var listed = await market.Provider.HostAsync(added.Name);
        Assert.Equal((false, null as HostJoin, null as string), (listed.Online, listed.Join, listed.LastFailure));
        Assert.Equal(join.ExpiresAt, listed.JoinPendingUntil);
        Assert.InRange(join.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromHours(23.9), TimeSpan.FromHours(24.1));
        // Only the token's hash is stored.
        Assert.Equal(0, await market.CountAsync("SELECT COUNT(*) FROM hosts WHERE join_token_hash = @t OR secret = @t", ("t", join.Token)));

        var (csr, key) = Virtuoso.Contracts.Agent.MarketCertificates.NewRequest("joining");
        var joined = await Session.Ok<JoinResponse>(await market.Anonymous().PostAsJsonAsync("/api/v1/agents/join", new JoinRequest(join.Token, agent.Secret, csr)));
        Assert.Equal((added.Name, added.Port, added.Ports), (joined.Name, joined.Port, joined.Ports));
        (tls.Certificate, tls.Authority) = TlsAgents.Received(joined, key);
        Assert.Equal(Virtuoso.Contracts.Agent.MarketIdentity.Host(added.Name), Virtuoso.Contracts.Agent.MarketCertificates.Verify(tls.Certificate, tls.Authority, DateTimeOffset.UtcNow));
        Assert.Equal(new DateTimeOffset(tls.Certificate.NotAfter.ToUniversalTime()), joined.CertificateExpiresAt);
        // Standard clients (a Prometheus scraper) check subject alternative names: the host's name, never the address a provider typed.
        var names = tls.Certificate.Extensions.OfType<System.Security.Cryptography.X509Certificates.X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal([added.Name], names.EnumerateDnsNames());
        Assert.Empty(names.EnumerateIPAddresses());
        var test = await Session.Ok<HostTestResponse>(await market.Provider.PostAsync($"/api/v1/hosts/{added.Name}/test"));
        Assert.True(test.Ok, test.Message);
        var online = await market.Provider.HostAsync(added.Name);
        Assert.Equal((true, null as DateTimeOffset?), (online.Online, online.JoinPendingUntil));

        // Used once: the same token again, even with the same secret, is refused and changes nothing (the certificate stays the host's).
        await Problem.AssertAsync(await JoinAsync(join.Token, "another-secret-0123456789"), 401, ErrorCodes.InvalidJoinToken);
        await Problem.AssertAsync(await JoinAsync(join.Token, agent.Secret), 401, ErrorCodes.InvalidJoinToken);
        Assert.True((await Session.Ok<HostTestResponse>(await market.Provider.PostAsync($"/api/v1/hosts/{added.Name}/test"))).Ok);
    }

    [Fact]
    public async Task ANewInstallCommand_VoidsThePreviousToken()
    {
        var added = await AddAwaitingJoinAsync();
        var renewed = await Session.Ok<HostResponse>(await market.Provider.PostAsync($"/api/v1/hosts/{added.Name}/join"));
        Assert.NotEqual(added.Join!.Token, renewed.Join!.Token);

        await Problem.AssertAsync(await JoinAsync(added.Join.Token, market.Spare.Secret), 401, ErrorCodes.InvalidJoinToken);
        await Session.Ok<JoinResponse>(await JoinAsync(renewed.Join.Token, market.Spare.Secret));
    }

    [Fact]
    public async Task AnExpiredToken_IsRefused_AndChangesNothing()
    {
        var added = await AddAwaitingJoinAsync();
        await market.Factory.Services.GetRequiredService<Virtuoso.FrontEnd.Data.Database>().WriteAsync((c, tx) => // the test's own connection is read-only
             c.ExecuteAsync("UPDATE hosts SET join_expires_at = @past WHERE name = @name",
            new { past = DateTimeOffset.UtcNow.AddMinutes(-1), name = added.Name }, tx));

        var refused = await Problem.AssertAsync(await JoinAsync(added.Join!.Token, market.Spare.Secret), 401, ErrorCodes.ExpiredJoinToken);
        Assert.Contains("make a new install command", refused.GetProperty("detail").GetString());
        Assert.Equal(1, await market.CountAsync("SELECT COUNT(*) FROM hosts WHERE name = @n AND join_token_hash IS NOT NULL", ("n", added.Name)));
        Assert.False((await Session.Ok<HostTestResponse>(await market.Provider.PostAsync($"/api/v1/hosts/{added.Name}/test"))).Ok);
    }

    [Theory]
    [InlineData("", "a-good-secret-0123456789", 401, ErrorCodes.InvalidJoinToken)]
    [InlineData("vk_not-a-join-token", "a-good-secret-0123456789", 401, ErrorCodes.InvalidJoinToken)]
    [InlineData("vj_never-made-0123456789012345678901234567890123", "a-good-secret-0123456789", 401, ErrorCodes.InvalidJoinToken)]
    public async Task BadTokens_AreRefused(string token, string secret, int status, string code) =>
        await Problem.AssertAsync(await JoinAsync(token, secret), status, code);

    [Fact]
    public async Task ABadSecret_IsRefused_AndTheTokenStillWorks()
    {
        var added = await AddAwaitingJoinAsync();
        await Problem.AssertAsync(await JoinAsync(added.Join!.Token, "short"), 400, ErrorCodes.Validation);
        await Problem.AssertAsync(await JoinAsync(added.Join.Token, "has a space in it 0123456789"), 400, ErrorCodes.Validation);
        // Found by hand: a join without a secret reached the NOT NULL column (a 500).
        await Problem.AssertAsync(await market.Anonymous().PostAsJsonAsync("/api/v1/agents/join", new { token = added.Join.Token }), 400, ErrorCodes.Validation);
        await Problem.AssertAsync(await market.Anonymous().PostAsJsonAsync("/api/v1/agents/join", new { token = added.Join.Token, secret = (string?)null }), 400, ErrorCodes.Validation);
        await Session.Ok<JoinResponse>(await JoinAsync(added.Join.Token, market.Spare.Secret));
    }

    [Fact]
    public async Task OnlyTheOwner_MakesANewCommand()
    {
        var added = await AddAwaitingJoinAsync();
        var other = await market.SignupAsync(Roles.Provider, "other-provider");
        await Problem.AssertAsync(await other.PostAsync($"/api/v1/hosts/{added.Name}/join"), 404, ErrorCodes.NotFound);
        await Problem.AssertAsync(await (await market.SharedBuyerAsync()).PostAsync($"/api/v1/hosts/{added.Name}/join"), 403, ErrorCodes.WrongRole);
        await Problem.AssertAsync(await market.Provider.PostAsync("/api/v1/hosts/no-such-host/join"), 404, ErrorCodes.NotFound);
    }

    [Fact]
    public async Task AHostAwaitingItsAgent_IsNotChecked_AndASecretTypedByHandVoidsTheToken()
    {
        var added = await AddAwaitingJoinAsync();
        await Task.Delay(TimeSpan.FromSeconds(1)); // the monitor checks every 0.2 s here
        Assert.Null((await market.Provider.HostAsync(added.Name)).LastFailure);

        await Session.Ok<HostResponse>(await market.Provider.PatchAsync($"/api/v1/hosts/{added.Name}", new { secret = market.Spare.Secret }));
        Assert.Null((await market.Provider.HostAsync(added.Name)).JoinPendingUntil);
        await Problem.AssertAsync(await JoinAsync(added.Join!.Token, "a-good-secret-0123456789"), 401, ErrorCodes.InvalidJoinToken);
    }

    [Fact]
    public async Task TheInstallScript_IsServedWithThisMarketsAddress_AndAMissingPackageSaysSo()
    {
        var client = market.Anonymous();
        var script = await client.GetAsync(InstallEndpoints.ScriptPath);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        var text = await script.Content.ReadAsStringAsync();
        Assert.StartsWith("#!/usr/bin/env bash", text);
        Assert.DoesNotContain("__VIRTUOSO_MARKET_URL__", text);
        Assert.Matches(@"MARKET=""\$\{VIRTUOSO_MARKET:-http://[^}]+\}""", text);

        await Problem.AssertAsync(await client.GetAsync(InstallEndpoints.PackagePath), 404, ErrorCodes.AgentPackageMissing);

        // Bad options are one line on stderr and exit 1, before anything is installed (a missing value exited silently before).
        var file = Path.Combine(Path.GetTempPath(), $"install-agent-{Guid.NewGuid():N}.sh");
        await File.WriteAllTextAsync(file, text);
        try
        {
            foreach (var (args, says) in new (string[], string)[]
                     {
                         ([], "--join TOKEN is required"), (["--join"], "--join needs a value"), (["--join", "abc"], "'abc' is not a join token"),
                         (["--join", "vj_x", "--vmmp-port"], "--vmmp-port needs a value"), (["--join", "vj_x", "--vmmp-port", "7x"], "--vmmp-port must be a TCP port number"),
                         (["--join", "vj_x", "--market", "ftp://x"], "--market must be"), (["--bogus"], "unknown option '--bogus'"),
                     })
            {
                var psi = new System.Diagnostics.ProcessStartInfo("bash") { RedirectStandardError = true, RedirectStandardOutput = true };
                foreach (var a in (string[])[file, .. args]) psi.ArgumentList.Add(a);
                using var bash = System.Diagnostics.Process.Start(psi)!;
                var stderr = await bash.StandardError.ReadToEndAsync();
                var stdout = await bash.StandardOutput.ReadToEndAsync();
                await bash.WaitForExitAsync();
                Assert.Equal(1, bash.ExitCode);
                Assert.Equal("", stdout);
                Assert.StartsWith("install-agent: " + says, Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
            }
        }
        finally { File.Delete(file); }
    }
}
