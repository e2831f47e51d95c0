using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Virtuoso.Agent.Network;

/// <summary>
/// Answers the DHCP of one private NIC (issue 16) on its tap: an AF_PACKET socket bound to the tap sees the guest's frames
/// before the bridge takes them (the bridge's nft rules then drop DHCP client packets, so no other guest or host sees them),
/// a classic BPF filter lets only IPv4 UDP to port 67 reach the agent, and a frame sent on the socket goes to the guest.
/// One dedicated thread per NIC, waking every half second to notice <see cref="Dispose"/>.
/// </summary>
internal sealed partial class DhcpResponder : IDisposable
{
    private const int AfPacket = 17, SockRaw = 3, EthPAll = 0x0003, SolSocket = 1, SoAttachFilter = 26, SoRcvTimeo = 20;
    private const int Eagain = 11, Eintr = 4;

    private readonly int _fd;
    private readonly DhcpLease _lease;
    private readonly string _tap;
    private readonly ILogger _log;
    private volatile bool _closed;
    private readonly Thread _thread;

    private DhcpResponder(int fd, string tap, DhcpLease lease, ILogger log)
    {
        (_fd, _tap, _lease, _log) = (fd, tap, lease, log);
        _thread = new Thread(Serve) { IsBackground = true, Name = $"dhcp {tap}" };
        _thread.Start();
    }

    /// <summary>Opens the socket on <paramref name="tap"/> and starts answering.</summary>
    /// <param name="netns">A network namespace file (e.g. /var/run/netns/NS) to open the socket in (tests); null: the agent's own.</param>
    public static DhcpResponder Open(string tap, DhcpLease lease, ILogger log, string? netns = null)
    {
        int fd = -1;
        Exception? failure = null;
        // setns changes only the calling thread's namespace: a short-lived thread of its own, so no pool thread is moved.
        var opener = new Thread(() =>
        {
            try
            {
                if (netns is not null)
                {
                    using var ns = File.OpenHandle(netns);
                    if (setns((int)ns.DangerousGetHandle(), 0x40000000) != 0)
                        throw new NetworkException($"setns({netns}) failed: errno {Marshal.GetLastPInvokeError()}");
                }
                fd = OpenSocket(tap);
            }
            catch (NetworkException e)
            {
                failure = e;
            }
        });
        opener.Start();
        opener.Join();
        if (failure is not null)
            throw failure;
        return new DhcpResponder(fd, tap, lease, log);
    }

    private static int OpenSocket(string tap)
    {
        var index = if_nametoindex(tap);
        if (index == 0)
            throw new NetworkException($"DHCP on {tap}: no such interface");
        // Protocol 0 receives nothing until bind, so no frame arrives before the filter is attached.
        var fd = socket(AfPacket, SockRaw, 0);
        if (fd < 0)
            throw new NetworkException($"DHCP on {tap}: socket(AF_PACKET) failed: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            AttachFilter(fd, tap);
            Span<long> timeout = [0, 500_000];
            if (setsockopt(fd, SolSocket, SoRcvTimeo, ref MemoryMarshal.GetReference(MemoryMarshal.AsBytes(timeout)), 16) != 0)
                throw new NetworkException($"DHCP on {tap}: SO_RCVTIMEO failed: errno {Marshal.GetLastPInvokeError()}");
            Span<byte> address = stackalloc byte[20];
            BinaryPrimitives.WriteUInt16LittleEndian(address, AfPacket);
            BinaryPrimitives.WriteUInt16BigEndian(address[2..], EthPAll);
            BinaryPrimitives.WriteInt32LittleEndian(address[4..], (int)index);
            if (bind(fd, ref MemoryMarshal.GetReference(address), address.Length) != 0)
                throw new NetworkException($"DHCP on {tap}: bind failed: errno {Marshal.GetLastPInvokeError()}");
            return fd;
        }
        catch (NetworkException)
        {
            close(fd);
            throw;
        }
    }

    /// <summary>Classic BPF: accept unfragmented IPv4 UDP to port 67, drop the rest (tcpdump -dd 'ip and udp dst port 67').</summary>
    internal static readonly (ushort Code, byte Jt, byte Jf, uint K)[] Filter =
    [
        (0x28, 0, 0, 12),          // ldh [12]            ethertype
        (0x15, 0, 8, 0x0800),      // jeq IPv4 ? : drop
        (0x30, 0, 0, 23),          // ldb [23]            protocol
        (0x15, 0, 6, 17),          // jeq UDP ? : drop
        (0x28, 0, 0, 20),          // ldh [20]            flags, fragment offset
        (0x45, 4, 0, 0x1fff),      // jset fragment ? drop :
        (0xb1, 0, 0, 14),          // ldxb 4*([14]&0xf)   IP header length
        (0x48, 0, 0, 16),          // ldh [x+16]          UDP destination port
        (0x15, 0, 1, 67),          // jeq 67 ? : drop
        (0x06, 0, 0, 0x40000),     // ret accept
        (0x06, 0, 0, 0),           // ret drop
    ];

    private static unsafe void AttachFilter(int fd, string tap)
    {
        var program = stackalloc byte[Filter.Length * 8];
        for (var i = 0; i < Filter.Length; i++)
        {
            var op = new Span<byte>(program + i * 8, 8);
            BinaryPrimitives.WriteUInt16LittleEndian(op, Filter[i].Code);
            op[2] = Filter[i].Jt;
            op[3] = Filter[i].Jf;
            BinaryPrimitives.WriteUInt32LittleEndian(op[4..], Filter[i].K);
        }
        Span<byte> fprog = stackalloc byte[16];
        BinaryPrimitives.WriteUInt16LittleEndian(fprog, (ushort)Filter.Length);
        BinaryPrimitives.WriteInt64LittleEndian(fprog[8..], (long)program);
        if (setsockopt(fd, SolSocket, SoAttachFilter, ref MemoryMarshal.GetReference(fprog), fprog.Length) != 0)
            throw new NetworkException($"DHCP on {tap}: SO_ATTACH_FILTER failed: errno {Marshal.GetLastPInvokeError()}");
    }

    private void Serve()
    {
        var buffer = new byte[2048];
        while (!_closed)
        {
            var n = (int)recv(_fd, ref buffer[0], buffer.Length, 0);
            if (n < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno is Eagain or Eintr)
                    continue;
                if (!_closed)
                    AgentLog.DhcpStopped(_log, _tap, errno);
                return;
            }
            if (Dhcp.Parse(buffer.AsSpan(0, n)) is not { } request || Dhcp.Decide(request, _lease) is not { } answer)
                continue;
            var reply = Dhcp.Build(answer, request, _lease);
            if (send(_fd, ref reply[0], reply.Length, 0) < 0)
                AgentLog.DhcpSendFailed(_log, _tap, Marshal.GetLastPInvokeError());
            else
                AgentLog.DhcpAnswered(_log, _tap, request.Type.ToString(), answer.ToString(), _lease.Address.ToString());
        }
    }

    public void Dispose()
    {
        if (_closed)
            return;
        _closed = true;
        _thread.Join(TimeSpan.FromSeconds(2));
        close(_fd);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int bind(int fd, ref byte address, int length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setsockopt(int fd, int level, int name, ref byte value, int length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recv(int fd, ref byte buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint send(int fd, ref byte buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int type);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint if_nametoindex(string name);
}
