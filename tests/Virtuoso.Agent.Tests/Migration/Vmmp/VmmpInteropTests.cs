using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.Agent.Tests.Migration.Vmmp;

/// <summary>
/// Issue 4's proof that VMMP is a protocol and not one program's habit: <c>tests/interop/vmmp_peer.py</c>, a peer
/// written in Python from design §6.1 alone (no code shared with <c>Contracts/Vmmp</c>), runs its scripted
/// conversation against a real agent and must find every answer right; against a peer that answers wrongly it must
/// say so, or its success would prove nothing.
/// </summary>
public sealed class VmmpInteropTests : IAsyncLifetime
{
    private readonly TestDirectory _dir = new();
    private AgentFactory _agent = null!;

    public Task InitializeAsync()
    {
        // A real agent on real loopback ports, with the real VMM (no fake): the peer needs no machine to exist.
        _agent = KestrelAgent.Start(_dir.Sub("data"));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task PythonPeer_WrittenFromTheDesignAlone_GetsCorrectAnswersFromTheAgent()
    {
        var health = await _agent.CreateAuthenticatedClient().GetFromJsonAsync<AgentHealth>(AgentRoutes.Health);
        var methods = health!.Methods!;
        Assert.Equal(VmmpMethods.All.Order(StringComparer.Ordinal), methods);

        var secretFile = Path.Combine(_dir.Path, "secret");
        await File.WriteAllTextAsync(secretFile, AgentFactory.Secret + "\n");

        var run = await PythonPeer.RunAsync(health.VmmpPort!.Value, methods, secretFile);

        Assert.True(run.ExitCode == 0, $"the Python peer found wrong answers (exit {run.ExitCode}): {run.FailedChecks()}\n{run.Stderr}");
        Assert.True(run.Report.GetProperty("ok").GetBoolean());
        Assert.Equal(0, run.Report.GetProperty("failed").GetInt32());
        Assert.Equal(methods, run.Report.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));

        // QUERY → RESULTS with the advertised methods, on fresh and reused connections, first and last.
        foreach (var name in new[] { "query", "query-another-machine", "query-twice-one-connection", "query-final" })
            Assert.Equal("results", run.Check(name).GetProperty("outcome").GetString());
        // A REQ no front-end announced: FAIL (or closed), and the agent contacted neither ORIG nor CENTRAL.
        foreach (var method in methods)
            Assert.Contains(run.Check("req-unannounced-" + method).GetProperty("outcome").GetString(), new[] { "fail", "closed" });
        Assert.Equal("untouched", run.Check("req-unannounced-changes-nothing").GetProperty("outcome").GetString());
        // Malformed lines: FAIL or closed, and a fresh QUERY is answered after each one.
        var malformed = run.Checks.Where(c => c.GetProperty("name").GetString()!.StartsWith("malformed-", StringComparison.Ordinal)).ToList();
        Assert.True(malformed.Count >= 40, $"only {malformed.Count} malformed cases ran");
        Assert.All(malformed, c => Assert.Equal("results", c.GetProperty("then").GetString()));
        foreach (var name in new[] { "wrong-version", "non-numeric-version", "query-missing-methods", "req-missing-method",
                     "query-extra-field", "req-extra-field", "req-unknown-method", "overlong-line", "overlong-no-line-end",
                     "non-ascii-utf8", "non-ascii-byte" })
            Assert.Contains(run.Check("malformed-" + name).GetProperty("outcome").GetString(), new[] { "fail", "closed" });

        // Issue 20: a QUERY that proves nothing gets no RESULTS.
        Assert.Contains(run.Check("unproven-query").GetProperty("outcome").GetString(), new[] { "fail", "closed" });

        // Changed nothing: no migration was started by any of it.
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_agent.DataDirectory, "incoming")));
    }

    [Theory]
    [InlineData(WrongPeer.Fault.CountOffByOne, "query", "N_METHODS")]
    [InlineData(WrongPeer.Fault.OtherVersion, "query", "version")]
    [InlineData(WrongPeer.Fault.OtherMachine, "query", "names machine")]
    [InlineData(WrongPeer.Fault.SuccessToAnyReq, "req-unannounced-SCP", "SUCCESS")]
    [InlineData(WrongPeer.Fault.DiesOnMalformed, "malformed-wrong-version", "fresh QUERY")]
    [InlineData(WrongPeer.Fault.ResultsToMalformed, "malformed-wrong-version", "RESULTS")]
    public async Task PythonPeer_AgainstWrongAnswers_ExitsNonZeroNamingTheCheck(WrongPeer.Fault fault, string check, string why)
    {
        using var wrong = new WrongPeer(fault);

        var run = await PythonPeer.RunAsync(wrong.Port, VmmpMethods.All);

        Assert.Equal(1, run.ExitCode);
        Assert.False(run.Report.GetProperty("ok").GetBoolean());
        var failed = run.Check(check);
        Assert.False(failed.GetProperty("ok").GetBoolean());
        Assert.Contains(why, failed.GetProperty("why").GetString());
    }

    /// <summary>A VMMP port that answers like the agent except for one fault, to show the Python peer can fail.</summary>
    public sealed class WrongPeer : IDisposable
    {
        public enum Fault { CountOffByOne, OtherVersion, OtherMachine, SuccessToAnyReq, DiesOnMalformed, ResultsToMalformed }

        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Fault _fault;

        public WrongPeer(Fault fault)
        {
            _fault = fault;
            _listener.Start();
            _ = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return; // stopped
                }
                _ = ServeAsync(client);
            }
        }

        private async Task ServeAsync(TcpClient client)
        {
            using var _ = client;
            var stream = client.GetStream();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            try
            {
                while (await VmmpWire.ReadLineAsync(stream, timeout.Token) is { } line)
                {
                    var answer = Answer(line);
                    if (answer is null)
                        return;
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(answer + "\n"), timeout.Token);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or InvalidDataException or FormatException)
            {
                // the Python peer's overlong and non-ASCII lines end up here: the connection just closes
            }
        }

        private string? Answer(string line)
        {
            var message = VmmpWire.Parse(line).Message;
            switch (message)
            {
                case VmmpQuery q:
                    var results = VmmpWire.Format(new VmmpResults(_fault == Fault.OtherMachine ? Guid.NewGuid() : q.MachineId, VmmpMethods.All));
                    return _fault switch
                    {
                        Fault.CountOffByOne => results.Replace($" {VmmpMethods.All.Count} ", $" {VmmpMethods.All.Count + 1} ", StringComparison.Ordinal),
                        Fault.OtherVersion => results.Replace("<VMMP 1.0 ", "<VMMP 1.1 ", StringComparison.Ordinal),
                        _ => results,
                    };
                case VmmpReq r:
                    return VmmpWire.Format(_fault == Fault.SuccessToAnyReq ? new VmmpResp(r.MachineId, r.Version + 1, true) : new VmmpResp(r.MachineId, r.Version, false));
                case null when _fault == Fault.DiesOnMalformed:
                    _stop.Cancel(); // a crash: nothing answers any more
                    _listener.Stop();
                    return null;
                case null when _fault == Fault.ResultsToMalformed && line.Split(' ') is [_, _, _, var id, ..] && Guid.TryParse(id, out var machine):
                    return VmmpWire.Format(new VmmpResults(machine, VmmpMethods.All));
                default:
                    return null;
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }
    }
}

/// <summary>Runs <c>tests/interop/vmmp_peer.py</c> as a child process and reads its one JSON line.</summary>
internal static class PythonPeer
{
    /// <summary>The whole conversation takes a few seconds; this only keeps a hung peer from hanging the test run.</summary>
    private static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(120);

    public sealed record Run(int ExitCode, JsonElement Report, string Stdout, string Stderr)
    {
        public IEnumerable<JsonElement> Checks => Report.GetProperty("checks").EnumerateArray();

        public JsonElement Check(string name) =>
            Checks.SingleOrDefault(c => c.GetProperty("name").GetString() == name) is { ValueKind: JsonValueKind.Object } c
                ? c
                : throw new Xunit.Sdk.XunitException($"the Python peer reported no check named {name}: {Stdout}");

        public string FailedChecks() => string.Join("\n", Checks.Where(c => !c.GetProperty("ok").GetBoolean()).Select(c => c.GetRawText()));
    }

    public static string Script => Path.Combine(RealQemu.RepositoryRoot, "tests", "interop", "vmmp_peer.py");

    public static async Task<Run> RunAsync(int port, IEnumerable<string> expectMethods, string? secretFile = null)
    {
        var python = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "python3")).FirstOrDefault(File.Exists)
            ?? throw new Xunit.Sdk.XunitException("python3 is not installed (not on PATH): the VMMP interop test runs the Python peer " +
                                                  "tests/interop/vmmp_peer.py; ./test installs it (scripts/lib.sh), or apt-get install python3");
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { Script, "127.0.0.1", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--expect-methods", string.Join(",", expectMethods), "--timeout", "10" })
            start.ArgumentList.Add(arg);
        if (secretFile is not null)
        {
            start.ArgumentList.Add("--secret-file");
            start.ArgumentList.Add(secretFile);
        }

        using var process = Process.Start(start) ?? throw new Win32Exception($"cannot start {python}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(PeerTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the Python peer did not finish within {PeerTimeout.TotalSeconds} s: {await stderr}");
        }
        var output = await stdout;
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"the Python peer must print exactly one JSON line (exit {process.ExitCode}); it printed:\n{output}\n{await stderr}");
        return new Run(process.ExitCode, JsonDocument.Parse(lines[0]).RootElement.Clone(), output, await stderr);
    }
}
