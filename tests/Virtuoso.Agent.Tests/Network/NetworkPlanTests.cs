using System.Net;
using Virtuoso.Agent.Network;

namespace Virtuoso.Agent.Tests.Network;

public class NetworkPlanTests
{
    private static readonly Guid A = Guid.Parse("0a1b2c3d-4e5f-4a5b-8c7d-0123456789ab");
    private static readonly Guid B = Guid.Parse("bbbbbbbb-0000-4000-8000-000000000001");

    [Fact]
    public void FdbChanges_AddsTheMissingAndDeletesTheExtra()
    {
        var (add, remove) = NetworkPlan.FdbChanges(["192.0.2.1", "192.0.2.2"], ["192.0.2.2", "192.0.2.3", "192.0.2.3"]);

        Assert.Equal(["192.0.2.3"], add);
        Assert.Equal(["192.0.2.1"], remove);
        Assert.Equal((0, 0), (NetworkPlan.FdbChanges(["192.0.2.2"], ["192.0.2.2"]).Add.Count, NetworkPlan.FdbChanges(["192.0.2.2"], ["192.0.2.2"]).Remove.Count));
    }

    [Fact]
    public void FloodRemotes_ReadsTheAllZerosEntriesOnly()
    {
        const string show = """
            42:cd:9d:e7:26:30 master vbr-2a permanent
            00:00:00:00:00:00 dst 192.0.2.7 self permanent
            00:00:00:00:00:00 dst 192.0.2.9 self permanent
            0a:11:22:33:44:55 dst 192.0.2.7 self
            """;

        Assert.Equal(["192.0.2.7", "192.0.2.9"], NetworkPlan.FloodRemotes(show));
        Assert.Empty(NetworkPlan.FloodRemotes(""));
    }

    [Fact]
    public void LinkNames_ReadsIpOneLineOutput_WithoutThePeerSuffix()
    {
        const string show = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue\\    link/loopback 00:00:00:00:00:00\n" +
                            "7: vx-2a: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 master vbr-2a\\    link/ether 42:cd:9d:e7:26:30\n" +
                            "9: veth0@if8: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500\\    link/ether 0e:00:00:00:00:01\n";

        Assert.Equal(new HashSet<string> { "lo", "vx-2a", "veth0" }, NetworkPlan.LinkNames(show));
    }

    [Fact]
    public void Ruleset_FiltersEachPluggedPort_AndAcceptsVxlanOnlyFromTheHosts()
    {
        NicPort[] ports =
        [
            new(A, "02:00:00:00:00:0a", new PrivateNetworkState(42, IPAddress.Parse("10.128.0.5"), 24)),
            new(B, "02:00:00:00:00:0b", null), // unplugged: on no bridge, no rule
        ];

        var text = NetworkPlan.Ruleset(ports, ["192.0.2.2", "192.0.2.1", "192.0.2.2"]);

        Assert.Equal("""
            table bridge virtuoso {}
            delete table bridge virtuoso
            table inet virtuoso {}
            delete table inet virtuoso
            table bridge virtuoso {
              chain forward {
                type filter hook forward priority -200; policy accept;
                iifname "vt-0a1b2c3d4e5f" jump port_vt_0a1b2c3d4e5f
                iifname "vt-*" drop
              }
              chain input {
                type filter hook input priority -200; policy accept;
                iifname "vt-*" drop
                iifname "vx-*" drop
              }
              chain port_vt_0a1b2c3d4e5f {
                ether saddr != 02:00:00:00:00:0a drop
                ether type ip udp dport 67 drop
                ether type ip udp sport 67 drop
                ether type ip ip saddr != 10.128.0.5 drop
                ether type arp arp saddr ether != 02:00:00:00:00:0a drop
                ether type arp arp saddr ip != { 10.128.0.5, 0.0.0.0 } drop
                ether type != { ip, arp, 0x8035 } drop
                accept
              }
            }
            table inet virtuoso {
              chain input {
                type filter hook input priority -200; policy accept;
                iifname "vt-*" drop
                iifname "vbr-*" drop
                ip saddr { 192.0.2.1, 192.0.2.2 } udp dport 4789 accept
                udp dport 4789 drop
              }
              chain forward {
                type filter hook forward priority -200; policy accept;
                iifname "vt-*" drop
                iifname "vbr-*" oifname != "vbr-*" drop
              }
            }

            """.ReplaceLineEndings("\n"), text);
        Assert.DoesNotContain("vt-bbbbbbbb0000", text);
    }

    [Fact]
    public void Ruleset_WithoutPorts_OnlyDeletesTheTables()
    {
        var text = NetworkPlan.Ruleset([], ["192.0.2.1"]);

        Assert.Equal("table bridge virtuoso {}\ndelete table bridge virtuoso\ntable inet virtuoso {}\ndelete table inet virtuoso\n", text);
    }

    [Fact]
    public void Ruleset_WithOnlyAnUnpluggedPort_LetsNothingOfItThrough()
    {
        var text = NetworkPlan.Ruleset([new(B, "02:00:00:00:00:0b", null)], ["192.0.2.1"]);

        Assert.DoesNotContain("jump", text);
        Assert.Contains("  chain forward {\n    type filter hook forward priority -200; policy accept;\n    iifname \"vt-*\" drop\n  }", text);
        Assert.Contains("    iifname \"vt-*\" drop\n    iifname \"vbr-*\" drop\n", text);
    }

    [Fact]
    public void Ruleset_WithoutKnownHosts_DropsAllVxlan()
    {
        var text = NetworkPlan.Ruleset([new(A, "02:00:00:00:00:0a", new PrivateNetworkState(42, IPAddress.Parse("10.128.0.5"), 24))], []);

        Assert.DoesNotContain("accept\n", text.Split("table inet virtuoso {\n")[^1].Replace("policy accept;", "", StringComparison.Ordinal));
        Assert.Contains("    udp dport 4789 drop\n", text);
    }
}
