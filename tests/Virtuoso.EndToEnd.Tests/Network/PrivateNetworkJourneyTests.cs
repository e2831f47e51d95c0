using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Virtuoso.Contracts.Agent;
using Virtuoso.EndToEnd.Tests.Support;
using Xunit.Abstractions;

namespace Virtuoso.EndToEnd.Tests.Network;

/// <summary>
/// Private networks across hosts on real parts (issue 16, design §9): two hosts, each an agent in a network namespace of
/// its own, joined only by the test's virtual switch; real QEMU guests (linux-busybox) looked into over SSH with the
/// buyer's key. Three machines of one buyer on both hosts reach each other by private address, on one host through its
/// bridge and across hosts through VXLAN; a second buyer with the same subnet, on the same hosts, reaches none of them;
/// a guest that forges its MAC or its address is cut off; a VXLAN packet from outside the marketplace's hosts is
/// dropped; a machine that migrates keeps its address, and its peers reach it again after it resumes (the gap is
/// printed). One journey, so that the four guests boot once.
/// </summary>
[Collection(RealQemu.Name)]
public sealed class PrivateNetworkJourneyTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _keys = Directory.CreateTempSubdirectory("vt-e2e-keys-").FullName;

    public void Dispose() => Directory.Delete(_keys, recursive: true);

    [Fact]
    public async Task MachinesOfOneBuyer_ReachEachOtherAcrossHosts_OthersDoNot_ForgersAreCutOff_AndAMigratedMachineIsReachedAgain()
    {
        Assert.True(Repo.GuestImageBuilt, $"the guest image is not built in {Repo.Images}: run guest/build-image.sh (./test does)");
        using var net = VirtualNetwork.Create();
        await using var m = await Marketplace.StartOnNetworkAsync(net, 3600, "alpha", "beta");
        await m.ProviderWithHostsAsync("net-provider", ("alpha", 41000), ("beta", 41100));
        var key = await KeyAsync("laptop");

        // Buyer one ("b"): three machines, two on alpha and one on beta, on its default network.
        await m.BuyerAsync("net-buyer");
        (await m.CliAsync("b", "keys", "add", "laptop", "--file", key + ".pub")).Ok();
        var a1 = await StoredAsync(m, "b", "a1", "alpha");
        var a2 = await StoredAsync(m, "b", "a2", "alpha");
        var a3 = await StoredAsync(m, "b", "a3", "beta");
        // Buyer two ("c"): a network with the same subnet (its own default), a machine on alpha beside a1 and a2.
        (await m.CliAsync("c", "signup", "other-buyer", "--password", "buyer-pass-2", "--email", "c@example.com", "--buyer")).Ok();
        (await m.CliAsync("c", "login", "other-buyer", "--password", "buyer-pass-2")).Ok();
        (await m.CliAsync("c", "keys", "add", "laptop", "--file", key + ".pub")).Ok();
        var c1 = await StoredAsync(m, "c", "c1", "alpha");

        var networks = (await m.CliAsync("b", "--json", "networks")).Ok().Json.EnumerateArray().ToList();
        Assert.Equal("10.128.0.0/24", networks.Single(n => n.GetProperty("name").GetString() == "default").GetProperty("subnet").GetString());
        Assert.Equal("10.128.0.0/24", (await m.CliAsync("c", "--json", "networks")).Ok().Json.EnumerateArray().Single().GetProperty("subnet").GetString());

        foreach (var (home, id) in new[] { ("b", a1), ("b", a2), ("b", a3), ("c", c1) })
            (await m.CliAsync(home, "start", id)).Ok();
        var addr = new Dictionary<string, string>();
        var ssh = new Dictionary<string, (string Address, int Port)>();
        foreach (var (home, name, id) in new[] { ("b", "a1", a1), ("b", "a2", a2), ("b", "a3", a3), ("c", "c1", c1) })
        {
            var json = (await m.CliAsync(home, "--json", "machine", id)).Ok().Json;
            Assert.Equal("default", json.GetProperty("network").GetString());
            addr[name] = json.GetProperty("privateAddress").GetString()!;
            ssh[name] = (json.GetProperty("ssh").GetProperty("address").GetString()!, json.GetProperty("ssh").GetProperty("port").GetInt32());
        }
        Assert.Equal(3, new[] { addr["a1"], addr["a2"], addr["a3"] }.Distinct().Count());
        Assert.All(addr.Values, a => Assert.StartsWith("10.128.0.", a));

        // Each guest got its private address by DHCP on its second NIC (the first is QEMU's user-mode NAT: SSH came through it).
        foreach (var name in addr.Keys)
        {
            var shown = await WaitGuestAsync(key, ssh[name], $"ip -o -4 addr show | grep -F ' {addr[name]}/24' && echo has-address", TimeSpan.FromSeconds(60));
            Assert.Contains("has-address", shown);
        }

        // One buyer's machines reach each other: on one host (bridge) and across hosts (VXLAN), both ways.
        await AssertPingsAsync(key, ssh["a1"], addr["a2"], true, "a1 → a2, same host");
        await AssertPingsAsync(key, ssh["a1"], addr["a3"], true, "a1 → a3, across the overlay");
        await AssertPingsAsync(key, ssh["a3"], addr["a1"], true, "a3 → a1, across the overlay");
        // Broadcast and ARP work across hosts: a3 learned a1's MAC (the NIC's MAC is the machine's).
        var a1Mac = (await m.CliAsync("b", "--json", "machine", a1)).Ok().Json.GetProperty("mac").GetString()!;
        Assert.Contains(a1Mac, (await Guest(key, ssh["a3"], "ip neigh")).ToLowerInvariant());
        // Nothing fragments silently: the guest's NIC has the overlay's MTU (1500 less VXLAN's 50 bytes), and a packet
        // of exactly that size crosses the overlay.
        Assert.Equal("1450", (await Guest(key, ssh["a1"], $"cat /sys/class/net/{await PrivateNicAsync(key, ssh["a1"], addr["a1"])}/mtu")).Trim());
        await AssertPingsAsync(key, ssh["a1"], addr["a3"], true, "a1 → a3, 1450-byte packets", "-s 1422");

        // The other buyer, same subnet, same hosts: reaches none of them (c1's own address may equal one of theirs).
        foreach (var target in new[] { "a1", "a2", "a3" }.Where(t => addr[t] != addr["c1"]))
            await AssertPingsAsync(key, ssh["c1"], addr[target], false, $"c1 (another buyer) → {target}");

        // A guest that forges its MAC is cut off, and reaches its peers again with its own.
        var nic = await PrivateNicAsync(key, ssh["a2"], addr["a2"]);
        await Guest(key, ssh["a2"], $"ip link set {nic} down; ip link set {nic} address 02:de:ad:be:ef:01; ip link set {nic} up; ip neigh flush dev {nic}");
        await AssertPingsAsync(key, ssh["a2"], addr["a1"], false, "a2 with a forged MAC → a1");
        await Guest(key, ssh["a2"], $"ip link set {nic} down; ip link set {nic} address {(await m.CliAsync("b", "--json", "machine", a2)).Ok().Json.GetProperty("mac").GetString()}; ip link set {nic} up");
        await AssertPingsAsync(key, ssh["a2"], addr["a1"], true, "a2 with its own MAC again → a1");
        // ... and so is one that forges its address.
        var forged = addr.Values.Contains("10.128.0.200") ? "10.128.0.201" : "10.128.0.200";
        await Guest(key, ssh["a2"], $"ip addr add {forged}/24 dev {nic}");
        await AssertPingsAsync(key, ssh["a2"], addr["a1"], false, "a2 from a forged address → a1", $"-I {forged}");
        await Guest(key, ssh["a2"], $"ip addr del {forged}/24 dev {nic}");

        // The host takes nothing from its guests' network: a guest that routes the host's own address through its private
        // NIC gets no answer (the bridge has no address, and what arrives on it is not delivered to the host).
        var alphaIp = m.Agents["alpha"].Ip;
        await Guest(key, ssh["a2"], $"ip route add {alphaIp}/32 dev {nic}");
        await AssertPingsAsync(key, ssh["a2"], alphaIp, false, "a2 → its host alpha through the private network");
        // Not even ARP: Linux answers ARP for any of its addresses on any interface (the replies to the pings would have
        // left by the host's default route, so the lost pings alone prove little).
        var neighbour = await Guest(key, ssh["a2"], $"ip neigh show {alphaIp} dev {nic}");
        Assert.DoesNotContain("lladdr", neighbour);
        await Guest(key, ssh["a2"], $"ip route del {alphaIp}/32 dev {nic}");

        // A VXLAN packet for the buyer's network from outside the marketplace's hosts (the test's own address) is dropped
        // before alpha decapsulates it; the same packet from beta is taken.
        var vni = (await m.AgentMachineAsync("alpha", Guid.Parse(a1))).Nic?.Vni ?? throw new Xunit.Sdk.XunitException("alpha reports no private NIC for a1");
        var vx = $"vx-{vni:x}";
        var before = VxlanReceived(net, "alpha", vx);
        await SendVxlanAsync(null, m.Agents["alpha"].Ip, vni);
        await Task.Delay(500);
        Assert.Equal(before, VxlanReceived(net, "alpha", vx));
        await SendVxlanAsync(net.Hosts["beta"].Namespace, m.Agents["alpha"].Ip, vni);
        await Task.Delay(500);
        Assert.True(VxlanReceived(net, "alpha", vx) > before, "the same packet from beta, a host of the marketplace, was not taken");

        // Migration keeps the address: a3 moves from beta to alpha; a1 reaches it again after it resumes there.
        (await m.CliAsync("b", "suspend", a3)).Ok();
        (await m.CliAsync("b", "migrate", a3, "--host", "alpha")).Ok();
        var moved = (await m.CliAsync("b", "--json", "machine", a3)).Ok().Json;
        Assert.Equal(("alpha", addr["a3"]), (moved.GetProperty("host").GetString(), moved.GetProperty("privateAddress").GetString()));
        (await m.CliAsync("b", "resume", a3)).Ok();
        var resumed = Stopwatch.StartNew();
        // One ping a second for up to 30 s from a1, until a3 answers: the gap after the resume, to a second.
        var reached = await Guest(key, ssh["a1"], $"ping -c 1 -w 30 {addr["a3"]} >/dev/null && echo reached", TimeSpan.FromSeconds(60));
        Assert.Contains("reached", reached);
        output.WriteLine($"a1 reached a3 again {resumed.Elapsed.TotalSeconds:0.0} s after a3's resume returned (migrated beta → alpha)");
        await AssertPingsAsync(key, ssh["a2"], addr["a3"], true, "a2 → a3 after the migration (now on the same host)");
        // The guest kept its address (the same kernel state, resumed) and its SSH still works through alpha's forwarded port.
        var a3Ssh = (await m.CliAsync("b", "--json", "machine", a3)).Ok().Json.GetProperty("ssh");
        var a3At = (a3Ssh.GetProperty("address").GetString()!, a3Ssh.GetProperty("port").GetInt32());
        Assert.Contains("has-address", await WaitGuestAsync(key, a3At, $"ip -o -4 addr show | grep -F ' {addr["a3"]}/24' && echo has-address", TimeSpan.FromSeconds(60)));

        // A network with machines attached cannot be deleted; the refusal says why and changes nothing.
        var refused = await m.CliAsync("b", "network", "delete", "default");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("a1", refused.Stderr);
    }

    // ---- helpers ----

    private async Task<string> KeyAsync(string name)
    {
        var key = Path.Combine(_keys, name);
        var keygen = await GuestSsh.ToolAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", $"{name}@test", "-f", key]);
        Assert.True(keygen.Code == 0, $"ssh-keygen failed: {keygen.Error}");
        return key;
    }

    private static async Task<string> StoredAsync(Marketplace m, string home, string name, string host)
    {
        var id = (await m.CliAsync(home, "--json", "register", "--config", "linux-busybox", "--name", name, "--speed", "2500", "--storage-bid", "100", "--running-bid", "10"))
            .Ok().Json.GetProperty("id").GetString()!;
        (await m.CliAsync(home, "store", id, "--host", host)).Ok();
        return id;
    }

    private static async Task<string> WaitGuestAsync(string key, (string Address, int Port) at, string command, TimeSpan within)
    {
        await GuestSsh.WaitAsync(key, at.Address, at.Port, "true");
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var (code, stdout, error) = await GuestSsh.RunAsync(key, at.Address, at.Port, command);
            if (code == 0) return stdout;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"'{command}' on {at.Address}:{at.Port} did not succeed within {within.TotalSeconds} s: {stdout} {error}");
            await Task.Delay(1000);
        }
    }

    private static async Task<string> Guest(string key, (string Address, int Port) at, string command, TimeSpan? timeout = null)
    {
        var (code, stdout, error) = await GuestSsh.RunAsync(key, at.Address, at.Port, command, timeout);
        Assert.True(code == 0, $"'{command}' on {at.Address}:{at.Port} failed ({code}): {stdout} {error}");
        return stdout;
    }

    /// <summary>Three pings (two seconds' wait each): all lost, or at least one answered, as expected.</summary>
    private async Task AssertPingsAsync(string key, (string Address, int Port) from, string to, bool reach, string what, string options = "")
    {
        var (code, stdout, error) = await GuestSsh.RunAsync(key, from.Address, from.Port, $"ping -c 3 -W 2 {options} {to}", TimeSpan.FromSeconds(60));
        output.WriteLine($"{what}: exit {code}; {stdout.Trim().Split('\n').LastOrDefault()}");
        if (reach) Assert.True(code == 0, $"{what}: expected replies, got none: {stdout} {error}");
        else Assert.True(code != 0, $"{what}: expected no reply, got: {stdout}");
    }

    /// <summary>The guest's interface that holds its private address.</summary>
    private static async Task<string> PrivateNicAsync(string key, (string Address, int Port) at, string address)
    {
        var line = (await Guest(key, at, $"ip -o -4 addr show | grep -F ' {address}/'")).Trim();
        return line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
    }

    /// <summary>Packets the host's VXLAN device of the network has taken in (decapsulated), from its counters.</summary>
    private static long VxlanReceived(VirtualNetwork net, string host, string device)
    {
        var psi = new ProcessStartInfo("ip", ["netns", "exec", net.Hosts[host].Namespace, "cat", $"/sys/class/net/{device}/statistics/rx_packets"])
            { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{host} has no device {device}: {p.StandardError.ReadToEnd()}");
        return long.Parse(text.Trim(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// One VXLAN packet (VNI <paramref name="vni"/>) carrying a broadcast ARP request, sent to <paramref name="to"/>:4789 from
    /// the root namespace (<paramref name="ns"/> null: the test's own address, not a host of the marketplace) or from a
    /// host's namespace.
    /// </summary>
    private static async Task SendVxlanAsync(string? ns, string to, int vni)
    {
        const string script = """
            import socket, struct, sys
            to, vni = sys.argv[1], int(sys.argv[2])
            vx = struct.pack('!II', 0x08000000, vni << 8)
            src = bytes.fromhex('02aabbccddee')
            arp = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 1, src, socket.inet_aton('10.128.0.250'), b'\0' * 6, socket.inet_aton('10.128.0.2'))
            frame = b'\xff' * 6 + src + b'\x08\x06' + arp
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.sendto(vx + frame, (to, 4789))
            """;
        string[] args = ns is null ? ["python3", "-c", script, to, $"{vni}"] : ["ip", "netns", "exec", ns, "python3", "-c", script, to, $"{vni}"];
        var (code, _, error) = await GuestSsh.ToolAsync(args[0], args[1..]);
        Assert.True(code == 0, $"sending the VXLAN packet failed: {error}");
    }
}
