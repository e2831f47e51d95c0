namespace Virtuoso.Contracts.Agent;

/// <summary>
/// A machine's place on its owner's private network (issue 16, design §9: "each buyer's machines share one private layer-2
/// network regardless of which hosts they are on"). The guest gets a second NIC, with the machine's own MAC (the
/// report's §6.2.3: Virtuoso issues the Ethernet address "to interface to the VNET virtual network service"), on a tap
/// device of the host's bridge for <paramref name="Vni"/>; the bridges of one network on different hosts are joined by
/// VXLAN (VNI <paramref name="Vni"/>, UDP 4789) to exactly <paramref name="Peers"/>. The guest learns
/// <paramref name="Address"/> by DHCP answered by its own host's agent (an infinite lease, no router: outbound traffic
/// keeps using the first NIC, QEMU's user-mode NAT).
/// </summary>
/// <param name="Vni">The network's VXLAN network identifier, 1..16777215, unique in the marketplace.</param>
/// <param name="Address">The guest's IPv4 address on the network, e.g. "10.128.0.5".</param>
/// <param name="PrefixLength">The subnet's prefix length, 16..29.</param>
/// <param name="Peers">The underlay IPv4 addresses of the other hosts that hold machines of this network (VXLAN remotes).</param>
public sealed record PrivateNetwork(int Vni, string Address, int PrefixLength, IReadOnlyList<string> Peers);

/// <summary>
/// <c>PUT /v1/networks</c>: every private network the front-end expects this host to carry, with its peers (the whole
/// desired state: idempotent). The agent points each network's VXLAN flood list at exactly these peers, and accepts
/// VXLAN (UDP 4789) only from <paramref name="Hosts"/>: a packet from anywhere else is dropped before it is decapsulated.
/// A network not listed keeps running while local machines use it (the front-end's next push lists it again); its
/// peers are those it had.
/// </summary>
/// <param name="Hosts">The underlay IPv4 addresses of every host of the marketplace (this one included).</param>
public sealed record AgentNetworks(IReadOnlyList<NetworkPeers> Networks, IReadOnlyList<string> Hosts);

/// <summary>One network's peers on <c>PUT /v1/networks</c>.</summary>
public sealed record NetworkPeers(int Vni, IReadOnlyList<string> Peers);

/// <summary>What the agent reports for one machine's private NIC (<c>GET /v1/machines/{id}</c>).</summary>
/// <param name="Tap">The host's tap device of the NIC (e.g. "vt-0a1b2c3d4e5f").</param>
/// <param name="Bridge">The host's bridge of the network (e.g. "vbr-2a").</param>
public sealed record AgentNic(int Vni, string Mac, string Address, string Tap, string Bridge);
