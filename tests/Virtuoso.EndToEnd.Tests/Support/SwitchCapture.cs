using System.Diagnostics;
using System.Text;

namespace Virtuoso.EndToEnd.Tests.Support;

/// <summary>
/// Issue 20: <c>tcpdump</c> on the virtual switch (<see cref="VirtualNetwork"/>'s <c>br0</c>), in three files, one per
/// kind of link: agent ↔ agent (transfers, RSYNC), front-end ↔ agent VMMP (every port of the front-end's address but
/// the agents' control port and the front-end's web port), and front-end ↔ agent HTTP (the agents' control API and the
/// front-end's image downloads). A test then looks in each for what must never cross readable.
/// </summary>
internal sealed class SwitchCapture : IDisposable
{
    public sealed record Link(string Name, string File, Process Tcpdump);

    private readonly List<Link> _links;

    private SwitchCapture(List<Link> links) => _links = links;

    /// <param name="agentPort">The agents' control API port (the same in every namespace).</param>
    /// <param name="frontEndPort">The front-end's web port (agents fetch images from it).</param>
    public static async Task<SwitchCapture> StartAsync(VirtualNetwork net, string directory, string agentA, string agentB, int agentPort, int frontEndPort)
    {
        var (a, b, root) = (net.Hosts[agentA].Ip, net.Hosts[agentB].Ip, net.RootIp);
        var filters = new Dictionary<string, string>
        {
            ["agent-agent"] = $"tcp and host {a} and host {b}",
            ["vmmp"] = $"tcp and host {root} and not port {agentPort} and not port {frontEndPort}",
            ["frontend-agent-http"] = $"tcp and host {root} and (port {agentPort} or port {frontEndPort})",
        };
        List<Link> links = [];
        try
        {
            foreach (var (name, filter) in filters)
            {
                var file = Path.Combine(directory, $"capture-{name}.pcap");
                var psi = new ProcessStartInfo(net.SwitchExecPrefix[0]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
                foreach (var argument in net.SwitchExecPrefix.Skip(1).Concat(["tcpdump", "-i", "br0", "-n", "-U", "-s", "0", "-w", file, filter]))
                    psi.ArgumentList.Add(argument);
                var process = Process.Start(psi) ?? throw new IOException("cannot start tcpdump (./test installs it)");
                var ready = new TaskCompletionSource();
                process.ErrorDataReceived += (_, e) => { if (e.Data?.Contains("listening on", StringComparison.Ordinal) == true) ready.TrySetResult(); };
                process.BeginErrorReadLine();
                links.Add(new Link(name, file, process));
                await ready.Task.WaitAsync(TimeSpan.FromSeconds(10));
            }
            return new SwitchCapture(links);
        }
        catch
        {
            new SwitchCapture(links).Dispose();
            throw;
        }
    }

    /// <summary>Stops every capture (SIGINT flushes its file) and returns each link's bytes by name.</summary>
    public async Task<Dictionary<string, byte[]>> StopAsync()
    {
        var captured = new Dictionary<string, byte[]>();
        foreach (var link in _links)
        {
            if (!link.Tcpdump.HasExited)
            {
                // tcpdump runs under `ip netns exec`, which execs it: the pid is tcpdump's.
                using var interrupt = Process.Start("kill", $"-INT {link.Tcpdump.Id}");
                await interrupt.WaitForExitAsync();
            }
            await link.Tcpdump.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            captured[link.Name] = await File.ReadAllBytesAsync(link.File);
        }
        return captured;
    }

    /// <summary>What of <paramref name="secrets"/> (name → text) appears in <paramref name="capture"/>, by name.</summary>
    public static IEnumerable<string> Leaks(byte[] capture, IReadOnlyDictionary<string, string> secrets) =>
        secrets.Where(s => capture.AsSpan().IndexOf(Encoding.ASCII.GetBytes(s.Value)) >= 0).Select(s => s.Key);

    public void Dispose()
    {
        foreach (var link in _links)
        {
            if (!link.Tcpdump.HasExited)
            {
                link.Tcpdump.Kill(entireProcessTree: true);
                link.Tcpdump.WaitForExit(5000);
            }
            link.Tcpdump.Dispose();
        }
    }
}
