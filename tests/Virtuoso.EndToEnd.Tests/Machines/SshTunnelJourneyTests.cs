using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Virtuoso.Contracts.Api;
using Virtuoso.EndToEnd.Tests.Support;
using Xunit.Abstractions;

namespace Virtuoso.EndToEnd.Tests.Machines;

/// <summary>
/// Issue 14 items 4 and 5 on real parts: <c>./virtuoso ssh</c> logs in to the linux-busybox guest with the system's
/// OpenSSH client, through <c>./virtuoso tunnel</c> (its ProxyCommand), the real front-end's tunnel WebSocket, the real
/// agent and QEMU's user-mode network; no port of the host is forwarded for it. Only the owner may tunnel; the guest
/// admits only the owner's keys of the last start.
/// </summary>
[Collection(RealQemu.Name)]
public sealed class SshTunnelJourneyTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Boot = TimeSpan.FromSeconds(150);

    [Fact]
    public async Task Owner_SshsThroughTheFrontEnd_OthersCannotTunnel_AndADeletedKeyStopsWorkingAtTheNextStart()
    {
        Assert.True(Repo.GuestImageBuilt, $"the guest image is not built in {Repo.Images}: run guest/build-image.sh (./test does)");
        await using var m = await Marketplace.StartAsync("alpha");
        var alpha = m.Agents["alpha"];
        var keys = Directory.CreateTempSubdirectory("virtuoso-ssh-e2e-").FullName;
        try
        {
            var first = await NewKeyAsync(keys, "first");
            var second = await NewKeyAsync(keys, "second");
            var stranger = await NewKeyAsync(keys, "stranger");
            var cli = Path.Combine(keys, "virtuoso");
            // What ssh's ProxyCommand runs: this build's CLI (the tests run the CLI in-process, so there is no ./virtuoso of it).
            await File.WriteAllTextAsync(cli, $"#!/bin/sh\nexec dotnet '{Repo.Dll("Virtuoso.Cli", "virtuoso")}' \"$@\"\n");
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(cli, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

            (await m.CliAsync("p", "signup", "tunnel-provider", "--password", "provider-pass", "--email", "p@example.com", "--provider")).Ok();
            (await m.CliAsync("p", "login", "tunnel-provider", "--password", "provider-pass")).Ok();
            (await m.CliAsync("p", "host", "add", "alpha", "--address", "127.0.0.1", "--port", alpha.Port.ToString(), "--processor", "x86_64",
                "--speed", "10000", "--speed-unit", "1000", "--speed-price", "0.00001", "--memory", "4096", "--memory-unit", "4",
                "--memory-price", "0.00001", "--running-period", "3600", "--storage", "20000", "--storage-unit", "100",
                "--storage-price", "0.01", "--storage-period", "30", "--connect-speed", "1Gbps", "--secret", alpha.Secret)).Ok();
            (await m.CliAsync("b", "signup", "tunnel-buyer", "--password", "buyer-pass-1", "--email", "b@example.com", "--buyer")).Ok();
            (await m.CliAsync("b", "login", "tunnel-buyer", "--password", "buyer-pass-1")).Ok();
            (await m.CliAsync("b", "keys", "add", "laptop", "--file", first + ".pub")).Ok();
            var id = (await m.CliAsync("b", "--json", "register", "--config", "linux-busybox", "--name", "tunnel-web",
                "--storage-bid", "30", "--running-bid", "3")).Ok().Json.GetProperty("id").GetGuid();
            (await m.CliAsync("b", "store", id.ToString(), "--host", "alpha")).Ok();
            var watch = Stopwatch.StartNew();
            (await m.CliAsync("b", "start", id.ToString())).Ok();

            // The owner, with the key of the start: the guest's hostname is the machine's name.
            Assert.Equal("tunnel-web\n", await WaitForSshAsync(m, cli, "b", id, first, "cat", "/etc/hostname"));
            output.WriteLine($"start to ssh through the tunnel: {watch.Elapsed.TotalSeconds:0.0} s");
            // Standard input reaches the guest too, and its host key was kept under the machine's id.
            Assert.Equal("tunnel-web\n", (await SshAsync(m, cli, "b", id, first, "hostname")).Ok().Stdout);
            // (Debian's ssh hashes the names in known_hosts: one ed25519 host key, the guest's.)
            Assert.Single(await File.ReadAllLinesAsync(Path.Combine(m.Dir, "home-b", "known_hosts")), l => l.Contains(" ssh-ed25519 "));
            // The owner with a key not on the account: the guest refuses it.
            var wrongKey = await SshAsync(m, cli, "b", id, stranger, "true");
            Assert.Equal(255, wrongKey.ExitCode);
            Assert.Contains("Permission denied", wrongKey.Stderr);

            // Another buyer cannot tunnel to the machine at all: it does not exist for them.
            (await m.CliAsync("o", "signup", "tunnel-other", "--password", "other-pass-1", "--email", "o@example.com", "--buyer")).Ok();
            (await m.CliAsync("o", "login", "tunnel-other", "--password", "other-pass-1")).Ok();
            (await m.CliAsync("o", "keys", "add", "theirs", "--file", stranger + ".pub")).Ok();
            var other = await SshAsync(m, cli, "o", id, stranger, "true");
            Assert.Equal(1, other.ExitCode);
            Assert.EndsWith("(not-found)", other.Stderr.Trim());
            using (var http = await ApiAsync(m, "tunnel-other", "other-pass-1"))
            {
                var ticket = await http.PostAsJsonAsync($"/api/v1/machines/{id:D}/tunnel", new TunnelRequest(22));
                Assert.Equal(HttpStatusCode.NotFound, ticket.StatusCode);
            }

            // Keys follow the account at each start: the deleted one no longer logs in, the new one does.
            (await m.CliAsync("b", "keys", "add", "desktop", "--file", second + ".pub")).Ok();
            (await m.CliAsync("b", "keys", "delete", "laptop")).Ok();
            (await m.CliAsync("b", "stop", id.ToString())).Ok();
            (await m.CliAsync("b", "start", id.ToString())).Ok();
            Assert.Equal("tunnel-web\n", await WaitForSshAsync(m, cli, "b", id, second, "cat", "/etc/hostname"));
            var old = await SshAsync(m, cli, "b", id, first, "true");
            Assert.Equal(255, old.ExitCode);
            Assert.Contains("Permission denied", old.Stderr);

            // A stopped machine: refused in one line before ssh runs.
            (await m.CliAsync("b", "stop", id.ToString())).Ok();
            var stopped = await SshAsync(m, cli, "b", id, second, "true");
            Assert.Equal(1, stopped.ExitCode);
            Assert.EndsWith("(invalid-state)", stopped.Stderr.Trim());
        }
        finally
        {
            Directory.Delete(keys, recursive: true);
        }
    }

    /// <summary><c>virtuoso ssh ID -i KEY -- COMMAND…</c>, in-process, as the user whose CLI home is <paramref name="home"/>.</summary>
    private static async Task<CliResult> SshAsync(Marketplace m, string cli, string home, Guid id, string key, params string[] command)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var env = new Dictionary<string, string?>
        {
            ["VIRTUOSO_HOME"] = Path.Combine(m.Dir, "home-" + home),
            ["VIRTUOSO_SERVER"] = m.Url,
            ["VIRTUOSO_CLI"] = cli,
        };
        string[] args = ["ssh", id.ToString(), "-i", key, "--", .. command];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var code = await Virtuoso.Cli.Cli.RunAsync(args, stdout, stderr, env, timeout.Token);
        return new CliResult(code, stdout.ToString(), stderr.ToString(), string.Join(' ', args));
    }

    /// <summary>Tries until the guest's SSH server admits the key (it boots meanwhile); the command's output.</summary>
    private static async Task<string> WaitForSshAsync(Marketplace m, string cli, string home, Guid id, string key, params string[] command)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var run = await SshAsync(m, cli, home, id, key, command);
            if (run.ExitCode == 0)
                return run.Stdout;
            if (watch.Elapsed > Boot)
                throw new TimeoutException($"ssh through the tunnel did not succeed within {Boot.TotalSeconds} s ({run.ExitCode}): {run.Stderr}");
            await Task.Delay(1000);
        }
    }

    private static async Task<HttpClient> ApiAsync(Marketplace m, string user, string password)
    {
        var http = new HttpClient { BaseAddress = new Uri(m.Url) };
        var login = await http.PostAsJsonAsync("/api/v1/sessions", new LoginRequest(user, password));
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            (await login.Content.ReadFromJsonAsync<SessionResponse>(JsonSerializerOptions.Web))!.Token);
        return http;
    }

    private static async Task<string> NewKeyAsync(string dir, string name)
    {
        var path = Path.Combine(dir, name);
        var psi = new ProcessStartInfo("ssh-keygen") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-q", "-t", "ed25519", "-N", "", "-C", $"{name}@e2e", "-f", path })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        await p.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        Assert.True(p.ExitCode == 0, $"ssh-keygen failed: {await p.StandardError.ReadToEndAsync()}");
        return path;
    }
}
