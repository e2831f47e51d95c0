namespace Virtuoso.Contracts.Api;

/// <summary>
/// A buyer's private network (issue 16, design §9): one Ethernet segment that all its machines share, whichever hosts they
/// run on. Every buyer has <c>default</c> (10.128.0.0/24); more with <c>POST /api/v1/networks</c>.
/// </summary>
/// <param name="Subnet">IPv4 CIDR, e.g. "10.128.0.0/24". Machines get addresses from its third address up (10.128.0.2):
/// the first is the network's own, the second (10.128.0.1) is the hosts' DHCP server identifier.</param>
/// <param name="Machines">The names of the owner's machines attached to it.</param>
public sealed record NetworkResponse(string Name, string Subnet, IReadOnlyList<string> Machines, DateTimeOffset CreatedAt);

/// <summary>POST /api/v1/networks.</summary>
/// <param name="Name">1..32 letters, digits, '-' and '_', starting with a letter or digit.</param>
/// <param name="Subnet">IPv4 CIDR inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, prefix /16 to /29, not overlapping
/// 10.0.2.0/24 (every guest's user-mode NIC). Null: 10.128.0.0/24.</param>
public sealed record CreateNetworkRequest(string Name, string? Subnet = null);
