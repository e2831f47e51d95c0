using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Virtuoso.Agent.Vmm.Qemu;

/// <summary>The outcome of a probe boot under KVM.</summary>
internal sealed record ProbeResult(bool KvmWorks, string Reason);

/// <summary>
/// Boots a Linux kernel under <c>-accel kvm</c> and watches its serial port (design §2: "KVM is used only when a short
/// probe boot proves it works"). SeaBIOS alone is no proof: on the development machines it runs fine under KVM while
/// a kernel hangs in its decompressor, in long mode, without a byte on the serial port. So the probe passes only when
/// the kernel proper prints its banner ("Linux version"), which under working KVM takes well under a second.
/// </summary>
internal sealed class KvmProbe(AgentOptions options)
{
    public const string Banner = "Linux version";

    public async Task<ProbeResult> RunAsync(string kernel, CancellationToken ct)
    {
        var dir = Path.Combine(options.DataDirectory, "probe");
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        var serial = Path.Combine(dir, "serial.log");

        // timeout(1) bounds the probe even if the agent dies during it.
        var seconds = (int)Math.Ceiling(options.ProbeTimeout.TotalSeconds) + 5;
        var psi = new ProcessStartInfo("timeout")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dir,
        };
        foreach (var a in (string[])
                 [
                     "-s", "KILL", seconds.ToString(CultureInfo.InvariantCulture), options.QemuPath,
                     "-machine", "pc", "-accel", "kvm", "-m", "128", "-smp", "1",
                     "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                     "-kernel", kernel,
                     "-append", "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1",
                     "-chardev", $"file,id=s0,path={QemuCommandLine.Opt(serial)}",
                     "-serial", "chardev:s0",
                 ])
            psi.ArgumentList.Add(a);

        using var process = Process.Start(psi) ?? throw new VmmException($"could not start {options.QemuPath} for the KVM probe");
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var started = Stopwatch.GetTimestamp();
        try
        {
            while (Stopwatch.GetElapsedTime(started) < options.ProbeTimeout)
            {
                if (File.Exists(serial) && (await File.ReadAllTextAsync(serial, ct)).Contains(Banner, StringComparison.Ordinal))
                    return new(true, $"a kernel booted under KVM in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s");
                if (process.HasExited)
                {
                    string error;
                    lock (stderr)
                        error = stderr.ToString().Trim().ReplaceLineEndings(" | ");
                    return new(false, $"QEMU with KVM exited with code {process.ExitCode}: {error}");
                }
                await Task.Delay(100, ct);
            }
            var output = File.Exists(serial) ? new FileInfo(serial).Length : 0;
            return new(false, $"a kernel under KVM printed no banner within {options.ProbeTimeout.TotalSeconds:0.#} s ({output} bytes on serial)");
        }
        finally
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            Directory.Delete(dir, recursive: true);
        }
    }
}
