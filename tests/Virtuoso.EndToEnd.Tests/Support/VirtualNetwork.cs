using System.Diagnostics;
using System.Globalization;

namespace Virtuoso.EndToEnd.Tests.Support;

/// <summary>
/// Several "physical hosts" on this one machine for the multi-host tests (issue 4): each host is a Linux network
/// namespace with one veth interface plugged into a bridge that lives in a namespace of its own (the "switch"), and
/// the test process (the front-end's side, in the root namespace) has one more port on that bridge. All addresses
/// are in 10.77.N.0/24, inside namespaces this class created; nothing leaves the machine. A link can be cut,
/// restored and shaped with <c>tc</c>, and its byte counters read, from the switch's side of the veth pair.
/// </summary>
internal sealed class VirtualNetwork : IDisposable
{
    private readonly List<string> _namespaces = [];
    private readonly string _rootLink;
    private int _nextHost = 2;

    /// <summary>Prefix of every namespace and root link this network made, unique per instance.</summary>
    public string Prefix { get; }
    /// <summary>The test's (front-end's) own address on the network, in the root namespace.</summary>
    public string RootIp { get; }
    private string Switch => Prefix + "sw";

    /// <summary>The command prefix that runs a program in the switch's namespace, where <c>br0</c> sees every packet between hosts.</summary>
    public IReadOnlyList<string> SwitchExecPrefix => ["ip", "netns", "exec", Switch];
    private readonly string _subnet;

    private VirtualNetwork(string prefix, int subnet)
    {
        Prefix = prefix;
        _subnet = $"10.77.{subnet}";
        RootIp = $"{_subnet}.1";
        _rootLink = prefix + "root";
    }

    /// <summary>A host on the network: its namespace, its address and the name of its port on the switch.</summary>
    public sealed record Host(string Name, string Namespace, string Ip, string SwitchPort);

    public Dictionary<string, Host> Hosts { get; } = [];

    /// <summary>Creates the switch and the root port. Needs root and iproute2; fails with the command's own error otherwise.</summary>
    public static VirtualNetwork Create()
    {
        // A short random prefix: interface names are limited to 15 bytes, and parallel runs must not collide.
        var id = Random.Shared.Next(0x1000, 0xffff).ToString("x", CultureInfo.InvariantCulture);
        var net = new VirtualNetwork($"vt{id}", Random.Shared.Next(10, 250));
        try
        {
            net.Ip($"netns add {net.Switch}");
            net._namespaces.Add(net.Switch);
            net.InNs(net.Switch, "link add br0 type bridge");
            net.InNs(net.Switch, "link set br0 up");
            net.Ip($"link add {net._rootLink} type veth peer name p-root netns {net.Switch}");
            net.Ip($"addr add {net.RootIp}/24 dev {net._rootLink}");
            net.Ip($"link set {net._rootLink} up");
            net.InNs(net.Switch, "link set p-root master br0");
            net.InNs(net.Switch, "link set p-root up");
            return net;
        }
        catch
        {
            net.Dispose();
            throw;
        }
    }

    /// <summary>Adds a host namespace with address 10.77.N.k plugged into the switch.</summary>
    public Host AddHost(string name)
    {
        var k = _nextHost++;
        var ns = $"{Prefix}{name}";
        var port = $"p-{name}";
        var ip = $"{_subnet}.{k}";
        Ip($"netns add {ns}");
        _namespaces.Add(ns);
        Ip($"link add eth0 netns {ns} type veth peer name {port} netns {Switch}");
        InNs(ns, $"addr add {ip}/24 dev eth0");
        InNs(ns, "link set eth0 up");
        InNs(ns, "link set lo up");
        InNs(Switch, $"link set {port} master br0");
        InNs(Switch, $"link set {port} up");
        var host = new Host(name, ns, ip, port);
        Hosts[name] = host;
        return host;
    }

    /// <summary>Cuts a host's link (its switch port goes down): connections stall, nothing is reset.</summary>
    public void Cut(string host) => InNs(Switch, $"link set {Hosts[host].SwitchPort} down");

    public void Restore(string host) => InNs(Switch, $"link set {Hosts[host].SwitchPort} up");

    /// <summary>Shapes what the switch sends to <paramref name="host"/> (traffic into that host) to <paramref name="mbit"/> Mbit/s.</summary>
    public void Shape(string host, int mbit) =>
        Run("tc", $"-n {Switch} qdisc replace dev {Hosts[host].SwitchPort} root tbf rate {mbit}mbit burst 64kb latency 50ms");

    /// <summary>Removes the shaping of <paramref name="host"/>'s link.</summary>
    public void Unshape(string host) => Run("tc", $"-n {Switch} qdisc del dev {Hosts[host].SwitchPort} root");

    /// <summary>Bytes that went into <paramref name="host"/> through its link (the switch port's transmit counter).</summary>
    public long BytesInto(string host) => Counter(host, "tx_bytes");

    /// <summary>Bytes that came out of <paramref name="host"/> through its link.</summary>
    public long BytesOutOf(string host) => Counter(host, "rx_bytes");

    private long Counter(string host, string counter) =>
        long.Parse(Run("ip", $"netns exec {Switch} cat /sys/class/net/{Hosts[host].SwitchPort}/statistics/{counter}").Trim(), CultureInfo.InvariantCulture);

    /// <summary>The command line prefix that runs a program inside a host's namespace (<c>ip netns exec NS</c>).</summary>
    public IReadOnlyList<string> ExecPrefix(string host) => ["ip", "netns", "exec", Hosts[host].Namespace];

    public void Dispose()
    {
        // Deleting a namespace deletes its end of each veth pair, and with it the other end.
        foreach (var ns in Enumerable.Reverse(_namespaces))
            TryRun("ip", $"netns del {ns}");
        TryRun("ip", $"link del {_rootLink}");
    }

    private void Ip(string args) => Run("ip", args);
    private void InNs(string ns, string args) => Run("ip", $"-n {ns} {args}");

    private static string Run(string file, string args)
    {
        var (code, output) = Exec(file, args);
        if (code != 0)
            throw new InvalidOperationException($"`{file} {args}` failed ({code}): {output.Trim()}");
        return output;
    }

    private static void TryRun(string file, string args) => Exec(file, args);

    private static (int Code, string Output) Exec(string file, string args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(30_000))
        {
            p.Kill();
            throw new TimeoutException($"`{file} {args}` did not finish in 30 s");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
