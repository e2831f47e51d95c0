using System.Buffers.Binary;
using System.Net;
using Virtuoso.Agent.Network;

namespace Virtuoso.Agent.Tests.Network;

public class DhcpTests
{
    private const string Mac = "02:1a:2b:3c:4d:5e";
    private static readonly DhcpLease Lease = new(Mac, IPAddress.Parse("10.128.0.5"), 24);

    /// <summary>A DHCPDISCOVER as busybox udhcpc sends it: broadcast, from 0.0.0.0:68 to 255.255.255.255:67, options 53,
    /// 61 (client id), 57 (max size), 55 (parameter list), 255; <paramref name="type"/> and extra options change it.</summary>
    internal static byte[] ClientFrame(byte type = 1, string mac = Mac, byte[]? extra = null, string? chaddr = null, uint ciaddr = 0)
    {
        var macBytes = Convert.FromHexString(mac.Replace(":", ""));
        List<byte> options = [53, 1, type, 61, 7, 1, .. macBytes, 57, 2, 0x02, 0x40, 55, 4, 1, 3, 6, 26];
        options.AddRange(extra ?? []);
        options.Add(255);
        var bootp = new byte[240 + options.Count];
        bootp[0] = 1; bootp[1] = 1; bootp[2] = 6;
        BinaryPrimitives.WriteUInt32BigEndian(bootp.AsSpan(4), 0xdeadbeef);
        BinaryPrimitives.WriteUInt16BigEndian(bootp.AsSpan(10), 0x8000); // broadcast flag
        BinaryPrimitives.WriteUInt32BigEndian(bootp.AsSpan(12), ciaddr);
        Convert.FromHexString((chaddr ?? mac).Replace(":", "")).CopyTo(bootp, 28);
        new byte[] { 99, 130, 83, 99 }.CopyTo(bootp, 236);
        options.ToArray().CopyTo(bootp, 240);
        var frame = new byte[14 + 20 + 8 + bootp.Length];
        Array.Fill<byte>(frame, 0xff, 0, 6);
        macBytes.CopyTo(frame, 6);
        frame[12] = 0x08;
        var ip = frame.AsSpan(14);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(28 + bootp.Length));
        ip[8] = 64; ip[9] = 17;
        ip.Slice(16, 4).Fill(0xff);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Dhcp.Checksum(ip[..20]));
        BinaryPrimitives.WriteUInt16BigEndian(ip[20..], 68);
        BinaryPrimitives.WriteUInt16BigEndian(ip[22..], 67);
        BinaryPrimitives.WriteUInt16BigEndian(ip[24..], (ushort)(8 + bootp.Length));
        bootp.CopyTo(frame, 42);
        return frame;
    }

    private static Dictionary<byte, byte[]> Options(ReadOnlySpan<byte> bootp)
    {
        var result = new Dictionary<byte, byte[]>();
        for (var i = 240; bootp[i] != 255; i += 2 + bootp[i + 1])
            result[bootp[i]] = bootp.Slice(i + 2, bootp[i + 1]).ToArray();
        return result;
    }

    [Fact]
    public void Discover_IsParsed()
    {
        var request = Dhcp.Parse(ClientFrame());

        Assert.Equal(new DhcpRequest(DhcpType.Discover, 0xdeadbeef, 0x8000, Mac, IPAddress.Any, null, null), request);
    }

    [Fact]
    public void Discover_GetsAnOffer_BroadcastFromTheAgent_WithTheLeaseAndNoRouterOrDns()
    {
        var request = Dhcp.Parse(ClientFrame())!;

        Assert.Equal(DhcpType.Offer, Dhcp.Decide(request, Lease));
        var frame = Dhcp.Build(DhcpType.Offer, request, Lease).AsSpan();

        Assert.Equal(Enumerable.Repeat((byte)0xff, 6), frame[..6].ToArray());
        Assert.Equal(Dhcp.AgentMac, frame[6..12].ToArray());
        Assert.Equal(0x0800, BinaryPrimitives.ReadUInt16BigEndian(frame[12..]));
        var ip = frame[14..];
        Assert.Equal(0x45, ip[0]);
        Assert.Equal(17, ip[9]);
        Assert.Equal(0, Dhcp.Checksum(ip[..20])); // a correct header checksums to zero
        Assert.Equal(frame.Length - 14, BinaryPrimitives.ReadUInt16BigEndian(ip[2..]));
        Assert.Equal(IPAddress.Parse("10.128.0.1"), new IPAddress(ip.Slice(12, 4)));
        Assert.Equal(IPAddress.Broadcast, new IPAddress(ip.Slice(16, 4)));
        var udp = ip[20..];
        Assert.Equal((67, 68), (BinaryPrimitives.ReadUInt16BigEndian(udp), BinaryPrimitives.ReadUInt16BigEndian(udp[2..])));
        Assert.Equal(frame.Length - 34, BinaryPrimitives.ReadUInt16BigEndian(udp[4..]));
        var bootp = udp[8..];
        Assert.True(bootp.Length >= 300);
        Assert.Equal(2, bootp[0]);
        Assert.Equal(0xdeadbeef, BinaryPrimitives.ReadUInt32BigEndian(bootp[4..]));
        Assert.Equal(0x8000, BinaryPrimitives.ReadUInt16BigEndian(bootp[10..]));
        Assert.Equal(IPAddress.Parse("10.128.0.5"), new IPAddress(bootp.Slice(16, 4)));
        Assert.Equal(Convert.FromHexString("021a2b3c4d5e"), bootp.Slice(28, 6).ToArray());
        var options = Options(bootp);
        Assert.Equal([2], options[53]);
        Assert.Equal([10, 128, 0, 1], options[54]);
        Assert.Equal([0xff, 0xff, 0xff, 0xff], options[51]);
        Assert.Equal([255, 255, 255, 0], options[1]);
        Assert.Equal([0x05, 0xaa], options[26]); // 1450
        Assert.False(options.ContainsKey(3)); // no router: outbound stays on the first NIC
        Assert.False(options.ContainsKey(6)); // no DNS
    }

    [Fact]
    public void Request_ForItsAddress_IsAcked_ForAnotherIsNaked_AfterAnotherServer_IsIgnored()
    {
        var mine = Dhcp.Parse(ClientFrame(3, extra: [50, 4, 10, 128, 0, 5, 54, 4, 10, 128, 0, 1]))!;
        var other = Dhcp.Parse(ClientFrame(3, extra: [50, 4, 10, 128, 0, 9]))!;
        var elsewhere = Dhcp.Parse(ClientFrame(3, extra: [50, 4, 10, 128, 0, 5, 54, 4, 192, 168, 1, 1]))!;
        var renewal = Dhcp.Parse(ClientFrame(3, ciaddr: 0x0a800005))!;

        Assert.Equal(DhcpType.Ack, Dhcp.Decide(mine, Lease));
        Assert.Equal(DhcpType.Nak, Dhcp.Decide(other, Lease));
        Assert.Null(Dhcp.Decide(elsewhere, Lease));
        Assert.Equal(DhcpType.Ack, Dhcp.Decide(renewal, Lease));

        var nak = Dhcp.Build(DhcpType.Nak, other, Lease);
        var bootp = nak.AsSpan(42);
        Assert.Equal([6], Options(bootp)[53]);
        Assert.Equal(IPAddress.Any, new IPAddress(bootp.Slice(16, 4)));
        Assert.False(Options(bootp).ContainsKey(51));
    }

    [Fact]
    public void Parse_RefusesWhatIsNotAGuestsDiscoverOrRequest()
    {
        Assert.Null(Dhcp.Parse(ClientFrame(chaddr: "02:00:00:00:00:99"))); // chaddr not the frame's source
        Assert.Null(Dhcp.Parse(ClientFrame(type: 7)));                     // RELEASE
        Assert.Null(Dhcp.Parse(ClientFrame().AsSpan(0, 200)));              // truncated
        var tcp = ClientFrame();
        tcp[14 + 9] = 6;
        Assert.Null(Dhcp.Parse(tcp));
        var reply = ClientFrame();
        reply[42] = 2;                                                      // a BOOTREPLY
        Assert.Null(Dhcp.Parse(reply));
    }

    [Fact]
    public void Decide_AnotherMac_GetsNothing()
    {
        var request = Dhcp.Parse(ClientFrame(mac: "02:00:00:00:00:77"))!;

        Assert.Null(Dhcp.Decide(request, Lease));
    }

    [Theory]
    [InlineData("10.128.0.5", 24, "10.128.0.1", "255.255.255.0")]
    [InlineData("172.16.9.200", 16, "172.16.0.1", "255.255.0.0")]
    [InlineData("192.168.7.13", 29, "192.168.7.9", "255.255.255.248")]
    public void Lease_ServerIdIsTheSubnetsFirstAddress(string address, int prefix, string server, string mask)
    {
        var lease = new DhcpLease(Mac, IPAddress.Parse(address), prefix);

        Assert.Equal(IPAddress.Parse(server), lease.ServerId);
        Assert.Equal(IPAddress.Parse(mask), lease.Mask);
    }
}
