using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Virtuoso.Contracts.Api;
using Virtuoso.EndToEnd.Tests.Support;
using Xunit.Abstractions;

namespace Virtuoso.EndToEnd.Tests.Hosts;

/// <summary>
/// Issue 19 point 2, as far as this machine allows (no systemd can run in a chroot, and no test may reach the Debian mirror):
/// a fresh Debian 12 root directory (<c>scripts/lib.sh</c> build_install_root, made by mmdebstrap with the packages the
/// scripts would apt-get, which they are told to skip) gets the front-end from <c>scripts/install-frontend.sh --root</c>;
/// the front-end is started chrooted exactly as its unit says (user, environment file, working directory, command); a provider
/// adds a host without a secret and runs the printed install command, chrooted, in the same root; the agent is started as its
/// unit says; the host comes online, a buyer stores and starts a machine on it (QEMU from the root), and the token is spent.
/// </summary>
[Collection(RealQemu.Name)]
public sealed class InstallJourneyTests(ITestOutputHelper output)
{
    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;
    /// <summary>The PATH systemd gives a service (systemd.exec(5), "Environment variables in spawned processes").</summary>
    private const string SystemdPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    [Fact]
    public async Task FrontEndAndAgent_InstalledByTheirScripts_IntoAFreshDebianRoot_RunAsTheirUnitsSay()
    {
        var tar = Environment.GetEnvironmentVariable("VIRTUOSO_INSTALL_ROOT");
        Assert.True(tar is { Length: > 0 } && File.Exists(tar), "VIRTUOSO_INSTALL_ROOT must name the Debian root tar (./test makes it with scripts/lib.sh build_install_root)");
        Assert.True(Repo.GuestImageBuilt, $"the guest image is not built in {Repo.Images} (./test builds it)");
        var dir = Directory.CreateTempSubdirectory("vt-e2e-install-").FullName;
        var root = Path.Combine(dir, "root");
        Directory.CreateDirectory(root);
        var mounts = new List<string>();
        var processes = new List<ServiceProcess>();
        try
        {
            await RunAsync("tar", ["-xf", tar!, "-C", root]);
            foreach (var (what, type, target) in new[] { ("proc", "proc", "proc"), ("sysfs", "sysfs", "sys") })
            {
                await RunAsync("mount", ["-t", type, what, Path.Combine(root, target)]);
                mounts.Add(Path.Combine(root, target));
            }
            await RunAsync("mount", ["--bind", "/dev", Path.Combine(root, "dev")]);
            mounts.Add(Path.Combine(root, "dev"));

            // The front-end, by its install script, into the root.
            var (fePort, agentPort, vmmpPort, feVmmpPort) = (FreePort(), FreePort(), FreePort(), FreePort());
            var install = await RunAsync(Path.Combine(Repo.Root, "scripts", "install-frontend.sh"),
                ["--root", root, "--no-packages", "--address", "127.0.0.1", "--port", fePort.ToString()], Path.Combine(dir, "install-frontend.log"));
            Assert.Contains("nothing was started", install);
            foreach (var file in new[] { "opt/virtuoso/frontend/virtuoso-frontend", "opt/virtuoso/agent-package/virtuoso-agent-linux-x64.tar.gz",
                         "etc/systemd/system/virtuoso-frontend.service", "etc/systemd/system/multi-user.target.wants/virtuoso-frontend.service",
                         "var/lib/virtuoso/images/linux-busybox/image.json" })
                Assert.True(File.Exists(Path.Combine(root, file)), $"the install left no /{file}");
            Assert.Contains("virtuoso:", await File.ReadAllTextAsync(Path.Combine(root, "etc", "passwd")));
            // What an operator would edit in the one configuration file for this machine: loopback hosts, the VMMP port, a quick
            // monitor, the demo's opening credit.
            var envFile = Path.Combine(root, "etc", "virtuoso", "frontend.env");
            var settings = (await File.ReadAllTextAsync(envFile)).Replace("Virtuoso__OpeningCredit=0", "Virtuoso__OpeningCredit=1000")
                .Replace("Virtuoso__VmmpListen=0.0.0.0:7100", $"Virtuoso__VmmpListen=127.0.0.1:{feVmmpPort}");
            await File.WriteAllTextAsync(envFile, settings + "Virtuoso__AllowPrivateHostAddresses=true\nVirtuoso__HostMonitorIntervalSeconds=1\n");

            var unit = Unit(await File.ReadAllTextAsync(Path.Combine(root, "etc", "systemd", "system", "virtuoso-frontend.service")));
            Assert.Equal(("virtuoso", "/etc/virtuoso/frontend.env", "/opt/virtuoso/frontend"), (unit["User"], unit["EnvironmentFile"], unit["WorkingDirectory"]));
            var frontEnd = ServiceProcess.StartProgram("chroot", ["--userspec=virtuoso:virtuoso", root, "/usr/bin/env", "-i", "-C", unit["WorkingDirectory"],
                .. EnvironmentLines(await File.ReadAllTextAsync(envFile)), "HOME=/var/lib/virtuoso/frontend", SystemdPath, unit["ExecStart"]],
                new Dictionary<string, string>(), Path.Combine(dir, "frontend.log"));
            processes.Add(frontEnd);
            var url = $"http://127.0.0.1:{fePort}";
            await frontEnd.WaitHealthyAsync(url + "/healthz", TimeSpan.FromSeconds(60));

            // A provider adds a host without a secret and gets the one command.
            var provider = await SessionAsync(url, "install-provider", "provider");
            var added = await Ok<HostResponse>(await provider.PostAsJsonAsync("/api/v1/hosts", new AddHostRequest("chrooted", "127.0.0.1", agentPort, "x86_64",
                4000, 1000, 0.00001m, 2048, 128, 0.00001m, 3600, 20000, 1000, 0.1m, 30, "1 Gbit/s", null, "127.0.0.1", "42000-42099"), Json));
            var command = added.Join!.Command;
            Assert.StartsWith($"curl -fsSL {url}/install/agent.sh | bash -s -- --join vj_", command);

            // The command, run as root on the "host" (this root), as printed, with the options this machine needs.
            var joined = await RunAsync("chroot", [root, "/bin/bash", "-c", command + $" --no-packages --listen 127.0.0.1 --vmmp-port {vmmpPort} " +
                "--forward-address 127.0.0.1 --agent-args \"--accelerator tcg --cgroup-parent off --private-networks off\""], Path.Combine(dir, "install-agent.log"));
            Assert.Contains("joined as host 'chrooted'", joined);
            Assert.Contains("systemd is not running here", joined);
            // The host's forwarded range is kept from the kernel's outgoing connections (applied at the host's next boot here).
            Assert.Equal("net.ipv4.ip_local_reserved_ports = 42000-42099\n", await File.ReadAllTextAsync(Path.Combine(root, "etc", "sysctl.d", "60-virtuoso.conf")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(root, "etc", "virtuoso", "agent.secret")));
            Assert.True(File.Exists(Path.Combine(root, "etc", "systemd", "system", "multi-user.target.wants", "virtuoso-agent.service")));
            var agentUnit = Unit(await File.ReadAllTextAsync(Path.Combine(root, "etc", "systemd", "system", "virtuoso-agent.service")));
            Assert.Equal(("/etc/virtuoso/agent.conf", "/opt/virtuoso/agent/virtuoso-agent $VIRTUOSO_AGENT_ARGS", "process"),
                (agentUnit["EnvironmentFile"], agentUnit["ExecStart"], agentUnit["KillMode"]));
            var conf = EnvironmentLines(await File.ReadAllTextAsync(Path.Combine(root, "etc", "virtuoso", "agent.conf"))).Single();
            var args = conf["VIRTUOSO_AGENT_ARGS=".Length..].Trim('"').Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(["--name", "chrooted", "--urls", $"https://127.0.0.1:{agentPort}"], args[..4]);
            // Issue 20: the agent's key was made on the host (readable by root only) and its certificate came with the join.
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(root, "etc", "virtuoso", "agent.key")));
            Assert.Contains("--tls-cert /etc/virtuoso/agent.crt --tls-key /etc/virtuoso/agent.key --tls-ca /etc/virtuoso/ca.crt", string.Join(' ', args));

            // The token is spent: the same command again is refused (and says why).
            var again = await RunAsync("chroot", [root, "/bin/bash", "-c", command + " --no-packages --no-start"], Path.Combine(dir, "install-agent-again.log"), expectSuccess: false);
            Assert.Contains("the marketplace refused (HTTP 401 invalid-join-token)", again);

            // The agent, as its unit says; the host comes online.
            var agent = ServiceProcess.StartProgram("chroot", [root, "/usr/bin/env", "-i", SystemdPath, "/opt/virtuoso/agent/virtuoso-agent", .. args],
                new Dictionary<string, string>(), Path.Combine(dir, "agent.log"));
            processes.Add(agent);
            await agent.WaitHealthyAsync($"https://127.0.0.1:{agentPort}/v1/health", TimeSpan.FromSeconds(60));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            HostResponse host;
            while (!(host = await Ok<HostResponse>(await provider.GetAsync("/api/v1/hosts/chrooted"))).Online)
            {
                Assert.True(DateTime.UtcNow < deadline, $"the host never came online: {host.LastFailureMessage}; agent log:\n{agent.Tail()}");
                await Task.Delay(500);
            }
            Assert.Null(host.JoinPendingUntil);

            // A buyer stores and starts a machine there: the image travels from the installed front-end, QEMU runs from the root.
            var buyer = await SessionAsync(url, "install-buyer", "buyer");
            var machine = await Ok<MachineResponse>(await buyer.PostAsJsonAsync("/api/v1/machines",
                new RegisterRequest("linux-busybox", "installed", null, null, null, null, null, 30m, 10m), Json));
            await Ok<MachineResponse>(await buyer.PostAsJsonAsync($"/api/v1/machines/{machine.Id}/store", new StoreRequest("chrooted"), Json));
            var started = await Ok<MachineResponse>(await buyer.PostAsync($"/api/v1/machines/{machine.Id}/start", null));
            Assert.Equal("running", started.State);
            Assert.True(Directory.Exists(Path.Combine(root, "var", "lib", "virtuoso", "agent", "machines", machine.Id.ToString())));
            Assert.Equal("stopped", (await Ok<MachineResponse>(await buyer.PostAsync($"/api/v1/machines/{machine.Id}/stop", null))).State);
            output.WriteLine($"installed and joined in {dir}");
        }
        finally
        {
            foreach (var p in processes) await p.DisposeAsync();
            var machines = Path.Combine(root, "var", "lib", "virtuoso", "agent", "machines"); // never search the root: /proc is mounted in it
            foreach (var pid in Directory.Exists(machines) ? Directory.GetFiles(machines, "qemu.pid", SearchOption.AllDirectories) : [])
                try { Process.GetProcessById(int.Parse(File.ReadAllText(pid).Trim())).Kill(); } catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException) { }
            foreach (var m in Enumerable.Reverse(mounts)) await RunAsync("umount", ["-l", m], expectSuccess: false);
            if (mounts.Count == 0 || !File.Exists(Path.Combine(root, "proc", "self", "status"))) Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The [Service] and [Unit] keys of a systemd unit file (continuation lines joined).</summary>
    private static Dictionary<string, string> Unit(string text) =>
        text.Replace("\\\n", " ").Split('\n').Where(l => l.Contains('=') && !l.StartsWith('#')).Select(l => l.Split('=', 2))
            .GroupBy(kv => kv[0].Trim()).ToDictionary(g => g.Key, g => g.Last()[1].Trim());

    /// <summary>KEY=VALUE lines of an environment file, comments and blanks left out.</summary>
    private static List<string> EnvironmentLines(string text) =>
        [.. text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#') && l.Contains('='))];

    private async Task<HttpClient> SessionAsync(string url, string username, string type)
    {
        var http = new HttpClient { BaseAddress = new Uri(url) };
        await Ok<JsonElement>(await http.PostAsJsonAsync("/api/v1/accounts", new SignupRequest(username, "install-password-1", $"{username}@example.org", type), Json));
        var session = await Ok<SessionResponse>(await http.PostAsJsonAsync("/api/v1/sessions", new LoginRequest(username, "install-password-1"), Json));
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", session.Token);
        return http;
    }

    private static async Task<T> Ok<T>(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {body}");
        return JsonSerializer.Deserialize<T>(body, Json)!;
    }

    private async Task<string> RunAsync(string file, IEnumerable<string> args, string? log = null, bool expectSuccess = true)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        var text = await stdout + await stderr;
        if (log is not null) await File.WriteAllTextAsync(log, text);
        if (expectSuccess) Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', psi.ArgumentList)} exited {p.ExitCode}:\n{text}");
        else if (log is not null) output.WriteLine(text);
        return text;
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
