using System.Net;
using Microsoft.Extensions.Logging;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Network;

/// <summary>Opens the DHCP responder of a tap (<see cref="DhcpResponder.Open"/>); tests without taps answer null.</summary>
internal delegate DhcpResponder? OpenDhcp(string tap, DhcpLease lease);

/// <summary>
/// This host's part of the private networks (issue 16, design §9): a bridge and a VXLAN device per network that a local
/// machine uses, the machines' taps on them, each network's flood list equal to its peers, the nftables tables, and a
/// DHCP responder per NIC. Every change is made idempotently (what exists is checked, the tables are rewritten whole), so a
/// repeat, an agent restart or a half-made earlier attempt converges. One change at a time.
/// </summary>
internal sealed class HostNetwork(ICommandRunner run, OpenDhcp openDhcp, ILogger<HostNetwork> log)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<Guid, NicPort> _ports = [];
    private readonly Dictionary<Guid, DhcpResponder> _responders = [];
    private readonly Dictionary<int, IReadOnlyList<string>> _peers = [];
    private IReadOnlyList<string> _hosts = [];
    private bool _tablesWritten;

    /// <summary>Why this process cannot make private networks (not root, or a tool missing from PATH), or null when it can.</summary>
    public static string? WhyUnavailable()
    {
        if (!Environment.IsPrivilegedProcess)
            return "the agent does not run as root";
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
        var missing = new[] { "ip", "bridge", "nft" }.Where(tool => !path.Any(d => File.Exists(Path.Combine(d, tool)))).ToList();
        return missing.Count == 0 ? null : $"{string.Join(", ", missing)} not found on PATH";
    }

    /// <summary>The NIC of a machine as the API reports it, or null when it has none here.</summary>
    public AgentNic? Describe(Guid machine)
    {
        lock (_ports)
            return _ports.TryGetValue(machine, out var p) && p.Network is { } n
                ? new AgentNic(n.Vni, p.Mac, n.Address.ToString(), p.Tap, NetworkNames.Bridge(n.Vni))
                : null;
    }

    /// <summary>
    /// Makes the machine's tap (on its network's bridge, or on none when <paramref name="network"/> is null), the network's
    /// bridge and VXLAN device if missing, its flood list from the network's peers, the tables, and the DHCP responder.
    /// Before QEMU starts, which opens the tap. On failure nothing of this machine is left (the tap is removed) and a
    /// <see cref="NetworkException"/> says what failed.
    /// </summary>
    /// <param name="existingTap">After an agent restart: the tap already exists and a live QEMU holds it; keep it.</param>
    public async Task<string> AttachAsync(Guid machine, string mac, PrivateNetwork? network, bool existingTap = false)
    {
        await _gate.WaitAsync();
        try
        {
            var state = network is null ? null : new PrivateNetworkState(network.Vni, IPAddress.Parse(network.Address), network.PrefixLength);
            var port = new NicPort(machine, mac, state);
            // A NIC still held from the machine's previous run (its QEMU ended less than a sweep ago): let it go first, so
            // its responder is closed and its network's bridge goes if nothing else uses it.
            NicPort? held;
            lock (_ports)
                _ports.TryGetValue(machine, out held);
            if (held is not null && !existingTap)
                await CleanUpAfterFailureAsync(machine, held.Tap, held.Network?.Vni);
            try
            {
                var links = await LinksAsync();
                if (state is not null)
                {
                    _peers[state.Vni] = network!.Peers;
                    await EnsureBridgeAsync(state.Vni, links);
                }
                if (!existingTap && links.Contains(port.Tap))
                    await Ip("link", "del", "dev", port.Tap); // left by a crash: QEMU would attach to a stale one
                if (!existingTap || !links.Contains(port.Tap))
                    await Ip("tuntap", "add", "dev", port.Tap, "mode", "tap");
                await Ip("link", "set", "dev", port.Tap, "addrgenmode", "none");
                if (state is null)
                    await Ip("link", "set", "dev", port.Tap, "mtu", $"{NetworkNames.Mtu}", "nomaster", "up");
                else
                    await Ip("link", "set", "dev", port.Tap, "mtu", $"{NetworkNames.Mtu}", "master", NetworkNames.Bridge(state.Vni), "up");
                lock (_ports)
                    _ports[machine] = port;
                await WriteTablesAsync();
                OpenResponder(port);
            }
            catch (NetworkException e)
            {
                AgentLog.NetworkFailed(log, machine, e.Message);
                // A tap that a live QEMU holds (after a restart) stays: deleting it would cut the guest off for good.
                if (!existingTap)
                    await CleanUpAfterFailureAsync(machine, port.Tap, state?.Vni);
                throw;
            }
            AgentLog.NicAttached(log, machine, port.Tap, state is null ? "(none)" : NetworkNames.Bridge(state.Vni), state?.Address.ToString() ?? "-");
            return port.Tap;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task CleanUpAfterFailureAsync(Guid machine, string tap, int? vni)
    {
        try
        {
            await RemoveAsync(machine, tap, vni);
        }
        catch (NetworkException e)
        {
            AgentLog.NetworkFailed(log, machine, $"cleaning up: {e.Message}");
        }
    }

    /// <summary>
    /// Removes the machine's tap and responder once its QEMU has ended (stop, suspend, power-off, crash), and its network's
    /// bridge and VXLAN device when no other local machine uses them. Nothing to do for a machine without a NIC here.
    /// </summary>
    public async Task DetachAsync(Guid machine)
    {
        await _gate.WaitAsync();
        try
        {
            NicPort? port;
            lock (_ports)
                _ports.TryGetValue(machine, out port);
            if (port is null)
                return;
            await RemoveAsync(machine, port.Tap, port.Network?.Vni);
            AgentLog.NicDetached(log, machine, port.Tap);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Whether the agent holds a NIC of the machine (it made or re-found its tap).</summary>
    public bool Holds(Guid machine)
    {
        lock (_ports)
            return _ports.ContainsKey(machine);
    }

    /// <summary>
    /// <c>PUT /v1/networks</c>: the peers of each listed network replace what this host had (a flood list of each local one is
    /// made exactly equal), the hosts become the VXLAN allow-list; a network not listed keeps its peers.
    /// </summary>
    public async Task SetPeersAsync(AgentNetworks networks)
    {
        await _gate.WaitAsync();
        try
        {
            _hosts = networks.Hosts;
            foreach (var n in networks.Networks)
                _peers[n.Vni] = n.Peers;
            if (InUse().Count == 0)
                return; // nothing of ours on this host to point anywhere: no command runs
            var links = await LinksAsync();
            foreach (var vni in InUse().Where(v => links.Contains(NetworkNames.Vxlan(v))))
                await SyncFloodListAsync(vni);
            await WriteTablesAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    private HashSet<int> InUse()
    {
        lock (_ports)
            return _ports.Values.Where(p => p.Network is not null).Select(p => p.Network!.Vni).ToHashSet();
    }

    private async Task EnsureBridgeAsync(int vni, IReadOnlySet<string> links)
    {
        string bridge = NetworkNames.Bridge(vni), vxlan = NetworkNames.Vxlan(vni);
        if (!links.Contains(bridge))
            await Ip("link", "add", "name", bridge, "type", "bridge");
        // No address on the bridge: the host takes no part in the network (IPv6 would give it a link-local one).
        await Ip("link", "set", "dev", bridge, "addrgenmode", "none");
        await Ip("link", "set", "dev", bridge, "mtu", $"{NetworkNames.Mtu}", "up");
        if (!links.Contains(vxlan))
            await Ip("link", "add", "name", vxlan, "type", "vxlan", "id", $"{vni}", "dstport", $"{NetworkNames.VxlanPort}", "learning");
        await Ip("link", "set", "dev", vxlan, "addrgenmode", "none");
        await Ip("link", "set", "dev", vxlan, "mtu", $"{NetworkNames.Mtu}", "master", bridge, "up");
        await SyncFloodListAsync(vni);
    }

    private async Task SyncFloodListAsync(int vni)
    {
        var vxlan = NetworkNames.Vxlan(vni);
        var current = NetworkPlan.FloodRemotes(await run.RunAsync("bridge", ["fdb", "show", "dev", vxlan]));
        var (add, remove) = NetworkPlan.FdbChanges(current, _peers.GetValueOrDefault(vni, []));
        foreach (var peer in add)
            await run.RunAsync("bridge", ["fdb", "append", NetworkPlan.FloodMac, "dev", vxlan, "dst", peer]);
        foreach (var peer in remove)
            await run.RunAsync("bridge", ["fdb", "del", NetworkPlan.FloodMac, "dev", vxlan, "dst", peer]);
        if (add.Count + remove.Count > 0)
            AgentLog.FloodListChanged(log, vni, string.Join(' ', _peers.GetValueOrDefault(vni, [])));
    }

    /// <summary>Tap, responder, and the network's bridge if it was the last user; then the tables. Best effort for each part,
    /// so that one failure does not leave the rest; the first failure is thrown at the end.</summary>
    private async Task RemoveAsync(Guid machine, string tap, int? vni)
    {
        if (_responders.Remove(machine, out var responder))
            responder.Dispose();
        lock (_ports)
            _ports.Remove(machine);
        NetworkException? first = null;
        async Task Try(Func<Task> step)
        {
            try
            {
                await step();
            }
            catch (NetworkException e)
            {
                first ??= e;
            }
        }
        var links = await LinksAsync();
        if (links.Contains(tap))
            await Try(() => Ip("link", "del", "dev", tap));
        if (vni is { } v && !InUse().Contains(v))
        {
            if (links.Contains(NetworkNames.Vxlan(v)))
                await Try(() => Ip("link", "del", "dev", NetworkNames.Vxlan(v)));
            if (links.Contains(NetworkNames.Bridge(v)))
                await Try(() => Ip("link", "del", "dev", NetworkNames.Bridge(v)));
        }
        await Try(WriteTablesAsync);
        if (first is not null)
            throw first;
    }

    private async Task WriteTablesAsync()
    {
        List<NicPort> ports;
        lock (_ports)
            ports = [.. _ports.Values];
        if (ports.Count == 0 && !_tablesWritten)
            return; // never wrote them: nothing to take back
        var inUse = ports.Where(p => p.Network is not null).Select(p => p.Network!.Vni).ToHashSet();
        var sources = _hosts.Concat(_peers.Where(kv => inUse.Contains(kv.Key)).SelectMany(kv => kv.Value)).ToList();
        await run.RunAsync("nft", ["-f", "-"], NetworkPlan.Ruleset(ports, sources));
        _tablesWritten = ports.Count > 0;
    }

    private void OpenResponder(NicPort port)
    {
        if (port.Network is not { } n)
            return;
        var lease = new DhcpLease(port.Mac, n.Address, n.PrefixLength);
        if (openDhcp(port.Tap, lease) is { } responder)
            _responders[port.Machine] = responder;
    }

    private async Task<IReadOnlySet<string>> LinksAsync() => NetworkPlan.LinkNames(await run.RunAsync("ip", ["-o", "link", "show"]));

    private Task<string> Ip(params string[] args) => run.RunAsync("ip", args);
}
