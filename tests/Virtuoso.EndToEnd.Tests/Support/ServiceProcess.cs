using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Virtuoso.EndToEnd.Tests.Support;

/// <summary>A front-end or agent started as a real process from its build output, with its output captured to a log file.</summary>
internal sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    public string LogFile { get; }

    private ServiceProcess(Process process, string logFile) { _process = process; LogFile = logFile; }

    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;

    /// <param name="prefix">A command that runs the rest, e.g. <c>ip netns exec NS</c> (it must exec, so the process
    /// started is the service itself and killing it kills the service).</param>
    public static ServiceProcess Start(string dll, IEnumerable<string> args, IDictionary<string, string> env, string logFile,
        IReadOnlyList<string>? prefix = null)
    {
        var command = (prefix ?? []).Append("dotnet").ToList();
        return StartProgram(command[0], [.. command.Skip(1), dll, .. args], env, logFile);
    }

    /// <summary>Any program (e.g. HAProxy), its output captured to <paramref name="logFile"/>.</summary>
    public static ServiceProcess StartProgram(string file, IEnumerable<string> args, IDictionary<string, string> env, string logFile)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        psi.Environment["DOTNET_NOLOGO"] = "1";
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var log = new StreamWriter(logFile, append: true, Encoding.UTF8) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ServiceProcess(process, logFile);
    }

    /// <summary>Waits until <paramref name="url"/> answers 2xx, or fails naming the log to read.</summary>
    public async Task WaitHealthyAsync(string url, TimeSpan timeout)
    {
        // Liveness only: an agent's certificate (issue 20) is checked where it matters, by the front-end and Marketplace.AgentClient.
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator })
        { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"process exited ({_process.ExitCode}); see {LogFile}:\n{Tail()}");
            try { if ((await http.GetAsync(url)).IsSuccessStatusCode) return; }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200);
        }
        throw new TimeoutException($"{url} did not answer within {timeout}; see {LogFile}:\n{Tail()}");
    }

    public string Tail(int lines = 30) => File.Exists(LogFile) ? string.Join('\n', File.ReadAllLines(LogFile).TakeLast(lines)) : "";

    /// <summary>Sends a signal by name (STOP freezes the process as an unreachable host would be, CONT lets it go on).</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start("kill", ["-" + name, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>Waits until the process has ended by itself.</summary>
    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(new CancellationTokenSource(timeout).Token);

    public async Task StopAsync()
    {
        if (_process.HasExited) return;
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
