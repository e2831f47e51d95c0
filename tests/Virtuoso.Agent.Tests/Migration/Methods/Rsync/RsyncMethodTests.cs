using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Virtuoso.Agent.Migration.Methods;
using Virtuoso.Agent.Migration.Methods.Dedup;
using Virtuoso.Agent.Migration.Methods.Rsync;
using Virtuoso.Agent.Tests.Support;

namespace Virtuoso.Agent.Tests.Migration.Methods.Rsync;

/// <summary>RSYNC with the real rsync program: a daemon started by the origin route, the client run by the destination.</summary>
public sealed class RsyncMethodTests : IDisposable
{
    private const int Block = TestFiles.Block;
    private readonly TestDirectory _dir = new();
    private readonly RsyncDaemons _daemons;
    private readonly RsyncMethod _method;
    private readonly string _source;

    public RsyncMethodTests()
    {
        _daemons = new RsyncDaemons(Path.Combine(_dir.Path, "origin-data", "rsync"), "rsync", TimeSpan.FromMinutes(5), _ => true,
            TimeProvider.System, NullLogger<RsyncDaemons>.Instance);
        _method = new RsyncMethod(_daemons, NullLogger<RsyncMethod>.Instance);
        _source = _dir.Sub("machine");
    }

    public void Dispose()
    {
        _daemons.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task FirstCopy_IntoEmptyDestination_IsByteIdenticalAndLeftToTheServerToVerify()
    {
        TestFiles.Random(Path.Combine(_source, "disk.qcow2"), 40L * Block + 77, seed: 1);
        TestFiles.Random(Path.Combine(_source, "state.bin"), 3L * Block, seed: 2);
        File.WriteAllText(Path.Combine(_source, "machine.json"), "{}"); // not exported
        await using var origin = await TransferHarness.StartAsync(_method, _source, manifestFilter: n => n != "machine.json");
        var staging = _dir.Sub("staging");
        var progress = new List<TransferProgress>();

        var verified = await _method.FetchAsync(origin.Fetch(staging, progress: progress), CancellationToken.None);

        Assert.False(verified);
        origin.AssertIdentical(staging);
        Assert.False(File.Exists(Path.Combine(staging, "machine.json")));
        var total = origin.Manifest.Files.Sum(f => f.Length);
        Assert.Equal(total, progress[^1].BytesDone);
        Assert.InRange(progress[^1].BytesOnWire, total, total + 64 * 1024);
        Assert.NotNull(_daemons.PidOf(origin.MachineId));
    }

    [Fact]
    public async Task Recopy_NothingChanged_MovesTheCachedFileAndSendsAlmostNothing()
    {
        TestFiles.Random(Path.Combine(_source, "disk.qcow2"), 200L * Block, seed: 3);
        await using var origin = await TransferHarness.StartAsync(_method, _source);
        var cache = _dir.Sub("cache");
        await _method.FetchAsync(origin.Fetch(cache), CancellationToken.None);
        var inode = NativeFile.Identify(Path.Combine(cache, "disk.qcow2"))!.Value.Inode;
        var staging = _dir.Sub("staging");
        var progress = new List<TransferProgress>();

        await _method.FetchAsync(origin.Fetch(staging, [cache], progress: progress), CancellationToken.None);

        origin.AssertIdentical(staging);
        Assert.Equal(inode, NativeFile.Identify(Path.Combine(staging, "disk.qcow2"))!.Value.Inode);
        Assert.False(File.Exists(Path.Combine(cache, "disk.qcow2")));
        Assert.InRange(progress[^1].BytesOnWire, 1, 4096);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Recopy_OnePercentRewritten_SendsADeltaAgainstTheCachedCopy(bool scattered)
    {
        const int blocks = 800;
        var disk = Path.Combine(_source, "disk.qcow2");
        TestFiles.Random(disk, blocks * (long)Block, seed: 4);
        var cache = _dir.Sub("cache");
        await using (var first = await TransferHarness.StartAsync(_method, _source))
            await _method.FetchAsync(first.Fetch(cache), CancellationToken.None);
        int[] changed = scattered ? [3, 97, 181, 260, 333, 419, 555, 612] : [400, 401, 402, 403, 404, 405, 406, 407];
        TestFiles.RewriteBlocks(disk, seed: 5, changed);
        await using var origin = await TransferHarness.StartAsync(_method, _source);
        var staging = _dir.Sub("staging");
        var progress = new List<TransferProgress>();

        await _method.FetchAsync(origin.Fetch(staging, [cache], progress: progress), CancellationToken.None);

        origin.AssertIdentical(staging);
        var changedBytes = changed.Length * (long)Block;
        Assert.InRange(progress[^1].BytesOnWire, changedBytes, 3 * changedBytes);
    }

    [Fact]
    public async Task CopyOfAnotherCachedMachine_ServesAsBasis()
    {
        var disk = Path.Combine(_source, "disk.qcow2");
        TestFiles.Random(disk, 100L * Block, seed: 6);
        var other = _dir.Sub("other-machine");
        File.Copy(disk, Path.Combine(other, "disk.qcow2"));
        TestFiles.RewriteBlocks(disk, seed: 7, [50]);
        await using var origin = await TransferHarness.StartAsync(_method, _source);
        var staging = _dir.Sub("staging");
        var progress = new List<TransferProgress>();

        await _method.FetchAsync(origin.Fetch(staging, [_dir.Sub("own"), other], progress: progress), CancellationToken.None);

        origin.AssertIdentical(staging);
        Assert.True(progress[^1].BytesOnWire < 10L * Block, $"{progress[^1].BytesOnWire} bytes on the wire");
        Assert.True(File.Exists(Path.Combine(other, "disk.qcow2")));
    }

    [Fact]
    public async Task SparseFile_ArrivesIdenticalAndSparse()
    {
        var disk = Path.Combine(_source, "disk.qcow2");
        TestFiles.Sparse(disk, 2048L * Block, seed: 8, (0, 16 * Block), (2000L * Block, 16 * Block));
        TestFiles.WriteZeros(disk, 1000L * Block, 16 * Block);
        await using var origin = await TransferHarness.StartAsync(_method, _source);
        var staging = _dir.Sub("staging");

        await _method.FetchAsync(origin.Fetch(staging), CancellationToken.None);

        origin.AssertIdentical(staging);
        Assert.True(TestFiles.AllocatedBytes(Path.Combine(staging, "disk.qcow2")) <= 40L * Block);
    }

    [Fact]
    public async Task Qcow2_MadeByQemuImg_ArrivesIdentical()
    {
        var disk = Path.Combine(_source, "disk.qcow2");
        TestFiles.Run("qemu-img", "create", "-q", "-f", "qcow2", disk, "1G");
        TestFiles.Run("qemu-io", "-c", "write -P 0x5a 0 8M", disk);
        await using var origin = await TransferHarness.StartAsync(_method, _source);
        var staging = _dir.Sub("staging");

        await _method.FetchAsync(origin.Fetch(staging), CancellationToken.None);

        origin.AssertIdentical(staging);
        TestFiles.Run("qemu-img", "check", "-q", Path.Combine(staging, "disk.qcow2"));
    }

    [Fact]
    public async Task Fetch_WhenCancelled_StopsPromptlyAndLeavesNoRsyncBehind()
    {
        TestFiles.Random(Path.Combine(_source, "disk.qcow2"), 160L * Block, seed: 9);
        var slow = new RsyncMethod(_daemons, NullLogger<RsyncMethod>.Instance) { ExtraArguments = ["--bwlimit=500"] };
        await using var origin = await TransferHarness.StartAsync(slow, _source);
        var staging = _dir.Sub("staging");
        using var cancel = new CancellationTokenSource();
        var progress = new List<TransferProgress>();
        var fetch = slow.FetchAsync(origin.Fetch(staging, progress: progress), cancel.Token);
        await Task.Delay(1500);
        Assert.False(fetch.IsCompleted);
        Assert.NotEmpty(RsyncProcessesMentioning(staging));
        var clock = Stopwatch.StartNew();

        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fetch);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Empty(RsyncProcessesMentioning(staging));
        var daemon = _daemons.PidOf(origin.MachineId)!.Value;
        _daemons.Stop(origin.MachineId);
        Assert.Null(_daemons.PidOf(origin.MachineId));
        Assert.False(Directory.Exists($"/proc/{daemon}") && !File.ReadAllText($"/proc/{daemon}/stat").Contains(" Z "), "the daemon is gone");
    }

    [Fact]
    public async Task Fetch_WithAWrongToken_FailsWithoutStartingADaemon()
    {
        TestFiles.Random(Path.Combine(_source, "disk.qcow2"), 4L * Block, seed: 10);
        await using var origin = await TransferHarness.StartAsync(_method, _source);
        var staging = _dir.Sub("staging");

        var error = await Assert.ThrowsAsync<HttpRequestException>(() =>
            _method.FetchAsync(origin.Fetch(staging, token: "not-the-token"), CancellationToken.None));

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, error.StatusCode);
        Assert.Null(_daemons.PidOf(origin.MachineId));
        Assert.Empty(Directory.GetFileSystemEntries(staging));
    }

    /// <summary>rsync processes whose command line names <paramref name="text"/> (zombies excluded).</summary>
    internal static List<int> RsyncProcessesMentioning(string text)
    {
        var found = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            try
            {
                var commandLine = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (commandLine.StartsWith("rsync", StringComparison.Ordinal) && commandLine.Contains(text, StringComparison.Ordinal))
                    found.Add(pid);
            }
            catch (IOException)
            {
                // Gone meanwhile.
            }
        }
        return found;
    }

    // Issue 20 point 1: rsync's traffic goes through the tunnel on the transfer routes; the origin's daemon listens on
    // loopback only, so nothing but the agent itself can reach it. (Over HTTPS with certificates: MigrationTlsTests.)
    /// <summary>An IPv4 address of this host that is not loopback (the address other hosts would reach the origin on).</summary>
    private static IPAddress? OutsideAddress() => NetworkInterface.GetAllNetworkInterfaces()
        .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
        .SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(a => a.Address)
        .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));

    [Fact]
    public async Task Fetch_FromAnOriginOnAnOutsideAddress_CopiesThroughTheTunnel_AndTheDaemonListensOnLoopbackOnly()
    {
        var outside = OutsideAddress();
        Assert.True(outside is not null, "this test needs a non-loopback IPv4 address on the host");
        TestFiles.Random(Path.Combine(_source, "disk.qcow2"), 64L * TestFiles.Block + 5, seed: 21);
        await using var origin = await TransferHarness.StartAsync(_method, _source, bindAddress: outside!.ToString());
        var staging = _dir.Sub("staging");

        await _method.FetchAsync(origin.Fetch(staging), CancellationToken.None);

        origin.AssertIdentical(staging);
        Assert.True(origin.MethodRequests >= 2, $"the session and at least one tunnel: {origin.MethodRequests} method requests");
        var port = _daemons.PortOf(origin.MachineId, _source);
        Assert.NotNull(port);
        // Listening on 127.0.0.1 only: the kernel's table says so, and the outside address refuses the connection.
        Assert.Contains(ListeningAddresses(port!.Value), a => a.Equals(IPAddress.Loopback));
        Assert.DoesNotContain(ListeningAddresses(port.Value), a => !IPAddress.IsLoopback(a));
        using var fromOutside = new TcpClient();
        var refused = await Assert.ThrowsAsync<SocketException>(() => fromOutside.ConnectAsync(outside, port.Value));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    [Fact]
    public async Task Tunnel_WithoutASession_Is409_AndWithoutTheToken_Is401()
    {
        TestFiles.Random(Path.Combine(_source, "disk.qcow2"), 4L * TestFiles.Block, seed: 22);
        await using var origin = await TransferHarness.StartAsync(_method, _source);
        var tunnel = new Uri(origin.Origin, RsyncTunnel.Path(origin.MachineId));

        using var noToken = new HttpRequestMessage(HttpMethod.Get, tunnel);
        Assert.Equal(HttpStatusCode.Unauthorized, (await origin.Http.SendAsync(noToken)).StatusCode);
        using var noSession = new System.Net.WebSockets.ClientWebSocket();
        noSession.Options.SetRequestHeader("Authorization", $"Bearer {TransferHarness.Token}");
        noSession.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() =>
            noSession.ConnectAsync(new UriBuilder(tunnel) { Scheme = "ws" }.Uri, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Conflict, noSession.HttpStatusCode);
    }

    /// <summary>The local addresses of sockets listening on TCP <paramref name="port"/> (/proc/net/tcp, IPv4).</summary>
    private static List<IPAddress> ListeningAddresses(int port)
    {
        var found = new List<IPAddress>();
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var local = fields[1].Split(':');
            if (fields[3] == "0A" && Convert.ToInt32(local[1], 16) == port)
                found.Add(new IPAddress(BitConverter.GetBytes(Convert.ToUInt32(local[0], 16)))); // little-endian hex of the address
        }
        return found;
    }
}
