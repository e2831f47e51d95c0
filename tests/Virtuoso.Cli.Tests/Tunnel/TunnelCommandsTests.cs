using System.Net.WebSockets;
using System.Text;
using Virtuoso.Cli.Tests.Support;
using Virtuoso.Cli.Tunnel;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Tests.Tunnel;

/// <summary>
/// <c>virtuoso tunnel</c> and <c>virtuoso ssh</c> (design §10, issue 14 item 4) against the fake API, whose tunnel
/// WebSocket greets with its port, echoes, and says bye when our input ends; <c>ssh</c> runs a fake ssh that tells
/// what it was given.
/// </summary>
public sealed class TunnelCommandsTests : IAsyncLifetime
{
    private Harness h = null!;

    public async Task InitializeAsync() => h = (await Harness.StartAsync()).LogIn();

    public async Task DisposeAsync() => await h.DisposeAsync();

    private static readonly string Id = Samples.WebId.ToString();

    [Fact]
    public async Task Tunnel_AsksForATicketToThePort_RelaysInputAndOutput_AndEndsWhenTheGuestCloses()
    {
        h.Api.Json($"POST /api/v1/machines/{Id}/tunnel", new TunnelTicketResponse(Samples.WebId, 22, "t1", "/tunnel/ws?ticket=t1", DateTimeOffset.UtcNow.AddSeconds(30)));
        h.Api.WebSocket("/tunnel/ws", GuestAsync);
        var output = new MemoryStream();

        var run = await RunAsync(new MemoryStream("hello"u8.ToArray()), output, "tunnel", Id, "22");

        run.Succeeded();
        Assert.Equal("guest port 22\nhellobye\n", Encoding.ASCII.GetString(output.ToArray()));
        var ticket = Assert.Single(h.Api.Requests, r => r.Method == "POST");
        Assert.Equal(22, ticket.BodyAs<TunnelRequest>().Port);
        Assert.Equal("Bearer token-alice", ticket.Authorization);
        Assert.Contains(h.Api.Requests, r => r.Path == "/tunnel/ws" && r.Query == "?ticket=t1");
    }

    [Fact]
    public async Task Tunnel_RefusedByTheServer_OrToABadPort_FailsInOneLine()
    {
        h.Api.Problem($"POST /api/v1/machines/{Id}/tunnel", 409, ErrorCodes.InvalidState, "Not allowed in the machine's state", "cannot open a tunnel to a machine that is stopped");
        var refused = await RunAsync(new MemoryStream(), new MemoryStream(), "tunnel", Id, "22");
        Assert.Contains("stopped", refused.Failed(1, ErrorCodes.InvalidState));

        foreach (var port in new[] { "0", "65536", "ssh" })
            (await RunAsync(new MemoryStream(), new MemoryStream(), "tunnel", Id, port)).Failed(2, Failure.UsageCode);

        // A ticket that the WebSocket does not accept (used already): one line too.
        h.Api.Json($"POST /api/v1/machines/{Id}/tunnel", new TunnelTicketResponse(Samples.WebId, 22, "t2", "/tunnel/nowhere?ticket=t2", DateTimeOffset.UtcNow));
        var line = (await RunAsync(new MemoryStream(), new MemoryStream(), "tunnel", Id, "22")).Failed(1, TunnelRelay.RefusedCode);
        Assert.Contains("404", line);
    }

    [Fact]
    public async Task Ssh_RunsTheSystemsSshAsRoot_ThroughThisCliAsProxyCommand_WithTheKeyAndTheCommand_AndReturnsItsExitCode()
    {
        h.Api.Json($"GET /api/v1/machines/{Id}", Samples.Machine(state: "running", host: "virt13"));
        var (ssh, argsFile) = FakeSsh(exit: 7);
        var key = Path.Combine(h.Root, "it's key");
        await File.WriteAllTextAsync(key, "private");
        h.Environment["VIRTUOSO_SSH"] = ssh;
        h.Environment["VIRTUOSO_CLI"] = "/opt/virtuoso 100%/virtuoso";

        var run = await h.RunAsync("ssh", Id, "-i", key, "--", "cat", "/etc/hostname");

        Assert.Equal(7, run.Exit);
        Assert.Equal($"VIRTUOSO_HOME={h.VirtuosoHome}\n", run.Out);
        var args = await File.ReadAllLinesAsync(argsFile);
        Assert.Equal(
        [
            "-o", $"ProxyCommand='/opt/virtuoso 100%%/virtuoso' '--server' '{h.Api.Url}' 'tunnel' '{Id}' '22'",
            "-o", $"HostKeyAlias={Id}",
            "-o", "StrictHostKeyChecking=accept-new",
            "-o", $"UserKnownHostsFile='{h.VirtuosoHome}/known_hosts'",
            "-i", key, "-o", "IdentitiesOnly=yes",
            "-l", "root", Id,
            "cat", "/etc/hostname",
        ], args);
    }

    [Fact]
    public async Task Ssh_WithoutAKey_LeavesTheChoiceToSsh_AndAStoppedMachineOrAMissingKeyIsRefusedBeforeSshRuns()
    {
        var (ssh, argsFile) = FakeSsh(exit: 0);
        h.Environment["VIRTUOSO_SSH"] = ssh;
        h.Api.Json($"GET /api/v1/machines/{Id}", Samples.Machine(state: "running", host: "virt13"));
        (await h.RunAsync("ssh", Id)).Succeeded();
        var args = await File.ReadAllLinesAsync(argsFile);
        Assert.DoesNotContain("-i", args);
        Assert.Equal(["-l", "root", Id], args[^3..]);
        File.Delete(argsFile);

        (await h.RunAsync("ssh", Id, "-i", Path.Combine(h.Root, "missing"))).Failed(2, Failure.LocalFilesCode);
        h.Api.Json($"GET /api/v1/machines/{Id}", Samples.Machine(state: "stopped", host: "virt13"));
        Assert.Contains("stopped", (await h.RunAsync("ssh", Id)).Failed(1, ErrorCodes.InvalidState));
        Assert.False(File.Exists(argsFile), "ssh ran");
    }

    [Fact]
    public void WebSocketUri_FollowsTheServersScheme()
    {
        Assert.Equal("ws://127.0.0.1:5080/tunnel/ws?ticket=a", TunnelCommands.WebSocketUri(new Uri("http://127.0.0.1:5080"), "/tunnel/ws?ticket=a").ToString());
        Assert.Equal("wss://market.example/tunnel/ws?ticket=a", TunnelCommands.WebSocketUri(new Uri("https://market.example/"), "/tunnel/ws?ticket=a").ToString());
    }

    [Fact]
    public async Task Help_ListsTunnelAndSsh()
    {
        var help = (await h.RunAsync("--help")).Out.Split('\n').Select(l => l.Trim()).ToList();
        Assert.Contains(help, l => l.StartsWith("tunnel <ID> <PORT> ", StringComparison.Ordinal) && l.Contains("through the front-end"));
        Assert.Contains(help, l => l.StartsWith("ssh <ID> <COMMAND> ", StringComparison.Ordinal) && l.Contains("as root"));
    }

    private async Task<Run> RunAsync(Stream input, Stream output, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var settings = CliSettings.From(h.Environment) with { Stdio = new Stdio(input, output, Inherited: false) };
        var exit = await Cli.RunAsync(args, stdout, stderr, settings);
        return new Run(exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A shell script standing in for ssh: writes its arguments one a line, says its VIRTUOSO_HOME, exits as told.</summary>
    private (string Path, string ArgsFile) FakeSsh(int exit)
    {
        var script = Path.Combine(h.Root, "fake-ssh");
        var argsFile = Path.Combine(h.Root, "ssh-args");
        File.WriteAllText(script, $"#!/bin/sh\nprintf '%s\\n' \"$@\" > '{argsFile}'\necho \"VIRTUOSO_HOME=$VIRTUOSO_HOME\"\nexit {exit}\n");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return (script, argsFile);
    }

    private static async Task GuestAsync(WebSocket ws)
    {
        await ws.SendAsync("guest port 22\n"u8.ToArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
        var buffer = new byte[4096];
        while (true)
        {
            var r = await ws.ReceiveAsync(buffer, CancellationToken.None);
            if (r.MessageType == WebSocketMessageType.Close)
            {
                await ws.SendAsync("bye\n"u8.ToArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
                await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "the guest closed the connection", CancellationToken.None);
                return;
            }

            await ws.SendAsync(buffer.AsMemory(0, r.Count), WebSocketMessageType.Binary, true, CancellationToken.None);
        }
    }
}
