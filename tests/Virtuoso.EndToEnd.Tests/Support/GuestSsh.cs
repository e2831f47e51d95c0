using System.Diagnostics;

namespace Virtuoso.EndToEnd.Tests.Support;

/// <summary>The system's OpenSSH client (and other tools) run against a guest the way a buyer would, for end-to-end tests.</summary>
internal static class GuestSsh
{
    public static readonly TimeSpan Boot = TimeSpan.FromSeconds(150);

    /// <summary><c>ssh -p PORT -i KEY root@ADDRESS COMMAND</c>, non-interactive, trusting any host key.</summary>
    public static Task<(int Code, string Output, string Error)> RunAsync(string key, string address, int port, string command, TimeSpan? timeout = null, params string[] extra) =>
        ToolAsync("ssh", Args(key, address, port, command, extra), timeout);

    public static string[] Args(string key, string address, int port, string command, params string[] extra) =>
        ["-p", $"{port}", "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
         "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", .. extra, $"root@{address}", command];

    /// <summary>Until <paramref name="command"/> succeeds over SSH (the guest boots meanwhile); its output, trimmed.</summary>
    /// <param name="within">How long the boot may take; <see cref="Boot"/> unless given.</param>
    public static async Task<string> WaitAsync(string key, string address, int port, string command, TimeSpan? within = null)
    {
        var boot = within ?? Boot;
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var (code, output, error) = await RunAsync(key, address, port, command, null, "-o", "ConnectTimeout=5");
            if (code == 0) return output.Trim();
            if (watch.Elapsed > boot)
                throw new TimeoutException($"ssh -p {port} root@{address} did not succeed within {boot.TotalSeconds} s: {error}");
            await Task.Delay(1000);
        }
    }

    /// <summary>Runs a tool to its end (30 s unless given), its standard input closed.</summary>
    public static async Task<(int Code, string Output, string Error)> ToolAsync(string tool, IReadOnlyList<string> args, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} {string.Join(' ', args)} did not finish within {(timeout ?? TimeSpan.FromSeconds(30)).TotalSeconds} s");
        }
        return (process.ExitCode, await output, await error);
    }
}
