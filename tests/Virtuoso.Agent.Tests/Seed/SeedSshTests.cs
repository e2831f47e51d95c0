using System.Diagnostics;
using Virtuoso.Agent.Seed;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;
using Xunit.Abstractions;

namespace Virtuoso.Agent.Tests.Seed;

/// <summary>
/// Issue 14 end to end on real QEMU: the agent's cloud-init seed read by the linux-busybox guest, and the system's
/// OpenSSH client logging in through a forwarded port of 127.0.0.1.
/// </summary>
[Collection(QemuCollection.Name)]
public sealed class SeedSshTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(120);
    private readonly TestDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [GuestImageFact]
    public async Task Guest_TakesHostnameAndKeysFromTheSeed_AtEveryStart_AndKeepsItsSeedAcrossSuspendAndResume()
    {
        var keys = _dir.Sub("keys");
        var first = await NewKeyAsync(keys, "first");
        var second = await NewKeyAsync(keys, "second");
        await using var agent = new AgentFactory(_dir.Sub("agent"), settings: new Dictionary<string, string?>
        {
            ["images"] = RealQemu.ImagesDirectory,
            ["stop-timeout"] = "30",
        });
        var client = agent.CreateAuthenticatedClient();
        var id = Guid.NewGuid();
        var machine = Path.Combine(agent.DataDirectory, "machines", id.ToString("D"));
        await client.CreateAsync(AgentApi.Blank(id, version: 1, memoryMb: 256, diskMb: 1000) with { Image = "linux-busybox" });

        // A comment with quotes and a backslash must reach authorized_keys intact, and inject nothing.
        var firstKey = (await File.ReadAllTextAsync(first + ".pub")).Trim() + " \"quoted\" back\\slash";
        var port = TestPorts.Free();
        var watch = Stopwatch.StartNew();
        await client.CommandAsync(id, "start", new MachineCommand(1, 1, new GuestMetadata("web-1", [firstKey]), [new PortForward(port, 22)]));

        Assert.Equal("web-1", await WaitForSshAsync(first, port, "cat /etc/hostname"));
        output.WriteLine($"start to ssh answering: {watch.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(firstKey, await SshAsync(first, port, "cat /root/.ssh/authorized_keys"));
        Assert.Equal("web-1", await SshAsync(first, port, "hostname"));
        var refused = await RunSshAsync(second, port, "true");
        Assert.Equal(255, refused.Code);
        Assert.Contains("Permission denied", refused.Error);
        // Password logins are not offered at all: the server lists public keys as the only way in.
        var password = await RunSshAsync(null, port, "true", "-v", "-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no");
        Assert.Equal(255, password.Code);
        Assert.Contains("Authentications that can continue: publickey\n", password.Error.ReplaceLineEndings("\n"));

        // Suspended, then resumed where the seed did not come along (a machine that migrated in: only disk and state
        // travel): the agent rebuilds one, so QEMU has the devices the state was saved with, and forwards the new port.
        await client.CommandAsync(id, "suspend", 1, 2);
        File.Delete(Path.Combine(machine, "seed.iso"));
        var port2 = TestPorts.Free();
        var resumed = await client.CommandAsync(id, "resume", new MachineCommand(2, 2, new GuestMetadata("web-1", [firstKey]), [new PortForward(port2, 22)]));
        Assert.Equal(AgentStates.Running, resumed.State);
        Assert.Equal(SeedDrive.Size, new FileInfo(Path.Combine(machine, "seed.iso")).Length);
        Assert.Equal("web-1", await WaitForSshAsync(first, port2, "cat /etc/hostname"));
        Assert.Equal("/dev/vda /dev/vdb", await SshAsync(first, port2, "echo /dev/vd*"));

        // The next start takes the metadata of that moment: a new name, and only the second key.
        await client.CommandAsync(id, "stop", 2, 3);
        await client.CommandAsync(id, "start", new MachineCommand(3, 3, new GuestMetadata("db-2", [(await File.ReadAllTextAsync(second + ".pub")).Trim()]), [new PortForward(port, 22)]));
        Assert.Equal("db-2", await WaitForSshAsync(second, port, "cat /etc/hostname"));
        Assert.Equal(255, (await RunSshAsync(first, port, "true")).Code);
        await client.CommandAsync(id, "stop", 3, 4);
    }

    private static async Task<string> NewKeyAsync(string dir, string name)
    {
        var path = Path.Combine(dir, name);
        var (code, _, error) = await RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", $"{name}@test", "-f", path]);
        Assert.True(code == 0, $"ssh-keygen failed: {error}");
        return path;
    }

    private static async Task<string> WaitForSshAsync(string key, int port, string command)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var (code, output, error) = await RunSshAsync(key, port, command, "-o", "ConnectTimeout=5");
            if (code == 0)
                return output.Trim();
            if (watch.Elapsed > BootTimeout)
                throw new TimeoutException($"ssh to 127.0.0.1:{port} did not succeed within {BootTimeout.TotalSeconds} s: {error}");
            await Task.Delay(500);
        }
    }

    private static async Task<string> SshAsync(string key, int port, string command)
    {
        var (code, output, error) = await RunSshAsync(key, port, command);
        Assert.True(code == 0, $"ssh {command} failed ({code}): {error}");
        return output.Trim();
    }

    private static Task<(int Code, string Output, string Error)> RunSshAsync(string? key, int port, string command, params string[] extra)
    {
        List<string> args = ["-p", $"{port}", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
            "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR"];
        if (key is not null)
            args.AddRange(["-i", key]);
        else
            args.AddRange(["-o", "IdentityFile=/dev/null"]);
        args.AddRange(extra);
        args.AddRange(["root@127.0.0.1", command]);
        return RunAsync("ssh", args);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(string tool, IReadOnlyList<string> args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} {string.Join(' ', args)} did not finish within 30 s");
        }
        return (process.ExitCode, await output, await error);
    }
}
