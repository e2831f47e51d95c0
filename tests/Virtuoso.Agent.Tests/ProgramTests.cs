using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Tests;

/// <summary>The agent as its operator runs it: the real executable, real flags, Kestrel on loopback.</summary>
public sealed partial class ProgramTests : IDisposable
{
    private readonly TestDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static ProcessStartInfo Agent(params string[] args)
    {
        var psi = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "virtuoso-agent"), args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment.Remove("VIRTUOSO_AGENT_SECRET");
        psi.Environment["DOTNET_ENVIRONMENT"] = "Production";
        return psi;
    }

    [Fact]
    public async Task WithoutSecret_RefusesToStart_WithCode2AndOneLine()
    {
        using var process = Process.Start(Agent("--name", "alpha", "--data", _dir.Path, "--urls", "http://127.0.0.1:0"))!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(2, process.ExitCode);
        Assert.Equal("virtuoso-agent: no host secret: pass --secret-file FILE or set VIRTUOSO_AGENT_SECRET", stderr.TrimEnd());
    }

    [Fact]
    public async Task WithTlsAndACleartextUrl_RefusesToStart_WithCode2AndOneLine()
    {
        // Issue 20: an agent with a certificate never serves its routes (transfers included) in cleartext.
        var settings = new TestMarket(_dir.Sub("certificates")).AgentSettings("alpha");
        var secret = Path.Combine(_dir.Path, "secret");
        await File.WriteAllTextAsync(secret, AgentFactory.Secret);
        using var process = Process.Start(Agent("--name", "alpha", "--data", _dir.Sub("data"), "--secret-file", secret, "--urls", "http://127.0.0.1:0",
            "--tls-cert", settings["tls-cert"]!, "--tls-key", settings["tls-key"]!, "--tls-ca", settings["tls-ca"]!))!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(2, process.ExitCode);
        Assert.Equal("virtuoso-agent: --urls http://127.0.0.1:0: http://127.0.0.1:0 is not https://: an agent with a certificate (--tls-cert) serves HTTPS only, https://IP:PORT", stderr.TrimEnd());
    }

    [Fact]
    public async Task WithSecretFile_ServesOnLoopback_AndASecondAgentOnTheSameDataIsRefused()
    {
        var secret = Path.Combine(_dir.Path, "secret");
        File.WriteAllText(secret, "a-secret-of-sufficient-length\n");
        var data = Path.Combine(_dir.Path, "data");
        var args = new[] { "--name", "alpha", "--data", data, "--secret-file", secret, "--urls", "http://127.0.0.1:0", "--accelerator", "tcg", "--vmmp-port", "0" };
        using var agent = Process.Start(Agent(args))!;
        try
        {
            var address = await ListeningAddressAsync(agent);
            using var http = new HttpClient { BaseAddress = new Uri(address) };

            var refused = await http.GetAsync(AgentRoutes.Machines);
            http.DefaultRequestHeaders.Authorization = new("Bearer", "a-secret-of-sufficient-length");
            var served = await http.GetFromJsonAsync<AgentMachine[]>(AgentRoutes.Machines);
            var health = await http.GetFromJsonAsync<AgentHealth>(AgentRoutes.Health);

            Assert.Equal(new AgentHealth("alpha", "tcg", 0, Status: AgentHealth.Ok), health! with { VmmpPort = null, Methods = null, Protocol = null, Version = null, Bogomips = null });
            Assert.True(health.VmmpPort > 0);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Empty(served!);

            using var second = Process.Start(Agent(args))!;
            var stderr = await second.StandardError.ReadToEndAsync();
            await second.WaitForExitAsync();
            Assert.Equal(2, second.ExitCode);
            Assert.Contains("another agent is using --data", stderr);
        }
        finally
        {
            agent.Kill();
            await agent.WaitForExitAsync();
        }
    }

    private static async Task<string> ListeningAddressAsync(Process agent)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await agent.StandardOutput.ReadLineAsync(cts.Token) is { } line)
            if (Listening().Match(line) is { Success: true } m)
                return m.Groups[1].Value;
        throw new InvalidOperationException($"the agent exited without listening: {await agent.StandardError.ReadToEndAsync()}");
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();
}
