using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Virtuoso.Agent.Tests.Support;

/// <summary>Where the real QEMU and the guest image are, for the end-to-end tests of the agent.</summary>
internal static class RealQemu
{
    public static bool Installed { get; } =
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, "qemu-system-x86_64")));

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>The folder that holds the guest images built by guest/build-image.sh.</summary>
    public static string ImagesDirectory => Path.Combine(RepositoryRoot, "build", "images");

    public static bool GuestImageBuilt => File.Exists(Path.Combine(ImagesDirectory, "linux-busybox", "image.json"));

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Virtuoso.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"no Virtuoso.sln above {AppContext.BaseDirectory}");
    }
}

/// <summary>A test that needs real QEMU; skipped, with the reason, only where it is not installed.</summary>
public sealed class QemuFactAttribute : FactAttribute
{
    public QemuFactAttribute()
    {
        if (!RealQemu.Installed)
            Skip = "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86 qemu-utils)";
    }
}

/// <summary>A test that boots the linux-busybox guest; skipped, with the reason, until guest/build-image.sh has built it.</summary>
public sealed class GuestImageFactAttribute : FactAttribute
{
    public GuestImageFactAttribute()
    {
        if (!RealQemu.Installed)
            Skip = "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86 qemu-utils)";
        else if (!RealQemu.GuestImageBuilt)
            Skip = $"the guest image is not built: run guest/build-image.sh (expected {RealQemu.ImagesDirectory}/linux-busybox/image.json)";
    }
}

/// <summary>Real-QEMU tests run one at a time: TCG boots are CPU-bound and the machines here have two cores.</summary>
[CollectionDefinition(Name)]
public sealed class QemuCollection
{
    public const string Name = "real QEMU";
}

/// <summary>The guest's first serial port, as a person at the console would use it.</summary>
internal static class SerialConsole
{
    /// <summary>Types one line into the machine's serial socket.</summary>
    public static async Task TypeAsync(string machineDirectory, string line)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(Path.Combine(machineDirectory, "serial.sock")));
        await socket.SendAsync(Encoding.ASCII.GetBytes(line + "\n"));
        // Give QEMU a moment to take the bytes before the connection goes.
        await Task.Delay(200);
    }

    /// <summary>Waits until <paramref name="read"/> holds <paramref name="text"/> at least <paramref name="times"/> times.</summary>
    public static async Task<string> WaitForAsync(Func<Task<string>> read, string text, TimeSpan timeout, int times = 1)
    {
        var watch = Stopwatch.StartNew();
        string log;
        while (Count(log = await read(), text) < times)
        {
            if (watch.Elapsed > timeout)
                throw new TimeoutException($"no '{text}' (x{times}) on the serial console within {timeout.TotalSeconds} s; it shows:\n{Tail(log)}");
            await Task.Delay(250);
        }
        return log;
    }

    /// <summary>Types a command until the line <paramref name="expected"/> appears after what was there before (the shell may not read input yet).</summary>
    public static async Task RunAsync(string machineDirectory, Func<Task<string>> read, string command, string expected, TimeSpan timeout)
    {
        var before = (await read()).Length;
        var watch = Stopwatch.StartNew();
        while (true)
        {
            await TypeAsync(machineDirectory, command);
            var typed = Stopwatch.StartNew();
            while (typed.Elapsed < TimeSpan.FromSeconds(5))
            {
                var log = await read();
                var lines = log[Math.Min(before, log.Length)..].Split('\n').Select(l => l.Trim('\r', ' '));
                if (lines.Contains(expected))
                    return;
                await Task.Delay(200);
            }
            if (watch.Elapsed > timeout)
                throw new TimeoutException($"typed '{command}' but no line '{expected}' within {timeout.TotalSeconds} s; the console shows:\n{Tail(await read())}");
        }
    }

    private static int Count(string log, string text)
    {
        var n = 0;
        for (var i = log.IndexOf(text, StringComparison.Ordinal); i >= 0; i = log.IndexOf(text, i + text.Length, StringComparison.Ordinal))
            n++;
        return n;
    }

    private static string Tail(string log) => log.Length > 2000 ? log[^2000..] : log;
}
