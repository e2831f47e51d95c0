using Virtuoso.Agent.Vmm.Qemu;

namespace Virtuoso.Agent.Tests.Support;

/// <summary>
/// A short-lived directory under /tmp (short, because QEMU's unix socket paths must fit in 107 bytes). On dispose it
/// kills every QEMU that a machine directory in it points to, then deletes it: no test leaves a QEMU behind.
/// </summary>
public sealed class TestDirectory : IDisposable
{
    public TestDirectory()
    {
        Path = System.IO.Path.Combine("/tmp/vat", Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Sub(string name)
    {
        var dir = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static void KillQemus(string root)
    {
        if (!Directory.Exists(root))
            return;
        foreach (var pidFile in Directory.EnumerateFiles(root, "qemu.pid", SearchOption.AllDirectories))
        {
            var machineDir = System.IO.Path.GetDirectoryName(pidFile)!;
            if (!Guid.TryParse(System.IO.Path.GetFileName(machineDir), out var id))
                continue;
            if (int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid) && QemuProcess.IsMachine(pid, id))
            {
                QemuProcess.Kill(pid);
                for (var i = 0; i < 100 && QemuProcess.IsMachine(pid, id); i++)
                    Thread.Sleep(20);
            }
        }
    }

    public void Dispose()
    {
        KillQemus(Path);
        if (Directory.Exists(Path))
            Directory.Delete(Path, recursive: true);
    }
}
