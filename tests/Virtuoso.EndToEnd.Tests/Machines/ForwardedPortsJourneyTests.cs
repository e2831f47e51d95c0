using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Virtuoso.EndToEnd.Tests.Support;

namespace Virtuoso.EndToEnd.Tests.Machines;

/// <summary>
/// Forwarded ports on real parts (issue 14 item 3): the real front-end allocates the host's ports, the real agent has real
/// QEMU forward them, and the system's OpenSSH client logs in to the linux-busybox guest at the address and port that
/// <c>./virtuoso machine ID --json</c> shows; an extra port reaches a server in the guest; the ports close at the stop;
/// a host whose range is used up refuses the next start and changes nothing; a port another program holds on the host is
/// skipped.
/// </summary>
[Collection(RealQemu.Name)]
public sealed class ForwardedPortsJourneyTests : IDisposable
{
    private readonly string _keys = Directory.CreateTempSubdirectory("vt-e2e-keys-").FullName;

    public void Dispose() => Directory.Delete(_keys, recursive: true);

    [Fact]
    public async Task Buyer_LogsInWithPlainSsh_ReachesAnExtraPort_ThePortsCloseAtTheStop_AndAFullHostRefusesTheNextStart()
    {
        Assert.True(Repo.GuestImageBuilt, $"the guest image is not built in {Repo.Images}: run guest/build-image.sh (./test does)");
        await using var m = await Marketplace.StartAsync("alpha", "tiny");
        var alpha = m.Agents["alpha"];
        var tiny = m.Agents["tiny"];
        (await m.CliAsync("p", "signup", "ports-provider", "--password", "provider-pass", "--email", "p@example.com", "--provider")).Ok();
        (await m.CliAsync("p", "login", "ports-provider", "--password", "provider-pass")).Ok();
        await AddHostAsync(m, alpha, "45000-45009");
        await AddHostAsync(m, tiny, "46000-46000"); // one port: one running machine at a time
        (await m.CliAsync("b", "signup", "ports-buyer", "--password", "buyer-pass-1", "--email", "b@example.com", "--buyer")).Ok();
        (await m.CliAsync("b", "login", "ports-buyer", "--password", "buyer-pass-1")).Ok();
        var key = Path.Combine(_keys, "laptop");
        var keygen = await GuestSsh.ToolAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "laptop@test", "-f", key]);
        Assert.True(keygen.Code == 0, $"ssh-keygen failed: {keygen.Error}");
        (await m.CliAsync("b", "keys", "add", "laptop", "--file", key + ".pub")).Ok();

        // Every bad key is refused in one line and stored nowhere: garbage, a private key, a truncated key, 100 KB of text.
        var truncated = File.ReadAllText(key + ".pub").Trim();
        foreach (var (name, text) in new[]
                 {
                     ("garbage", "this is not a key\n"),
                     ("private", File.ReadAllText(key)),
                     ("truncated", truncated[..(truncated.IndexOf(' ') + 30)] + "\n"),
                     ("huge", "ssh-ed25519 " + new string('A', 100_000) + "\n"),
                 })
        {
            var file = Path.Combine(_keys, name + ".pub");
            File.WriteAllText(file, text);
            var refusedKey = await m.CliAsync("b", "keys", "add", name, "--file", file);
            Assert.True(refusedKey.ExitCode != 0, $"the {name} key was accepted");
            Assert.Single(refusedKey.Stderr.Trim().Split('\n'));
        }
        Assert.Equal(["laptop"], (await m.CliAsync("b", "--json", "keys")).Ok().Json.EnumerateArray().Select(k => k.GetProperty("name").GetString()));

        var id = await StoredAsync(m, "port-test", "alpha");
        (await m.CliAsync("b", "ports", id, "--add", "8080")).Ok();
        (await m.CliAsync("b", "start", id)).Ok();

        var shown = (await m.CliAsync("b", "--json", "machine", id)).Ok().Json;
        var address = shown.GetProperty("ssh").GetProperty("address").GetString()!;
        var sshPort = shown.GetProperty("ssh").GetProperty("port").GetInt32();
        Assert.Equal((alpha.ForwardAddress, 45000), (address, sshPort));
        Assert.Equal($"{alpha.ForwardAddress}:45000", shown.GetProperty("ports").GetProperty("22").GetString());
        var web = shown.GetProperty("ports").GetProperty("8080").GetString()!;
        Assert.Equal($"{alpha.ForwardAddress}:45001", web);
        Assert.Contains($"ssh -p 45000 root@{alpha.ForwardAddress}", (await m.CliAsync("b", "machine", id)).Ok().Stdout);

        // Plain ssh, as a buyer would paste it, with the key added to the account: the guest says its name.
        Assert.Equal("port-test", await GuestSsh.WaitAsync(key, address, sshPort, "cat /etc/hostname"));

        // The extra port reaches a server started in the guest (busybox nc), and only that guest.
        // The server runs as long as the ssh session that started it: until its one client has come and gone.
        var serve = GuestSsh.RunAsync(key, address, sshPort, "echo hello-from-port-test | nc -l -p 8080", TimeSpan.FromSeconds(90));
        var answered = await ReadLineAsync(address, 45001);
        if (answered is null)
        {
            var seen = await GuestSsh.RunAsync(key, address, sshPort, "ps; netstat -ltn");
            Assert.Fail($"nothing answered on {address}:45001 within 30 s; in the guest: {seen.Output}{seen.Error}");
        }
        Assert.Equal("hello-from-port-test", answered);
        Assert.Equal(0, (await serve).Code);

        // Suspend, migrate to tiny and resume: SSH answers on tiny's port, and alpha's ports are closed. (tiny has one
        // port: the extra one is given up first, which applies from the resume.)
        (await m.CliAsync("b", "ports", id, "--remove", "8080")).Ok();
        (await m.CliAsync("b", "suspend", id)).Ok();
        Assert.Equal(JsonValueKind.Null, (await m.CliAsync("b", "--json", "machine", id)).Ok().Json.GetProperty("ssh").ValueKind);
        await AssertClosedAsync(address, sshPort);
        var migrated = (await m.CliAsync("b", "--json", "migrate", id, "--host", "tiny", "--method", "DEDUP")).Ok().Json;
        Assert.Equal("done", migrated.GetProperty("phase").GetString());
        var moved = await m.CliAsync("b", "resume", id);
        Assert.True(moved.ExitCode == 0, moved.Stderr);
        var resumed = (await m.CliAsync("b", "--json", "machine", id)).Ok().Json;
        var (newAddress, newPort) = (resumed.GetProperty("ssh").GetProperty("address").GetString()!, resumed.GetProperty("ssh").GetProperty("port").GetInt32());
        Assert.Equal((tiny.ForwardAddress, 46000), (newAddress, newPort));
        Assert.Equal("port-test", await GuestSsh.WaitAsync(key, newAddress, newPort, "cat /etc/hostname"));
        await AssertClosedAsync(address, sshPort);
        await AssertClosedAsync(address, 45001);

        (await m.CliAsync("b", "stop", id)).Ok();
        var stopped = (await m.CliAsync("b", "--json", "machine", id)).Ok().Json;
        Assert.Equal(JsonValueKind.Null, stopped.GetProperty("ssh").ValueKind);
        await AssertClosedAsync(newAddress, newPort);
        (await m.CliAsync("b", "delete", id)).Ok(); // tiny's speed is for the two machines below

        // tiny's one port goes to the first machine started there; the next start is refused and changes nothing.
        var first = await StoredAsync(m, "first-on-tiny", "tiny");
        var second = await StoredAsync(m, "second-on-tiny", "tiny");
        (await m.CliAsync("b", "start", first)).Ok();
        var before = Unmeasured((await m.CliAsync("b", "--json", "machine", second)).Ok().Stdout);

        var refused = await m.CliAsync("b", "start", second);

        Assert.Equal(1, refused.ExitCode);
        Assert.EndsWith("(no-ports)", refused.Stderr.Trim(), StringComparison.Ordinal);
        Assert.Contains("46000-46000", refused.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, Unmeasured((await m.CliAsync("b", "--json", "machine", second)).Ok().Stdout));
        var agentHolds = await m.AgentMachineAsync("tiny", Guid.Parse(second));
        Assert.Equal(("stopped", null as int?), (agentHolds.State, agentHolds.Pid));
        (await m.CliAsync("b", "stop", first)).Ok();
        (await m.CliAsync("b", "start", second)).Ok(); // the port is free again
        Assert.Equal(46000, (await m.CliAsync("b", "--json", "machine", second)).Ok().Json.GetProperty("ssh").GetProperty("port").GetInt32());
        (await m.CliAsync("b", "stop", second)).Ok();

        // Another program holds a port of the range (as the kernel lends one of 32768–60999 to an outgoing connection):
        // the agent refuses that start before QEMU runs, and the front-end gives the next port. Held alone, tiny's one
        // port cannot be given: the start is refused in one line and nothing changes.
        var other = new TcpListener(System.Net.IPAddress.Parse(alpha.ForwardAddress), 45000);
        other.Start();
        try
        {
            var third = await StoredAsync(m, "third-on-alpha", "alpha");
            (await m.CliAsync("b", "start", third)).Ok();
            var skipped = (await m.CliAsync("b", "--json", "machine", third)).Ok().Json;
            Assert.Equal(("running", 45001), (skipped.GetProperty("state").GetString(), skipped.GetProperty("ssh").GetProperty("port").GetInt32()));
            using (var qemuForwards = new TcpClient())
                await qemuForwards.ConnectAsync(alpha.ForwardAddress, 45001).WaitAsync(TimeSpan.FromSeconds(5));
            (await m.CliAsync("b", "stop", third)).Ok();

            using var onTiny = new TcpListener(System.Net.IPAddress.Parse(tiny.ForwardAddress), 46000);
            onTiny.Start();
            var busy = await m.CliAsync("b", "start", second);
            Assert.Equal(1, busy.ExitCode);
            Assert.Single(busy.Stderr.Trim().Split('\n'));
            Assert.Contains($"host port 46000 on {tiny.ForwardAddress} is held by another program", busy.Stderr, StringComparison.Ordinal);
            Assert.Equal(("stopped", null as int?), ((await m.AgentMachineAsync("tiny", Guid.Parse(second))).State, (await m.AgentMachineAsync("tiny", Guid.Parse(second))).Pid));
            Assert.Equal("stopped", (await m.CliAsync("b", "--json", "machine", second)).Ok().Json.GetProperty("state").GetString());
        }
        finally
        {
            other.Stop();
        }
    }

    /// <summary>A machine's JSON without what the host monitor copies from the agent in the background (issue 17).</summary>
    private static string Unmeasured(string json)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        foreach (var measured in new[] { "cpuShare", "vcpus", "cpuUsed", "memoryUsedMb" })
            node.Remove(measured);
        return node.ToJsonString();
    }

    private static async Task AddHostAsync(Marketplace m, Marketplace.Agent agent, string ports) =>
        (await m.CliAsync("p", "host", "add", agent.Name, "--address", "127.0.0.1", "--port", agent.Port.ToString(), "--processor", "x86_64",
            "--speed", "10000", "--speed-unit", "1000", "--speed-price", "0.00001", "--memory", "4096", "--memory-unit", "4",
            "--memory-price", "0.00001", "--running-period", "3600", "--storage", "20000", "--storage-unit", "100",
            "--storage-price", "0.01", "--storage-period", "30", "--connect-speed", "1Gbps", "--secret", agent.Secret,
            "--public-address", agent.ForwardAddress, "--ports", ports)).Ok();

    private static async Task<string> StoredAsync(Marketplace m, string name, string host)
    {
        var id = (await m.CliAsync("b", "--json", "register", "--config", "linux-busybox", "--name", name, "--storage-bid", "30", "--running-bid", "3"))
            .Ok().Json.GetProperty("id").GetGuid().ToString();
        (await m.CliAsync("b", "store", id, "--host", host)).Ok();
        return id;
    }

    /// <summary>Connects until the guest's server answers (until nc listens, QEMU accepts and closes at once), and reads its line; null after 30 s.</summary>
    private static async Task<string?> ReadLineAsync(string address, int port)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(address, port).WaitAsync(TimeSpan.FromSeconds(5));
                using var reader = new StreamReader(tcp.GetStream(), Encoding.ASCII);
                var line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(5));
                if (!string.IsNullOrEmpty(line)) return line;
            }
            catch (Exception e) when (e is SocketException or IOException or TimeoutException) { /* not listening yet: try again */ }
            if (watch.Elapsed > TimeSpan.FromSeconds(30)) return null;
            await Task.Delay(500);
        }
    }

    private static async Task AssertClosedAsync(string address, int port)
    {
        using var tcp = new TcpClient();
        var e = await Assert.ThrowsAsync<SocketException>(() => tcp.ConnectAsync(address, port).WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
    }
}
