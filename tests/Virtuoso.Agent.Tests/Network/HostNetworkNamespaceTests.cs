using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Virtuoso.Agent.Network;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Tests.Network;

/// <summary>
/// The private networks' real commands, run inside a network namespace made for the test and deleted after it (the
/// host's own namespace is never touched): the kernel and nft accept what the agent asks, and the agent's DHCP answers a
/// real client (busybox udhcpc) through a real AF_PACKET socket.
/// </summary>
public sealed class HostNetworkNamespaceTests : IDisposable
{
    private static readonly Guid A = Guid.Parse("0a1b2c3d-4e5f-4a5b-8c7d-0123456789ab");
    private static readonly Guid B = Guid.Parse("bbbbbbbb-0000-4000-8000-000000000001");
    private readonly string _ns = "vtest-" + Guid.NewGuid().ToString("N")[..8];
    private readonly bool _made;

    public HostNetworkNamespaceTests()
    {
        if (Environment.UserName != "root")
            return;
        Run("ip", "netns", "add", _ns);
        _made = true;
    }

    public void Dispose()
    {
        if (_made)
            Run("ip", "netns", "del", _ns);
    }

    private static string Run(params string[] args)
    {
        var psi = new ProcessStartInfo(args[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args.Skip(1))
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{string.Join(' ', args)}: {error}");
        return output;
    }

    private string InNs(params string[] args) => Run(["ip", "netns", "exec", _ns, .. args]);

    [RootFact]
    public async Task BridgeVxlanTapAndTables_AreMadeForReal_Repeatably_AndRemovedWithTheLastMachine()
    {
        var network = new HostNetwork(new ProcessCommandRunner(["ip", "netns", "exec", _ns]),
            (tap, lease) => DhcpResponder.Open(tap, lease, NullLogger.Instance, $"/var/run/netns/{_ns}"), NullLogger<HostNetwork>.Instance);

        await network.AttachAsync(A, "02:00:00:00:00:0a", new PrivateNetwork(42, "10.128.0.5", 24, ["192.0.2.2", "192.0.2.3"]));
        await network.AttachAsync(B, "02:00:00:00:00:0b", new PrivateNetwork(42, "10.128.0.6", 24, ["192.0.2.2", "192.0.2.3"]));
        // After an agent restart: everything exists already.
        await network.AttachAsync(A, "02:00:00:00:00:0a", new PrivateNetwork(42, "10.128.0.5", 24, ["192.0.2.2", "192.0.2.3"]), existingTap: true);
        await network.SetPeersAsync(new AgentNetworks([new NetworkPeers(42, ["192.0.2.3", "192.0.2.4"])], ["192.0.2.1"]));

        var vxlan = Run("ip", "-n", _ns, "-d", "link", "show", "dev", "vx-2a");
        Assert.Contains("mtu 1450", vxlan);
        Assert.Contains("master vbr-2a", vxlan);
        Assert.Contains("vxlan id 42", vxlan);
        Assert.Contains("dstport 4789", vxlan);
        var tap = Run("ip", "-n", _ns, "-d", "link", "show", "dev", "vt-0a1b2c3d4e5f");
        Assert.Contains("mtu 1450", tap);
        Assert.Contains("master vbr-2a", tap);
        Assert.Contains("tun type tap", tap);
        Assert.Contains("mtu 1450", Run("ip", "-n", _ns, "link", "show", "dev", "vbr-2a"));
        Assert.DoesNotContain("inet", Run("ip", "-n", _ns, "addr", "show", "dev", "vbr-2a"));
        var fdb = Run("bridge", "-n", _ns, "fdb", "show", "dev", "vx-2a");
        Assert.Equal(["192.0.2.3", "192.0.2.4"], NetworkPlan.FloodRemotes(fdb));
        var rules = InNs("nft", "list", "ruleset");
        Assert.Contains("iifname \"vt-0a1b2c3d4e5f\" jump port_vt_0a1b2c3d4e5f", rules);
        Assert.Contains("ether saddr != 02:00:00:00:00:0b drop", rules);
        Assert.Contains("ip saddr != 10.128.0.6 drop", rules);
        Assert.Contains("ip saddr { 192.0.2.1, 192.0.2.3, 192.0.2.4 } udp dport 4789 accept", rules);

        await network.DetachAsync(A);
        await network.DetachAsync(B);

        var links = Run("ip", "-n", _ns, "-o", "link", "show");
        Assert.DoesNotContain("vbr-2a", links);
        Assert.DoesNotContain("vx-2a", links);
        Assert.DoesNotContain("vt-", links);
        Assert.DoesNotContain("virtuoso", InNs("nft", "list", "ruleset"));
    }

    [RootFact]
    public async Task Dhcp_AnswersARealClient_WithTheAddressMaskAndMtu()
    {
        // A veth pair stands in for the tap: the client's frames arrive on the responder's end as a guest's arrive on a tap.
        InNs("ip", "link", "add", "r0", "type", "veth", "peer", "name", "c0");
        InNs("ip", "link", "set", "dev", "c0", "address", "02:00:00:00:00:0a");
        InNs("ip", "link", "set", "dev", "r0", "up");
        InNs("ip", "link", "set", "dev", "c0", "up");
        var script = Path.Combine(Path.GetTempPath(), $"udhcpc-{_ns}.sh");
        File.WriteAllText(script, "#!/bin/sh\n[ \"$1\" = bound ] && echo \"lease ip=$ip subnet=$subnet mtu=$mtu router=$router dns=$dns serverid=$serverid lease=$lease\"\nexit 0\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            using var responder = DhcpResponder.Open("r0", new DhcpLease("02:00:00:00:00:0a", IPAddress.Parse("10.128.0.5"), 24),
                NullLogger.Instance, $"/var/run/netns/{_ns}");

            var output = await Task.Run(() => InNs("busybox", "udhcpc", "-i", "c0", "-f", "-q", "-n", "-t", "5", "-T", "1", "-s", script));

            Assert.Contains("lease ip=10.128.0.5 subnet=255.255.255.0 mtu=1450 router= dns= serverid=10.128.0.1 lease=4294967295", output);
        }
        finally
        {
            File.Delete(script);
        }
    }
}

/// <summary>A test that needs root (network namespaces, bridges, nft): ./test runs as root on Debian 12.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (Environment.UserName != "root")
            Skip = "needs root to make a network namespace";
    }
}
