using System.Diagnostics;

namespace Virtuoso.Agent.Network;

/// <summary>A host network command (<c>ip</c>, <c>bridge</c>, <c>nft</c>) failed; the message names it and holds its stderr.</summary>
internal sealed class NetworkException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Runs the host's network commands: the one place the private networks touch the host (issue 16). A test records the
/// commands instead, or runs them inside a network namespace (<see cref="ProcessCommandRunner"/>'s prefix).
/// </summary>
internal interface ICommandRunner
{
    /// <summary>Runs <paramref name="program"/> with <paramref name="args"/> (and <paramref name="stdin"/>, if any) and returns
    /// its standard output; a non-zero exit or a timeout throws <see cref="NetworkException"/> with its standard error.</summary>
    Task<string> RunAsync(string program, IReadOnlyList<string> args, string? stdin = null);
}

/// <summary>
/// Runs commands as processes, without a shell (every argument is one <see cref="ProcessStartInfo.ArgumentList"/> entry).
/// </summary>
/// <param name="prefix">Put before every command, e.g. <c>ip netns exec NS</c> to act inside a namespace (tests).</param>
internal sealed class ProcessCommandRunner(IReadOnlyList<string>? prefix = null) : ICommandRunner
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    public async Task<string> RunAsync(string program, IReadOnlyList<string> args, string? stdin = null)
    {
        var all = (prefix ?? []).Append(program).Concat(args).ToList();
        var psi = new ProcessStartInfo(all[0])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in all.Skip(1))
            psi.ArgumentList.Add(a);
        var line = string.Join(' ', all);
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new NetworkException($"could not start {line}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new NetworkException($"could not start {line}: {e.Message}", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (stdin is not null)
                await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
            using var cts = new CancellationTokenSource(Timeout);
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new NetworkException($"{line} did not finish within {Timeout.TotalSeconds:0} s");
            }
            if (process.ExitCode != 0)
                throw new NetworkException($"{line} failed with code {process.ExitCode}: {(await stderr).Trim()}");
            return await stdout;
        }
    }
}
