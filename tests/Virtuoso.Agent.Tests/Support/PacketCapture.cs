using System.Diagnostics;
using System.Text;

namespace Virtuoso.Agent.Tests.Support;

/// <summary>
/// Issue 20: <c>tcpdump</c> writing every packet of some TCP ports on an interface to a file, so a test can look for what
/// must never cross the network readable. Searches the raw capture (headers and payloads alike): a secret found there
/// crossed in the clear.
/// </summary>
internal sealed class PacketCapture : IDisposable
{
    private readonly Process _tcpdump;
    private readonly string _file;

    private PacketCapture(Process tcpdump, string file) => (_tcpdump, _file) = (tcpdump, file);

    public static bool Available => File.Exists("/usr/bin/tcpdump") || File.Exists("/usr/sbin/tcpdump");

    public static async Task<PacketCapture> StartAsync(string directory, string @interface, IEnumerable<int> ports)
    {
        var file = Path.Combine(directory, $"capture-{Guid.NewGuid():N}.pcap");
        var start = new ProcessStartInfo(File.Exists("/usr/bin/tcpdump") ? "/usr/bin/tcpdump" : "/usr/sbin/tcpdump")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-i", @interface, "-n", "-U", "-s", "0", "-w", file, string.Join(" or ", ports.Select(p => $"tcp port {p}")) })
            start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new IOException("cannot start tcpdump");
        // tcpdump says "listening on ..." once it captures.
        var ready = new TaskCompletionSource();
        process.ErrorDataReceived += (_, e) => { if (e.Data?.Contains("listening on", StringComparison.Ordinal) == true) ready.TrySetResult(); };
        process.BeginErrorReadLine();
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(10));
        return new PacketCapture(process, file);
    }

    /// <summary>Stops capturing (SIGINT flushes the file) and returns every byte captured.</summary>
    public async Task<byte[]> StopAsync()
    {
        Kill("INT");
        await _tcpdump.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return await File.ReadAllBytesAsync(_file);
    }

    /// <summary>Whether <paramref name="capture"/> holds <paramref name="text"/> (ASCII).</summary>
    public static bool Contains(byte[] capture, string text) => Contains(capture, Encoding.ASCII.GetBytes(text));

    public static bool Contains(byte[] capture, ReadOnlySpan<byte> bytes) => capture.AsSpan().IndexOf(bytes) >= 0;

    /// <summary>
    /// Whether any 32-byte piece of <paramref name="block"/> (at each multiple of 32) is in the capture: a block sent in the
    /// clear over TCP is cut into segments, but most of its pieces land whole in one.
    /// </summary>
    public static bool ContainsPieceOf(byte[] capture, byte[] block)
    {
        for (var at = 0; at + 32 <= block.Length; at += 32)
            if (Contains(capture, block.AsSpan(at, 32)))
                return true;
        return false;
    }

    private void Kill(string signal)
    {
        if (_tcpdump.HasExited)
            return;
        using var kill = Process.Start("kill", $"-{signal} {_tcpdump.Id}");
        kill.WaitForExit();
    }

    public void Dispose()
    {
        if (!_tcpdump.HasExited)
        {
            _tcpdump.Kill();
            _tcpdump.WaitForExit(5000);
        }
        _tcpdump.Dispose();
    }
}
