using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace Virtuoso.Agent;

/// <summary>How the agent picks QEMU's accelerator (design §2: KVM only when a probe boot proves it works).</summary>
internal enum AcceleratorMode { Auto, Tcg, Kvm }

/// <summary>
/// The agent's settings, read once from ASP.NET configuration so that command-line flags
/// (<c>--name alpha</c>, <c>--Name alpha</c>) and environment variables both work. See README.md for the flags.
/// </summary>
internal sealed record AgentOptions
{
    public required string Name { get; init; }
    /// <summary>Absolute path of the directory that holds <c>machines/</c>, <c>images/</c> and <c>events.log</c>.</summary>
    public required string DataDirectory { get; init; }
    /// <summary>Absolute path of the directory of preconfigured base images (one subfolder per image), or null.</summary>
    public string? ImagesDirectory { get; init; }
    public required string Secret { get; init; }
    public AcceleratorMode Accelerator { get; init; } = AcceleratorMode.Auto;
    /// <summary>How long a graceful power-off may take before QEMU is told to quit (design §5).</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Limit for one QMP call, and for QEMU to come up after launch.</summary>
    public TimeSpan QmpTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Limit for saving or loading a machine's memory state (suspend, resume).</summary>
    public TimeSpan SaveTimeout { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>Limit for the KVM probe boot.</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(12);
    public string QemuPath { get; init; } = "qemu-system-x86_64";
    public string QemuImgPath { get; init; } = "qemu-img";
    /// <summary>Debian's <c>genisoimage</c>, which makes the machines' cloud-init seed drives.</summary>
    public string GenIsoImagePath { get; init; } = "genisoimage";
    /// <summary>The address QEMU binds the ports forwarded to guests on (<see cref="Contracts.Agent.MachineCommand.Forwards"/>).</summary>
    public IPAddress ForwardAddress { get; init; } = IPAddress.Loopback;
    /// <summary>The cores this host's machines share (design §12: a machine gets speed ÷ total speed × cores); the
    /// processors the agent may run on unless <c>--cores</c> says fewer.</summary>
    public int Cores { get; init; } = Environment.ProcessorCount;
    /// <summary>The cgroup under which each machine's cgroup is made, in every hierarchy; "off" runs machines unlimited.</summary>
    public string CgroupParent { get; init; } = "virtuoso";
    /// <summary>Kernel to boot for the KVM probe; null to take one from the images directory or /boot.</summary>
    public string? ProbeKernel { get; init; }
    /// <summary>How long a console session's VNC password admits a new connection (design §7); a connection made
    /// within it lasts until it is closed or a newer session takes over.</summary>
    public TimeSpan ConsoleWindow { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>First VNC display number tried for a machine's console (port 5900 + display), on 127.0.0.1.</summary>
    public int VncBaseDisplay { get; init; } = 10;
    /// <summary>The IP address of the control API (the host of the first <c>--urls</c> entry); the VMMP server listens there too.</summary>
    public IPAddress ListenAddress { get; init; } = IPAddress.Loopback;
    /// <summary>TCP port of the VMMP server (design §6.1); 0 picks a free one, reported by /v1/health.</summary>
    public int VmmpPort { get; init; } = 7101;
    /// <summary>Issue 20: the VMMP listener holds at most this many connections at once (<c>--vmmp-max-connections</c>).</summary>
    public int VmmpMaxConnections { get; init; } = 32;
    /// <summary>Issue 20: ... and at most this many from one peer address (<c>--vmmp-max-per-peer</c>). A newcomer evicts the
    /// oldest connection that has not yet proven its sender, so strangers' idle sockets never keep the front-end out.</summary>
    public int VmmpMaxPerPeer { get; init; } = 8;
    /// <summary>Issue 20: a VMMP peer must send its first line (AUTH and the message) within this (<c>--vmmp-first-line-timeout</c>).</summary>
    public TimeSpan VmmpFirstLineTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Issue 20: no VMMP connection lives longer (<c>--vmmp-connection-lifetime</c>). The front-end's exchanges
    /// (QUERY → RESULTS, REQ → close) take milliseconds and at most its 10 s VMMP timeout; the copy itself goes over the
    /// transfer routes or rsync, never over this connection.</summary>
    public TimeSpan VmmpConnectionLifetime { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Issue 20: at most this many refused VMMP lines per peer address and minute reach <c>events.log</c> and the
    /// log (<c>--vmmp-log-refusals</c>); the rest are counted in one summary line.</summary>
    public int VmmpLogRefusalsPerMinute { get; init; } = 10;
    /// <summary>How often a destination sends HEARTBEAT to the front-end while it fetches a machine (design §6.2).</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Issue 16: whether machines get the private NIC their commands ask for (bridges, VXLAN, nftables on this
    /// host's network namespace). Off: <see cref="Contracts.Agent.MachineCommand.Network"/> is ignored, for several
    /// agents sharing one namespace (their devices' names would clash).</summary>
    public bool PrivateNetworks { get; init; } = true;
    /// <summary>Issue 20: this host's certificate from the marketplace's authority and the authority itself
    /// (<c>--tls-cert</c>, <c>--tls-key</c>, <c>--tls-ca</c>, PEM files); null: no TLS (tests and old set-ups only).</summary>
    public AgentTls? Tls { get; init; }
    /// <summary>
    /// Issue 20 (and 19 point 3): the token a metrics scraper presents for <c>/metrics</c> alone (<c>--metrics-token-file</c>),
    /// as <c>Authorization: Bearer</c>, without the front-end's certificate, so Prometheus can scrape an agent that serves
    /// TLS. It opens nothing else; it must not be the host secret. Null: <c>/metrics</c> is the front-end's, like every control call.
    /// </summary>
    public string? MetricsToken { get; init; }
    /// <summary>Issue 20: the marketplace an agent renews its certificate from (<c>--renew-from URL</c>, <see cref="Security.CertificateRenewal"/>); null: renewed by hand.</summary>
    public Uri? RenewFrom { get; init; }
    /// <summary>The <c>--tls-key</c> and <c>--tls-ca</c> files, which a renewal writes beside <c>--tls-cert</c>.</summary>
    public string? TlsKeyFile { get; init; }
    public string? TlsAuthorityFile { get; init; }

    /// <summary>
    /// Fault tests only (--crash-at VERB:POINT, e.g. <c>start:after-vmm</c>): the agent kills itself with SIGKILL at that
    /// point of that command, so the end-to-end fault matrix can crash it mid-action deterministically (issue 13).
    /// </summary>
    public string? CrashAt { get; init; }

    public Core.Migration.VmmpLimits VmmpLimits => new(VmmpMaxConnections, VmmpMaxPerPeer);

    public const string SecretEnvironmentVariable = "VIRTUOSO_AGENT_SECRET";

    // Unix socket paths are limited to 107 bytes (sun_path); the longest one the agent makes is
    // <data>/machines/<36-character id>/suspend.sock.
    private const int MaxSocketPathBytes = 107;
    internal static readonly int SocketPathOverhead = "/machines/".Length + 36 + "/suspend.sock".Length;

    /// <summary>Reads and checks the settings. Returns a one-line reason when the agent must not start.</summary>
    public static (AgentOptions? Options, string? Error) Load(IConfiguration config)
    {
        var secret = ReadSecret(config, out var secretError);
        if (secret is null)
            return (null, secretError);

        var data = Path.GetFullPath(config["data"] ?? Path.Combine(".virtuoso", "agent"));
        if (Encoding.UTF8.GetByteCount(data) + SocketPathOverhead > MaxSocketPathBytes)
            return (null, $"--data {data} is too long: QEMU's unix sockets under it would exceed {MaxSocketPathBytes} bytes; use a shorter path");

        var images = config["images"] is { Length: > 0 } i ? Path.GetFullPath(i) : null;
        if (images is not null && !Directory.Exists(images))
            return (null, $"--images {images} does not exist");

        AcceleratorMode? parsed = (config["accelerator"] ?? "auto").ToLowerInvariant() switch
        {
            "auto" => AcceleratorMode.Auto,
            "tcg" => AcceleratorMode.Tcg,
            "kvm" => AcceleratorMode.Kvm,
            _ => null,
        };
        if (parsed is not { } accel)
            return (null, $"--accelerator must be tcg, kvm or auto, not '{config["accelerator"]}'");

        var options = new AgentOptions
        {
            Name = config["name"] is { Length: > 0 } n ? n : Environment.MachineName,
            DataDirectory = data,
            ImagesDirectory = images,
            Secret = secret,
            Accelerator = accel,
            QemuPath = config["qemu"] ?? "qemu-system-x86_64",
            QemuImgPath = config["qemu-img"] ?? "qemu-img",
            GenIsoImagePath = config["genisoimage"] ?? "genisoimage",
            ProbeKernel = config["probe-kernel"] is { Length: > 0 } k ? Path.GetFullPath(k) : null,
            CrashAt = config["crash-at"] is { Length: > 0 } crash ? crash : null,
        };
        foreach (var (key, apply) in new (string, Func<AgentOptions, TimeSpan, AgentOptions>)[]
                 {
                     ("stop-timeout", (o, t) => o with { StopTimeout = t }),
                     ("qmp-timeout", (o, t) => o with { QmpTimeout = t }),
                     ("save-timeout", (o, t) => o with { SaveTimeout = t }),
                     ("probe-timeout", (o, t) => o with { ProbeTimeout = t }),
                     ("console-window", (o, t) => o with { ConsoleWindow = t }),
                     ("heartbeat-interval", (o, t) => o with { HeartbeatInterval = t }),
                     ("vmmp-first-line-timeout", (o, t) => o with { VmmpFirstLineTimeout = t }),
                     ("vmmp-connection-lifetime", (o, t) => o with { VmmpConnectionLifetime = t }),
                 })
        {
            if (config[key] is not { } text)
                continue;
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0 || seconds > 86400)
                return (null, $"--{key} must be a number of seconds between 0 and 86400, not '{text}'");
            options = apply(options, TimeSpan.FromSeconds(seconds));
        }
        foreach (var (key, apply) in new (string, Func<AgentOptions, int, AgentOptions>)[]
                 {
                     ("vmmp-max-connections", (o, n) => o with { VmmpMaxConnections = n }),
                     ("vmmp-max-per-peer", (o, n) => o with { VmmpMaxPerPeer = n }),
                     ("vmmp-log-refusals", (o, n) => o with { VmmpLogRefusalsPerMinute = n }),
                 })
        {
            if (config[key] is not { } text)
                continue;
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 1 || count > 100_000)
                return (null, $"--{key} must be a whole number from 1 to 100000, not '{text}'");
            options = apply(options, count);
        }
        if (options.VmmpLimits.Check() is { } badLimits)
            return (null, $"--vmmp-max-per-peer {options.VmmpMaxPerPeer}, --vmmp-max-connections {options.VmmpMaxConnections}: {badLimits}");
        if (config["vnc-display"] is { } display)
        {
            if (!int.TryParse(display, NumberStyles.None, CultureInfo.InvariantCulture, out var d) || d > 59000)
                return (null, $"--vnc-display must be a display number between 0 and 59000, not '{display}'");
            options = options with { VncBaseDisplay = d };
        }
        if (config["vmmp-port"] is { } vmmpPort)
        {
            if (!int.TryParse(vmmpPort, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p > 65535)
                return (null, $"--vmmp-port must be a TCP port between 0 and 65535 (0: any free one), not '{vmmpPort}'");
            options = options with { VmmpPort = p };
        }
        if (config["cores"] is { } cores)
        {
            if (!int.TryParse(cores, NumberStyles.None, CultureInfo.InvariantCulture, out var c) || c < 1 || c > Environment.ProcessorCount)
                return (null, $"--cores must be a whole number from 1 to this host's {Environment.ProcessorCount} processors, not '{cores}'");
            options = options with { Cores = c };
        }
        if (config["cgroup-parent"] is { } parent)
        {
            if (!System.Text.RegularExpressions.Regex.IsMatch(parent, @"\A[A-Za-z0-9_.-]{1,64}\z") || parent is "." or "..")
                return (null, $"--cgroup-parent must be one cgroup name (letters, digits, '.', '-', '_'), or 'off', not '{parent}'");
            options = options with { CgroupParent = parent };
        }
        if (config["forward-address"] is { } forward)
        {
            if (!IPAddress.TryParse(forward, out var f) || f.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
                return (null, $"--forward-address must be an IPv4 address (QEMU's user-mode network forwards IPv4), not '{forward}'");
            options = options with { ForwardAddress = f };
        }
        if (config["private-networks"] is { } privateNetworks)
        {
            if (privateNetworks is not ("on" or "off"))
                return (null, $"--private-networks must be on or off, not '{privateNetworks}'");
            options = options with { PrivateNetworks = privateNetworks == "on" };
        }
        if (config["metrics-token-file"] is { Length: > 0 } metricsFile)
        {
            string token;
            try { token = File.ReadAllText(metricsFile).Trim(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return (null, $"cannot read --metrics-token-file {metricsFile}: {e.Message}");
            }
            if (token.Length < 16)
                return (null, $"--metrics-token-file {metricsFile} must hold a token of at least 16 characters (openssl rand -hex 16)");
            if (token == options.Secret)
                return (null, $"--metrics-token-file {metricsFile} holds the host secret: a scraper's token must be another, it opens /metrics only");
            options = options with { MetricsToken = token };
        }
        var (tls, tlsError) = AgentTls.Load(config, options.Name);
        if (tlsError is not null)
            return (null, tlsError);
        options = options with { Tls = tls, TlsKeyFile = tls is null ? null : config["tls-key"], TlsAuthorityFile = tls is null ? null : config["tls-ca"] };
        if (config["renew-from"] is { Length: > 0 } renewFrom)
        {
            if (tls is null)
                return (null, "--renew-from renews this host's certificate: it needs --tls-cert, --tls-key and --tls-ca");
            if (!Uri.TryCreate(renewFrom.TrimEnd('/'), UriKind.Absolute, out var market) || market.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(market.Query))
                return (null, $"--renew-from must be the marketplace's https:// (or http://) address, not '{renewFrom}'");
            options = options with { RenewFrom = market };
        }
        if (config["urls"] is { Length: > 0 } urls)
        {
            var scheme = tls is null ? "http" : "https";
            if (ListenAddressOf(urls) is not { } address)
                return (null, $"--urls {urls}: the first address must be {scheme}://IP:PORT (or localhost, *, +) for the VMMP server to listen beside it");
            // Issue 20: with a certificate the agent serves HTTPS only (the front-end calls it over TLS); without one, HTTP only.
            if (urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .FirstOrDefault(u => !u.StartsWith(scheme + "://", StringComparison.OrdinalIgnoreCase)) is { } other)
                return (null, tls is null
                    ? $"--urls {urls}: {other} is not http://: an agent serves https:// only with its certificate (--tls-cert, --tls-key, --tls-ca)"
                    : $"--urls {urls}: {other} is not https://: an agent with a certificate (--tls-cert) serves HTTPS only, https://IP:PORT");
            options = options with { ListenAddress = address };
        }
        return (options, null);
    }

    /// <summary>The IP of the first entry of an ASP.NET <c>urls</c> list: an IP literal, <c>localhost</c> (loopback), or <c>*</c>/<c>+</c>/<c>0.0.0.0</c> (any).</summary>
    public static IPAddress? ListenAddressOf(string urls)
    {
        var first = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        if (first is null)
            return null;
        var wildcard = first.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
        if (!Uri.TryCreate(wildcard, UriKind.Absolute, out var uri))
            return null;
        if (uri.IsLoopback && uri.HostNameType == UriHostNameType.Dns)
            return IPAddress.Loopback;
        return IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) ? ip : null;
    }

    private static string? ReadSecret(IConfiguration config, out string? error)
    {
        error = null;
        if (config["secret-file"] is { Length: > 0 } file)
        {
            string text;
            try
            {
                text = File.ReadAllText(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error = $"cannot read --secret-file {file}: {e.Message}";
                return null;
            }
            if (text.Trim() is { Length: > 0 } fromFile)
                return fromFile;
            error = $"--secret-file {file} is empty";
            return null;
        }
        if (config[SecretEnvironmentVariable] is { } env && env.Trim() is { Length: > 0 } fromEnv)
            return fromEnv;
        error = $"no host secret: pass --secret-file FILE or set {SecretEnvironmentVariable}";
        return null;
    }
}
