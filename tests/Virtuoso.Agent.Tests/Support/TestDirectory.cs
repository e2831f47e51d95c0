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

    /// <summary>The cgroups the agents made for machines under <paramref name="root"/> (issue 17), which killed QEMUs leave behind.</summary>
    public static void RemoveCgroups(string root)
    {
        if (!Directory.Exists(root))
            return;
        var cgroups = new[] { "virtuoso", "virtuoso-test" }.Select(parent => Virtuoso.Agent.Cgroups.MachineCgroups.OfThisHost(parent)).ToList();
        foreach (var dir in Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories))
            if (Guid.TryParse(System.IO.Path.GetFileName(dir), out var id))
                foreach (var c in cgroups)
                    for (var i = 0; i < 20 && !c.Remove(id); i++)
                        Thread.Sleep(50);
    }

    public void Dispose()
    {
        KillQemus(Path);
        RemoveCgroups(Path);
        if (Directory.Exists(Path))
            Directory.Delete(Path, recursive: true);
    }
}
