using System.Globalization;
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
    /// <summary>Kernel to boot for the KVM probe; null to take one from the images directory or /boot.</summary>
    public string? ProbeKernel { get; init; }
    /// <summary>How long a console session's VNC password admits a new connection (design §7); a connection made
    /// within it lasts until it is closed or a newer session takes over.</summary>
    public TimeSpan ConsoleWindow { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>First VNC display number tried for a machine's console (port 5900 + display), on 127.0.0.1.</summary>
    public int VncBaseDisplay { get; init; } = 10;

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
            ProbeKernel = config["probe-kernel"] is { Length: > 0 } k ? Path.GetFullPath(k) : null,
        };
        foreach (var (key, apply) in new (string, Func<AgentOptions, TimeSpan, AgentOptions>)[]
                 {
                     ("stop-timeout", (o, t) => o with { StopTimeout = t }),
                     ("qmp-timeout", (o, t) => o with { QmpTimeout = t }),
                     ("save-timeout", (o, t) => o with { SaveTimeout = t }),
                     ("probe-timeout", (o, t) => o with { ProbeTimeout = t }),
                     ("console-window", (o, t) => o with { ConsoleWindow = t }),
                 })
        {
            if (config[key] is not { } text)
                continue;
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0 || seconds > 86400)
                return (null, $"--{key} must be a number of seconds between 0 and 86400, not '{text}'");
            options = apply(options, TimeSpan.FromSeconds(seconds));
        }
        if (config["vnc-display"] is { } display)
        {
            if (!int.TryParse(display, NumberStyles.None, CultureInfo.InvariantCulture, out var d) || d > 59000)
                return (null, $"--vnc-display must be a display number between 0 and 59000, not '{display}'");
            options = options with { VncBaseDisplay = d };
        }
        return (options, null);
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
