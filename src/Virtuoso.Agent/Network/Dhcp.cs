using System.Buffers.Binary;
using System.Net;

namespace Virtuoso.Agent.Network;

/// <summary>DHCP message types (RFC 2132 option 53) the responder reads or writes.</summary>
internal enum DhcpType : byte { Discover = 1, Offer = 2, Request = 3, Ack = 5, Nak = 6 }

/// <summary>A DHCPDISCOVER or DHCPREQUEST read from a guest's Ethernet frame.</summary>
/// <param name="ClientMac">The frame's source MAC, which <see cref="Dhcp.Parse"/> checked equals the message's chaddr.</param>
/// <param name="Requested">Option 50, else ciaddr (a renewal), else null.</param>
/// <param name="ServerId">Option 54: the server the client chose, or null.</param>
internal sealed record DhcpRequest(DhcpType Type, uint Xid, ushort Flags, string ClientMac, IPAddress Ciaddr, IPAddress? Requested, IPAddress? ServerId);

/// <summary>What the agent hands one private NIC: its address on a subnet, for ever (issue 16).</summary>
internal sealed record DhcpLease(string Mac, IPAddress Address, int PrefixLength)
{
    public IPAddress Mask => new(BinaryPrimitives.ReverseEndianness(uint.MaxValue << (32 - PrefixLength)));

    /// <summary>The subnet's first usable address (network + 1), which the front-end never assigns: the server identifier.</summary>
    public IPAddress ServerId
    {
        get
        {
            var network = BinaryPrimitives.ReadUInt32BigEndian(Address.GetAddressBytes()) & (uint.MaxValue << (32 - PrefixLength));
            var bytes = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, network + 1);
            return new IPAddress(bytes);
        }
    }
}

/// <summary>
/// The DHCP server of the private networks, as pure functions over whole Ethernet frames (RFC 2131, 2132): what a guest
/// asked, what to answer, and the answer's bytes. <see cref="DhcpResponder"/> only moves frames.
/// </summary>
internal static class Dhcp
{
    /// <summary>The Ethernet source of every answer: a fixed, locally administered unicast MAC of the agent.</summary>
    public static readonly byte[] AgentMac = [0x02, 0x76, 0x69, 0x72, 0x74, 0x01];

    private const int EthernetHeader = 14;
    private const int BootpFixed = 236;
    private static readonly byte[] MagicCookie = [99, 130, 83, 99];

    /// <summary>
    /// The DHCPDISCOVER or DHCPREQUEST in <paramref name="frame"/> (IPv4, UDP 68 → 67, BOOTREQUEST for Ethernet), or null
    /// for anything else, including a message whose chaddr is not the frame's source MAC.
    /// </summary>
    public static DhcpRequest? Parse(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < EthernetHeader + 20 + 8 + BootpFixed + 4 || BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != 0x0800)
            return null;
        var ip = frame[EthernetHeader..];
        var ihl = (ip[0] & 0x0f) * 4;
        if (ip[0] >> 4 != 4 || ihl < 20 || ip[9] != 17 || (BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x3fff) != 0)
            return null;
        var totalLength = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        if (totalLength > ip.Length || totalLength < ihl + 8 + BootpFixed + 4)
            return null;
        var udp = ip[ihl..totalLength];
        if (BinaryPrimitives.ReadUInt16BigEndian(udp) != 68 || BinaryPrimitives.ReadUInt16BigEndian(udp[2..]) != 67)
            return null;
        var bootp = udp[8..];
        if (bootp[0] != 1 || bootp[1] != 1 || bootp[2] != 6 || !bootp.Slice(BootpFixed, 4).SequenceEqual(MagicCookie))
            return null;
        var source = frame.Slice(6, 6);
        if (!bootp.Slice(28, 6).SequenceEqual(source))
            return null;
        DhcpType? type = null;
        IPAddress? requested = null, serverId = null;
        var options = bootp[(BootpFixed + 4)..];
        for (var i = 0; i < options.Length;)
        {
            var code = options[i];
            if (code == 255)
                break;
            if (code == 0)
            {
                i++;
                continue;
            }
            if (i + 1 >= options.Length || i + 2 + options[i + 1] > options.Length)
                return null;
            var value = options.Slice(i + 2, options[i + 1]);
            switch (code)
            {
                case 53 when value.Length == 1:
                    type = (DhcpType)value[0];
                    break;
                case 50 when value.Length == 4:
                    requested = new IPAddress(value);
                    break;
                case 54 when value.Length == 4:
                    serverId = new IPAddress(value);
                    break;
            }
            i += 2 + value.Length;
        }
        if (type is not (DhcpType.Discover or DhcpType.Request))
            return null;
        var ciaddr = new IPAddress(bootp.Slice(12, 4));
        if (requested is null && !ciaddr.Equals(IPAddress.Any))
            requested = ciaddr;
        return new DhcpRequest(type.Value, BinaryPrimitives.ReadUInt32BigEndian(bootp[4..]), BinaryPrimitives.ReadUInt16BigEndian(bootp[10..]),
            string.Join(':', source.ToArray().Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture))),
            ciaddr, requested, serverId);
    }

    /// <summary>
    /// The answer to <paramref name="request"/>, or null for none: a DISCOVER from the lease's MAC gets an OFFER; a REQUEST
    /// gets an ACK for the lease's address and a NAK for any other; a REQUEST that chose another server, or anything from
    /// another MAC, gets nothing.
    /// </summary>
    public static DhcpType? Decide(DhcpRequest request, DhcpLease lease)
    {
        if (!string.Equals(request.ClientMac, lease.Mac, StringComparison.OrdinalIgnoreCase))
            return null;
        if (request.Type == DhcpType.Discover)
            return DhcpType.Offer;
        if (request.ServerId is { } chosen && !chosen.Equals(lease.ServerId))
            return null;
        return lease.Address.Equals(request.Requested) ? DhcpType.Ack : DhcpType.Nak;
    }

    /// <summary>
    /// The answer as a broadcast Ethernet frame from <see cref="AgentMac"/>, IPv4 from the server identifier to
    /// 255.255.255.255, UDP 67 → 68 (checksum 0: none, allowed over IPv4). An OFFER or ACK carries the address, the mask,
    /// an infinite lease and the MTU; no router and no DNS (the first NIC keeps both).
    /// </summary>
    public static byte[] Build(DhcpType type, DhcpRequest request, DhcpLease lease)
    {
        var options = new List<byte> { 53, 1, (byte)type, 54, 4 };
        options.AddRange(lease.ServerId.GetAddressBytes());
        if (type != DhcpType.Nak)
        {
            options.AddRange([51, 4, 0xff, 0xff, 0xff, 0xff]);
            options.AddRange([1, 4, .. lease.Mask.GetAddressBytes()]);
            options.AddRange([26, 2, NetworkNames.Mtu >> 8, NetworkNames.Mtu & 0xff]);
        }
        options.Add(255);
        // Padded to the 300 bytes of a BOOTP message that some clients still expect.
        var bootpLength = Math.Max(300, BootpFixed + 4 + options.Count);
        var frame = new byte[EthernetHeader + 20 + 8 + bootpLength];
        var span = frame.AsSpan();
        span[..6].Fill(0xff);
        AgentMac.CopyTo(span[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(span[12..], 0x0800);

        var ip = span[EthernetHeader..];
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + bootpLength));
        ip[8] = 64;
        ip[9] = 17;
        lease.ServerId.GetAddressBytes().CopyTo(ip[12..]);
        ip.Slice(16, 4).Fill(0xff);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum(ip[..20]));

        var udp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, 67);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 68);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + bootpLength));

        var bootp = udp[8..];
        bootp[0] = 2;
        bootp[1] = 1;
        bootp[2] = 6;
        BinaryPrimitives.WriteUInt32BigEndian(bootp[4..], request.Xid);
        BinaryPrimitives.WriteUInt16BigEndian(bootp[10..], request.Flags);
        if (type != DhcpType.Nak)
        {
            request.Ciaddr.GetAddressBytes().CopyTo(bootp[12..]);
            lease.Address.GetAddressBytes().CopyTo(bootp[16..]);
        }
        Convert.FromHexString(request.ClientMac.Replace(":", "", StringComparison.Ordinal)).CopyTo(bootp[28..]);
        MagicCookie.CopyTo(bootp[BootpFixed..]);
        options.ToArray().CopyTo(bootp[(BootpFixed + 4)..]);
        return frame;
    }

    /// <summary>The Internet checksum (RFC 1071) of <paramref name="header"/> (with its checksum field zero).</summary>
    public static ushort Checksum(ReadOnlySpan<byte> header)
    {
        uint sum = 0;
        for (var i = 0; i + 1 < header.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(header[i..]);
        if (header.Length % 2 == 1)
            sum += (uint)header[^1] << 8;
        while (sum >> 16 != 0)
            sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)~sum;
    }
}
