using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.EndToEnd.Tests.Support;

/// <summary>
/// A whole marketplace on this machine, from the build outputs: the front-end on a free port with its own
/// SQLite file, and one real agent per host (real QEMU under TCG), each with its own data directory and
/// secret. Driven through the real CLI (in-process, same code as ./virtuoso) and checked against the agents.
/// </summary>
internal sealed class Marketplace : IAsyncDisposable
{
    private readonly List<ServiceProcess> _processes = [];
    public string Dir { get; }
    public string Url { get; }
    public ServiceProcess FrontEnd { get; private set; }
    private Dictionary<string, string> _frontEndEnv = [];
    /// <summary>The front-end's SQLite database file.</summary>
    public string Database => Path.Combine(Dir, "fe", "virtuoso.db");
    public Dictionary<string, Agent> Agents { get; } = [];

    /// <summary>The network namespaces the agents run in, or null when they all share loopback.</summary>
    public VirtualNetwork? Network { get; private set; }

    /// <param name="ForwardAddress">Where its QEMUs bind the ports forwarded to guests (issue 14): on loopback, an address of
    /// 127.0.0.0/8 of its own, so that hosts of one test (and tests running side by side) never contend for a port.</param>
    public sealed record Agent(string Name, int Port, string Secret, string DataDir, ServiceProcess Process, string Ip = "127.0.0.1", string ForwardAddress = "127.0.0.1")
    {
        /// <summary>Issue 20: every agent of the harness serves HTTPS only; <see cref="AgentClient"/> calls it as the front-end does.</summary>
        public string Url => $"https://{Ip}:{Port}";
        /// <summary>Its key, certificate and the authority: agent.key, agent.crt, ca.crt.</summary>
        public string TlsDir => Path.Combine(DataDir, "tls");
        public string MachineDir(Guid id) => Path.Combine(DataDir, "machines", id.ToString("D"));
    }

    private Marketplace(string dir, string url, ServiceProcess frontEnd) { Dir = dir; Url = url; FrontEnd = frontEnd; _processes.Add(frontEnd); }

    public static Task<Marketplace> StartAsync(params string[] hosts) => StartAsync(60, hosts);

    /// <summary>
    /// Starts the front-end on this machine and each agent in its own network namespace of <paramref name="network"/>
    /// (design §2: agents on many hosts), so that agents reach each other and the front-end only through veth links
    /// the test can cut and shape. The marketplace owns nothing of the network; the caller disposes it afterwards.
    /// </summary>
    public static async Task<Marketplace> StartOnNetworkAsync(VirtualNetwork network, double billingIntervalSeconds, params string[] hosts)
    {
        var m = await StartFrontEndAsync(billingIntervalSeconds, $"{network.RootIp}:0", new Dictionary<string, string>
        {
            ["ListenToo"] = network.RootIp, // agents fetch base images from the front-end across the network (issue 15)
            // the fault tests break links and kill agents: notice a silent destination sooner than the default 10 s
            ["Virtuoso__MigrationHeartbeatTimeoutSeconds"] = "6",
            ["Virtuoso__MigrationCheckIntervalSeconds"] = "1",
        });
        m.Network = network;
        return await m.WithAgentsAsync(hosts);
    }

    /// <summary>Starts the front-end with a billing pass every <paramref name="billingIntervalSeconds"/>, and an agent per host.</summary>
    public static async Task<Marketplace> StartAsync(double billingIntervalSeconds, params string[] hosts) =>
        await (await StartFrontEndAsync(billingIntervalSeconds, "127.0.0.1:0", [])).WithAgentsAsync(hosts);

    /// <summary>
    /// As <see cref="StartAsync(double, string[])"/>, with front-end settings of the test's (environment variables) and
    /// arguments every agent of this marketplace is started with.
    /// </summary>
    public static async Task<Marketplace> StartAsync(double billingIntervalSeconds, Dictionary<string, string> frontEnd, string[] agentArgs, params string[] hosts)
    {
        var m = await StartFrontEndAsync(billingIntervalSeconds, "127.0.0.1:0", frontEnd);
        m._agentArgs = agentArgs;
        return await m.WithAgentsAsync(hosts);
    }

    private string[] _agentArgs = [];
    private string _urls = "";

    private async Task<Marketplace> WithAgentsAsync(string[] hosts)
    {
        try
        {
            foreach (var host in hosts) await StartAgentAsync(host);
            return this;
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Issue 19, production's shape: <paramref name="replicas"/> front-ends on one fresh PostgreSQL database (in the server
    /// of VIRTUOSO_TEST_POSTGRES, which ./test starts), each with a HOME of its own as on separate machines, behind HAProxy
    /// configured by scripts/lib.sh's <c>balancer_config</c> (as ./run --replicas is). <see cref="Url"/> is the balancer's.
    /// </summary>
    public static async Task<Marketplace> StartReplicatedAsync(int replicas, double billingIntervalSeconds, params string[] hosts)
    {
        var admin = Environment.GetEnvironmentVariable("VIRTUOSO_TEST_POSTGRES") is { Length: > 0 } a ? a
            : throw new InvalidOperationException("VIRTUOSO_TEST_POSTGRES is not set: ./test starts PostgreSQL for these tests (scripts/lib.sh start_postgres)");
        var database = "e2e_" + Guid.NewGuid().ToString("N")[..12];
        await using (var c = new Npgsql.NpgsqlConnection(admin))
        {
            await c.OpenAsync();
            await using var create = new Npgsql.NpgsqlCommand($"CREATE DATABASE {database}", c);
            await create.ExecuteNonQueryAsync();
        }
        var dir = Directory.CreateTempSubdirectory("vt-e2e-").FullName;
        var url = $"http://127.0.0.1:{ServiceProcess.FreePort()}";
        var ports = Enumerable.Range(0, replicas).Select(_ => ServiceProcess.FreePort()).ToList();
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(admin) { Database = database }.ConnectionString;
        ServiceProcess StartReplica(int i)
        {
            var env = FrontEndEnv(dir, billingIntervalSeconds, "127.0.0.1:0");
            env["VIRTUOSO_DATABASE"] = "postgres:" + connection;
            env["HOME"] = Directory.CreateDirectory(Path.Combine(dir, $"replica-{i + 1}")).FullName;
            env["Virtuoso__TrustedProxies"] = "127.0.0.1";
            env["Virtuoso__AgentFacingUrl"] = url; // agents fetch images through the balancer
            return ServiceProcess.Start(Repo.Dll("Virtuoso.FrontEnd", "virtuoso-frontend"), ["--urls", $"http://127.0.0.1:{ports[i]}"], env,
                Path.Combine(dir, $"frontend-{i + 1}.log"));
        }
        var first = StartReplica(0);
        var m = new Marketplace(dir, url, first) { _postgres = (admin, database) };
        try
        {
            await first.WaitHealthyAsync($"http://127.0.0.1:{ports[0]}/healthz", TimeSpan.FromSeconds(60)); // it migrates the database
            m.Replicas.Add(first);
            m.ReplicaUrls.AddRange(ports.Select(p => $"http://127.0.0.1:{p}"));
            for (var i = 1; i < replicas; i++)
            {
                var r = StartReplica(i);
                m._processes.Add(r);
                m.Replicas.Add(r);
            }
            for (var i = 1; i < replicas; i++) await m.Replicas[i].WaitHealthyAsync($"http://127.0.0.1:{ports[i]}/healthz", TimeSpan.FromSeconds(60));

            var config = Path.Combine(dir, "haproxy.cfg");
            var servers = string.Join(' ', ports.Select(p => $"127.0.0.1:{p}"));
            var psi = new System.Diagnostics.ProcessStartInfo("bash") { WorkingDirectory = Repo.Root };
            foreach (var arg in new[] { "-c", "source scripts/lib.sh && balancer_config \"$1\" \"$2\" \"$3\"", "_", config, url["http://".Length..], servers })
                psi.ArgumentList.Add(arg);
            using (var write = System.Diagnostics.Process.Start(psi)!)
            {
                await write.WaitForExitAsync();
                if (write.ExitCode != 0) throw new InvalidOperationException("balancer_config failed");
            }
            var balancer = ServiceProcess.StartProgram("haproxy", ["-f", config, "-db"], new Dictionary<string, string>(), Path.Combine(dir, "haproxy.log"));
            m._processes.Add(balancer);
            await balancer.WaitHealthyAsync(url + "/healthz", TimeSpan.FromSeconds(30));
            return await m.WithAgentsAsync(hosts);
        }
        catch
        {
            await m.DisposeAsync();
            throw;
        }
    }

    /// <summary>The front-end replicas behind the balancer (<see cref="StartReplicatedAsync"/>); empty otherwise.</summary>
    public List<ServiceProcess> Replicas { get; } = [];
    /// <summary>Each replica's own address (behind the balancer), in the order of <see cref="Replicas"/>.</summary>
    public List<string> ReplicaUrls { get; } = [];
    private (string Admin, string Database)? _postgres;

    /// <summary>Reads the replicated marketplace's PostgreSQL database.</summary>
    public async Task<List<T>> QueryPostgresAsync<T>(string sql, Func<System.Data.Common.DbDataReader, T> row)
    {
        var (admin, database) = _postgres ?? throw new InvalidOperationException("not a replicated marketplace");
        await using var c = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(admin) { Database = database }.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand(sql, c);
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync()) rows.Add(row(reader));
        return rows;
    }

    private static Dictionary<string, string> FrontEndEnv(string dir, double billingIntervalSeconds, string vmmpListen) => new()
    {
        ["VIRTUOSO_DATA"] = Path.Combine(dir, "fe"),
        ["Virtuoso__HostMonitorIntervalSeconds"] = "0.5",
        ["Virtuoso__PriceAverageIntervalSeconds"] = "2", // market estimates follow the hosts the test adds
        ["Virtuoso__VmmpListen"] = vmmpListen,
        ["Virtuoso__SignupsPerAddressPerHour"] = "0", // every test account signs up from 127.0.0.1
        ["Virtuoso__AllowPrivateHostAddresses"] = "true", // agents on loopback or in namespaces on 10.x
        ["VIRTUOSO_BILLING_INTERVAL"] = billingIntervalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Logging__LogLevel__Default"] = "Warning",
        // Issue 15: the front-end catalogues the images the agents would otherwise take from --images, and serves them.
        ["Virtuoso__ImagesDirectory"] = Repo.Images,
    };

    /// <param name="vmmpListen">Where the front-end's VMMP listener binds; agents learn it from each REQ.</param>
    private static async Task<Marketplace> StartFrontEndAsync(double billingIntervalSeconds, string vmmpListen, Dictionary<string, string> extra)
    {
        var dir = Directory.CreateTempSubdirectory("vt-e2e-").FullName;
        var port = ServiceProcess.FreePort();
        var url = $"http://127.0.0.1:{port}";
        var env = FrontEndEnv(dir, billingIntervalSeconds, vmmpListen);
        var urls = url;
        foreach (var (k, v) in extra)
        {
            if (k == "ListenToo")
            {
                urls = $"{url};http://{v}:{port}";
                env["Virtuoso__AgentFacingUrl"] = $"http://{v}:{port}";
            }
            else env[k] = v;
        }
        var fe = ServiceProcess.Start(Repo.Dll("Virtuoso.FrontEnd", "virtuoso-frontend"), ["--urls", urls], env, Path.Combine(dir, "frontend.log"));
        var m = new Marketplace(dir, url, fe) { _frontEndEnv = env, _urls = urls };
        try
        {
            await fe.WaitHealthyAsync(url + "/healthz", TimeSpan.FromSeconds(60));
            return m;
        }
        catch
        {
            await m.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills the front-end (SIGKILL: no shutdown code runs), then starts it again on the same port and data.</summary>
    public async Task KillFrontEndAsync() => await FrontEnd.StopAsync();

    /// <summary>
    /// Restarts the front-end with these settings changed from now on (a null value removes one), e.g. Virtuoso__CrashAt.
    /// </summary>
    public async Task RestartFrontEndAsync(IReadOnlyDictionary<string, string?> settings)
    {
        foreach (var (k, v) in settings)
            if (v is null) _frontEndEnv.Remove(k); else _frontEndEnv[k] = v;
        await RestartFrontEndAsync();
    }

    /// <summary>Waits until the front-end process has ended by itself (a crash point killed it).</summary>
    public async Task WaitFrontEndGoneAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!FrontEnd.HasExited)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the front-end did not die at its crash point; see {FrontEnd.LogFile}");
            await Task.Delay(50);
        }
    }

    public async Task RestartFrontEndAsync()
    {
        await FrontEnd.StopAsync();
        FrontEnd = ServiceProcess.Start(Repo.Dll("Virtuoso.FrontEnd", "virtuoso-frontend"), ["--urls", _urls], _frontEndEnv, Path.Combine(Dir, "frontend.log"));
        _processes.Add(FrontEnd);
        await FrontEnd.WaitHealthyAsync(Url + "/healthz", TimeSpan.FromSeconds(60));
    }

    /// <param name="extraArgs">More agent arguments, e.g. <c>--crash-at start:after-vmm</c>.</param>
    public async Task<Agent> StartAgentAsync(string name, params string[] extraArgs)
    {
        var ip = "127.0.0.1";
        IReadOnlyList<string>? prefix = null;
        if (Network is { } net)
        {
            ip = (net.Hosts.GetValueOrDefault(name) ?? net.AddHost(name)).Ip;
            prefix = net.ExecPrefix(name);
        }
        var port = Network is null ? ServiceProcess.FreePort() : 7001; // a namespace has every port to itself
        var data = Path.Combine(Dir, name);
        Directory.CreateDirectory(data);
        var secret = Agents.TryGetValue(name, out var old) ? old.Secret : Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        if (old is not null) port = old.Port;
        // Kept across a restart of the agent, as its machines' forwards are. In a namespace: the host's own address, which
        // the test (in the root namespace) reaches, as a buyer reaches a provider's host.
        var forward = old?.ForwardAddress ?? (Network is null ? $"127.{Random.Shared.Next(1, 255)}.{Random.Shared.Next(0, 256)}.{Random.Shared.Next(1, 255)}" : ip);
        string[] forwardArgs = _agentArgs.Concat(extraArgs).Contains("--forward-address") ? [] : ["--forward-address", forward];
        // Issue 16: private networks only for agents in namespaces of their own; agents sharing the root namespace would
        // share (and fight over) one set of bridges and VXLAN devices.
        string[] networkArgs = _agentArgs.Concat(extraArgs).Contains("--private-networks") ? [] : ["--private-networks", Network is null ? "off" : "on"];
        // "--no-images": a host given no images directory at all, which takes every base image from the front-end (issue 15).
        string[] imagesArgs = extraArgs.Contains("--no-images") ? [] : ["--images", Repo.Images];
        extraArgs = extraArgs.Where(a => a != "--no-images").ToArray();
        var secretFile = Path.Combine(data, "secret");
        await File.WriteAllTextAsync(secretFile, secret);
        var tls = await ProvisionalCertificateAsync(name, Path.Combine(data, "tls"));
        var p = ServiceProcess.Start(Repo.Dll("Virtuoso.Agent", "virtuoso-agent"),
            ["--name", name, "--urls", $"https://{ip}:{port}", "--data", data, .. imagesArgs, "--secret-file", secretFile, .. tls,
             "--accelerator", "tcg", "--stop-timeout", "20", "--vmmp-port", "0", .. forwardArgs, .. networkArgs, .. _agentArgs, .. extraArgs],
            new Dictionary<string, string> { ["Logging__LogLevel__Default"] = "Warning" }, Path.Combine(Dir, name + ".log"), prefix);
        _processes.Add(p);
        var agent = new Agent(name, port, secret, data, p, ip, forward);
        Agents[name] = agent;
        await p.WaitHealthyAsync(agent.Url + AgentRoutes.Health, TimeSpan.FromSeconds(60));
        return agent;
    }

    /// <summary>
    /// Signs up and logs in CLI user "p" as provider <paramref name="provider"/> and adds each host for the agent of that
    /// name: 10000 bogomips, 4096 MB, 20000 MB, prices low enough for any test bid, ten guest ports from the given one.
    /// </summary>
    public async Task ProviderWithHostsAsync(string provider, params (string Host, int FirstPort)[] hosts)
    {
        (await CliAsync("p", "signup", provider, "--password", "provider-pass", "--email", "p@example.com", "--provider")).Ok();
        (await CliAsync("p", "login", provider, "--password", "provider-pass")).Ok();
        foreach (var (host, first) in hosts)
        {
            var a = Agents[host];
            (await CliAsync("p", "host", "add", host, "--address", a.Ip, "--port", a.Port.ToString(CultureInfo.InvariantCulture), "--processor", "x86_64",
                "--speed", "10000", "--speed-unit", "1000", "--speed-price", "0.00001", "--memory", "4096", "--memory-unit", "4",
                "--memory-price", "0.00001", "--running-period", "3600", "--storage", "20000", "--storage-unit", "100",
                "--storage-price", "0.01", "--storage-period", "30", "--connect-speed", "1Gbps", "--secret", a.Secret,
                "--public-address", a.ForwardAddress, "--ports", $"{first}-{first + 9}")).Ok();
        }
    }

    /// <summary>
    /// Signs up and logs in CLI user "p" as <paramref name="provider"/> with hosts alpha and beta priced as the report's
    /// virt8 and virt13 (Figure 31): alpha $3/month and $2.448/hour for linux-busybox, beta $30/month and $0.3744/hour.
    /// </summary>
    public async Task ProviderWithReportHostsAsync(string provider)
    {
        (await CliAsync("p", "signup", provider, "--password", "provider-pass", "--email", "p@example.com", "--provider")).Ok();
        (await CliAsync("p", "login", provider, "--password", "provider-pass")).Ok();
        foreach (var (name, memoryPrice, storagePrice) in new[] { ("alpha", "0.00001", "0.01"), ("beta", "0.000001", "0.1") })
        {
            var a = Agents[name];
            (await CliAsync("p", "host", "add", name, "--address", "127.0.0.1", "--port", a.Port.ToString(CultureInfo.InvariantCulture), "--processor", "x86_64",
                "--speed", "10000", "--speed-unit", "1000", "--speed-price", "0.00001", "--memory", "4096", "--memory-unit", "4",
                "--memory-price", memoryPrice, "--running-period", "3600", "--storage", "20000", "--storage-unit", "100",
                "--storage-price", storagePrice, "--storage-period", "30", "--connect-speed", "1Gbps", "--secret", a.Secret)).Ok();
        }
    }

    /// <summary>Signs up and logs in CLI user "b" as buyer <paramref name="buyer"/>.</summary>
    public async Task BuyerAsync(string buyer)
    {
        (await CliAsync("b", "signup", buyer, "--password", "buyer-pass-1", "--email", "b@example.com", "--buyer")).Ok();
        (await CliAsync("b", "login", buyer, "--password", "buyer-pass-1")).Ok();
    }

    /// <summary>
    /// Runs the CLI in-process as a user whose credentials live in <paramref name="home"/>. Issue 20: a successful
    /// <c>host add NAME</c> of one of this marketplace's agents enrolls that agent (<see cref="EnrollAsync"/>), as its
    /// operator would with <c>virtuoso-agent enroll</c>, so the front-end reaches it over TLS.
    /// </summary>
    public async Task<CliResult> CliAsync(string home, params string[] args)
    {
        var result = await CliWithKeyAsync(home, null, args);
        if (result.ExitCode == 0 && args.Length > 2 && args[0] == "host" && args[1] == "add" && Agents.ContainsKey(args[2]) && args.Contains("--secret"))
        {
            await EnrollAsync(args[2]);
            await WaitOnlineAsync(home, args[2]);
        }
        return result;
    }

    /// <summary>
    /// Until the front-end has seen <paramref name="name"/> over TLS after its enrollment (its host monitor's next pass), as a
    /// provider would wait for "online" before offering the host: a test that stores on it at once would otherwise race the pass.
    /// </summary>
    private async Task WaitOnlineAsync(string home, string name)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var hosts = await CliWithKeyAsync(home, null, "--json", "hosts");
            if (hosts.ExitCode == 0 && JsonDocument.Parse(hosts.Stdout).RootElement.EnumerateArray()
                    .Any(h => h.GetProperty("name").GetString() == name && h.GetProperty("online").GetBoolean()))
                return;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"the front-end did not see host {name} online within 30 s of its enrollment: {hosts.Stdout}{hosts.Stderr}");
            await Task.Delay(200);
        }
    }

    // ---- issue 20: the agents' certificates ----

    private X509Certificate2? _authority;

    /// <summary>The marketplace's authority with its key, as the front-end keeps it in its database (made on its first start).</summary>
    public async Task<X509Certificate2> AuthorityAsync()
    {
        if (_authority is not null) return _authority;
        const string sql = "SELECT certificate, private_key FROM market_authority WHERE id = 1";
        (string Certificate, string Key) row;
        if (_postgres is not null)
            row = (await QueryPostgresAsync(sql, r => (r.GetString(0), r.GetString(1)))).Single();
        else
        {
            await using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Database};Mode=ReadOnly;Pooling=False");
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = sql;
            await using var reader = await cmd.ExecuteReaderAsync();
            if (!await reader.ReadAsync()) throw new InvalidOperationException("the front-end made no authority");
            row = (reader.GetString(0), reader.GetString(1));
        }
        using var loaded = X509Certificate2.CreateFromPem(row.Certificate, row.Key);
        return _authority = X509CertificateLoader.LoadPkcs12(loaded.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>
    /// The agent's TLS flags. On its first start an agent has no certificate the front-end knows yet (its host is added after),
    /// so it starts with one of the authority for its name made here, on its own key; <see cref="EnrollAsync"/> replaces it
    /// with the front-end's, on the same key, and the agent serves that one without a restart.
    /// </summary>
    private async Task<string[]> ProvisionalCertificateAsync(string name, string dir)
    {
        Directory.CreateDirectory(dir);
        string cert = Path.Combine(dir, "agent.crt"), key = Path.Combine(dir, "agent.key"), ca = Path.Combine(dir, "ca.crt");
        if (!File.Exists(cert))
        {
            var authority = await AuthorityAsync();
            using var made = MarketCertificates.IssueWithKey(authority, MarketIdentity.Host(name), DateTimeOffset.UtcNow, TimeSpan.FromDays(1));
            await File.WriteAllTextAsync(key, made.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
            File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            await File.WriteAllTextAsync(cert, made.ExportCertificatePem());
            await File.WriteAllTextAsync(ca, authority.ExportCertificatePem());
        }
        return ["--tls-cert", cert, "--tls-key", key, "--tls-ca", ca];
    }

    /// <summary>
    /// POST /api/v1/agents/certificate with the agent's secret and a request for its key (what <c>virtuoso-agent enroll</c>
    /// sends); writes the certificate and waits until the agent serves it.
    /// </summary>
    public async Task EnrollAsync(string name)
    {
        var a = Agents[name];
        using var key = System.Security.Cryptography.ECDsa.Create();
        key.ImportFromPem(await File.ReadAllTextAsync(Path.Combine(a.TlsDir, "agent.key")));
        var csr = new CertificateRequest(MarketCertificates.SubjectOf(MarketIdentity.Host(name)), key, System.Security.Cryptography.HashAlgorithmName.SHA256).CreateSigningRequestPem();
        using var http = new HttpClient { BaseAddress = new Uri(Url) };
        using var response = await http.PostAsJsonAsync("/api/v1/agents/certificate", new Virtuoso.Contracts.Api.EnrollRequest(name, a.Secret, csr));
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"enrolling {name}: {(int)response.StatusCode} {body}");
        var answer = JsonSerializer.Deserialize<Virtuoso.Contracts.Api.JoinResponse>(body, JsonSerializerOptions.Web)!;
        var file = Path.Combine(a.TlsDir, "agent.crt");
        await File.WriteAllTextAsync(file + ".new", answer.Certificate);
        File.Move(file + ".new", file, overwrite: true);
        using var expected = X509Certificate2.CreateFromPem(answer.Certificate!);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (await ServedSerialAsync(a) != MarketCertificates.SerialOf(expected))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"agent {name} did not serve its new certificate within 15 s; see {a.Process.LogFile}");
            await Task.Delay(200);
        }
    }

    private static async Task<string?> ServedSerialAsync(Agent a)
    {
        string? serial = null;
        using var http = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, c, _, _) => { serial = c is null ? null : c.GetSerialNumberString().ToLowerInvariant(); return true; } },
        }) { Timeout = TimeSpan.FromSeconds(2) };
        try { using var _ = await http.GetAsync(a.Url + AgentRoutes.Health); }
        catch (HttpRequestException) { }
        catch (TaskCanceledException) { }
        return serial;
    }

    /// <summary>
    /// A client of an agent as the front-end is: it shows a front-end certificate of the marketplace's authority and accepts
    /// only that host's certificate. Control calls still need the secret (Authorization), as from the front-end.
    /// </summary>
    public HttpClient AgentClient(string host, TimeSpan? timeout = null)
    {
        var authority = _authority ?? throw new InvalidOperationException("no agent started yet (the authority is read when the first one starts)");
        using var issued = MarketCertificates.IssueWithKey(authority, MarketIdentity.FrontEnd, DateTimeOffset.UtcNow, TimeSpan.FromDays(1));
        var mine = X509CertificateLoader.LoadPkcs12(issued.Export(X509ContentType.Pkcs12), null);
        return new HttpClient(new SocketsHttpHandler
        {
            SslOptions =
            {
                ClientCertificates = [mine],
                RemoteCertificateValidationCallback = (_, c, _, _) => c is X509Certificate2 shown &&
                    MarketCertificates.Verify(shown, authority, DateTimeOffset.UtcNow) == MarketIdentity.Host(host),
            },
        }) { Timeout = timeout ?? TimeSpan.FromSeconds(100) };
    }

    /// <summary>As <see cref="CliAsync(string, string[])"/>, with an API key in <c>VIRTUOSO_API_KEY</c> when <paramref name="apiKey"/> is given.</summary>
    public async Task<CliResult> CliWithKeyAsync(string home, string? apiKey, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var env = new Dictionary<string, string?> { ["VIRTUOSO_HOME"] = Path.Combine(Dir, "home-" + home), ["VIRTUOSO_SERVER"] = Url, ["VIRTUOSO_API_KEY"] = apiKey };
        var code = await Virtuoso.Cli.Cli.RunAsync(args, stdout, stderr, env);
        return new CliResult(code, stdout.ToString(), stderr.ToString(), string.Join(' ', args));
    }

    /// <summary>Asks an agent directly (with its secret) what it knows of a machine: the truth to compare versions with.</summary>
    public async Task<AgentMachine> AgentMachineAsync(string host, Guid id)
    {
        var a = Agents[host];
        using var http = AgentClient(host);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", a.Secret);
        return (await http.GetFromJsonAsync<AgentMachine>(a.Url + AgentRoutes.Machine(id), JsonSerializerOptions.Web))!;
    }

    /// <summary>The front-end's <c>/metrics</c> (issue 19), parsed; public by default.</summary>
    public async Task<Virtuoso.FrontEnd.Tests.Support.PrometheusText> FrontEndMetricsAsync()
    {
        using var http = new HttpClient { BaseAddress = new Uri(Url) };
        return await Virtuoso.FrontEnd.Tests.Support.PrometheusText.ScrapeAsync(http);
    }

    /// <summary>An agent's <c>/metrics</c> (issue 19), parsed; it needs the host secret (asserted: refused without it).</summary>
    public async Task<Virtuoso.FrontEnd.Tests.Support.PrometheusText> AgentMetricsAsync(string host)
    {
        var a = Agents[host];
        using var http = AgentClient(host);
        http.BaseAddress = new Uri(a.Url);
        using (var refused = await http.GetAsync("/metrics"))
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", a.Secret);
        return await Virtuoso.FrontEnd.Tests.Support.PrometheusText.ScrapeAsync(http);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _processes) await p.DisposeAsync();
        // QEMU outlives its agent on purpose; the test owns these machines, so stop them.
        foreach (var pidFile in Directory.EnumerateFiles(Dir, "qemu.pid", SearchOption.AllDirectories))
        {
            try
            {
                if (int.TryParse((await File.ReadAllTextAsync(pidFile)).Trim(), out var pid))
                    System.Diagnostics.Process.GetProcessById(pid).Kill();
            }
            catch (ArgumentException) { /* already gone */ }
            catch (InvalidOperationException) { /* already gone */ }
        }
        await RemoveCgroupsAsync(Dir);
        if (_postgres is var (admin, database))
        {
            await using var c = new Npgsql.NpgsqlConnection(admin);
            await c.OpenAsync();
            await using var drop = new Npgsql.NpgsqlCommand($"DROP DATABASE IF EXISTS {database} WITH (FORCE)", c);
            await drop.ExecuteNonQueryAsync();
        }
    }

    /// <summary>
    /// The cgroups the agents made for this marketplace's machines (issue 17), which the agents would have removed at a
    /// stop or delete: the QEMUs killed above leave them behind, empty. Any cgroup hierarchy, any parent name.
    /// </summary>
    internal static async Task RemoveCgroupsAsync(string dir)
    {
        if (!Directory.Exists(dir) || !Directory.Exists("/sys/fs/cgroup")) return;
        var ids = Directory.EnumerateDirectories(dir, "*", SearchOption.AllDirectories)
            .Select(Path.GetFileName).Where(n => Guid.TryParse(n, out _)).Distinct().ToList();
        if (ids.Count == 0) return;
        var parents = Directory.EnumerateDirectories("/sys/fs/cgroup").Prepend("/sys/fs/cgroup")
            .SelectMany(root => Directory.EnumerateDirectories(root, "virtuoso*")).ToList();
        foreach (var parent in parents)
            foreach (var id in ids)
            {
                var cgroup = Path.Combine(parent, id!);
                for (var attempt = 0; attempt < 20 && Directory.Exists(cgroup); attempt++)
                {
                    try { Directory.Delete(cgroup); }
                    catch (IOException) { await Task.Delay(50); } // a killed QEMU not yet reaped
                    catch (UnauthorizedAccessException) { break; }
                }
            }
    }
}

internal sealed record CliResult(int ExitCode, string Stdout, string Stderr, string Command)
{
    public JsonElement Json => JsonDocument.Parse(Stdout).RootElement;

    public CliResult Ok()
    {
        if (ExitCode != 0) throw new Xunit.Sdk.XunitException($"`virtuoso {Command}` failed ({ExitCode}): {Stderr}{Stdout}");
        return this;
    }
}
