using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Virtuoso.Agent.Machines;

namespace Virtuoso.Agent.Vmm.Qemu;

/// <summary>
/// Starting QEMU processes and finding them again. QEMU runs as a child of the agent (not -daemonize: saving state
/// through a migration failed under it) but in its own session, with its standard streams on a file in the machine
/// directory, so that it survives the agent exiting or restarting and holds no pipe of the agent's.
/// </summary>
internal static class QemuProcess
{
    /// <summary>
    /// Starts <paramref name="qemu"/> in <paramref name="dir"/>, detached. Returns the launched process (setsid may exec in
    /// place or fork; the pidfile is the truth). The shell first writes its own pid to each of <paramref name="cgroupProcs"/>
    /// (the machine's cgroup, issue 17), then execs QEMU: so QEMU and every thread it makes run inside the cgroup from
    /// their first instruction; if joining fails, QEMU never starts.
    /// </summary>
    public static Process Launch(string qemu, IReadOnlyList<string> args, MachineDirectory dir, IReadOnlyList<string>? cgroupProcs = null)
    {
        var psi = new ProcessStartInfo("setsid") { WorkingDirectory = dir.Root, UseShellExecute = false };
        // sh replaces the inherited stdin/stdout/stderr before exec'ing QEMU; "$0" "$@" passes the arguments unquoted.
        psi.ArgumentList.Add("/bin/sh");
        psi.ArgumentList.Add("-c");
        var join = string.Concat((cgroupProcs ?? []).Select(f => $"echo $$ >{QemuCommandLine.ShellQuote(f)} || exit 125; "));
        psi.ArgumentList.Add($"exec </dev/null >>{Path.GetFileName(dir.VmmLog)} 2>&1; {join}exec \"$0\" \"$@\"");
        psi.ArgumentList.Add(qemu);
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        try
        {
            return Process.Start(psi) ?? throw new VmmException($"could not start {qemu}");
        }
        catch (Win32Exception e)
        {
            throw new VmmException($"could not start {qemu} through setsid: {e.Message}", e);
        }
    }

    /// <summary>The pid in the pidfile, when that process lives and is the QEMU of machine <paramref name="id"/>.</summary>
    public static int? Find(MachineDirectory dir, Guid id)
    {
        string text;
        try
        {
            text = File.ReadAllText(dir.PidFile);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        return int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && IsMachine(pid, id) ? pid : null;
    }

    /// <summary>Whether <paramref name="pid"/> is a live (not zombie) process whose command line names machine <paramref name="id"/>.</summary>
    public static bool IsMachine(int pid, Guid id)
    {
        try
        {
            // /proc/<pid>/stat: "pid (comm) S ...": the state follows the last ')'.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].FirstOrDefault();
            if (state is 'Z' or 'X')
                return false;
            var cmdline = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            return cmdline.Contains(id.ToString("D"));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            // The process ended while we looked.
            return false;
        }
    }

    public static void Kill(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }
        catch (ArgumentException)
        {
            // Already gone.
        }
        catch (InvalidOperationException)
        {
            // Exited between the lookup and the kill.
        }
    }

    /// <summary>Waits until the process is no longer machine <paramref name="id"/>'s QEMU. Returns false on timeout.</summary>
    public static async Task<bool> WaitForExitAsync(int pid, Guid id, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (IsMachine(pid, id))
        {
            if (Stopwatch.GetTimestamp() > deadline)
                return false;
            await Task.Delay(50);
        }
        return true;
    }

    /// <summary>The first VNC display at or above <paramref name="from"/> whose TCP port on 127.0.0.1 is free now.</summary>
    public static int FreeVncDisplay(int from)
    {
        for (var display = from; display < from + 1000 && 5900 + display < 65536; display++)
        {
            try
            {
                var probe = new TcpListener(IPAddress.Loopback, 5900 + display);
                probe.Start();
                probe.Stop();
                return display;
            }
            catch (SocketException)
            {
                // Taken; try the next.
            }
        }
        throw new VmmException($"no free VNC display between {from} and {from + 999} on 127.0.0.1");
    }

    /// <summary>The last lines QEMU wrote to its log, for error messages.</summary>
    public static string LogTail(MachineDirectory dir)
    {
        try
        {
            var lines = File.ReadAllLines(dir.VmmLog).Where(l => l.Length > 0).TakeLast(3);
            return string.Join(" | ", lines);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return "(no output)";
        }
    }
}
