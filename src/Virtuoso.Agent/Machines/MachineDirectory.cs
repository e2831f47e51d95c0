namespace Virtuoso.Agent.Machines;

/// <summary>
/// The files of one machine, all in <c>&lt;data&gt;/machines/&lt;id&gt;/</c> (report §6.2.1: "each machine in its own
/// directory"). Sockets live here too, so QMP, the serial console and the state transfer stay on this host.
/// </summary>
internal sealed record MachineDirectory(string Root)
{
    public string RecordFile => Path.Combine(Root, "machine.json");
    public string Disk => Path.Combine(Root, "disk.qcow2");
    /// <summary>The saved memory state of a suspended machine. It exists only while the guest has not run since it was saved.</summary>
    public string StateFile => Path.Combine(Root, "state.bin");
    public string StateTempFile => Path.Combine(Root, "state.tmp");
    public string QmpSocket => Path.Combine(Root, "qmp.sock");
    /// <summary>The guest's first serial port: connect and type; everything it prints is also appended to <see cref="SerialLog"/>.</summary>
    public string SerialSocket => Path.Combine(Root, "serial.sock");
    public string SerialLog => Path.Combine(Root, "serial.log");
    /// <summary>Socket the agent listens on while QEMU streams the memory state to it (suspend).</summary>
    public string SuspendSocket => Path.Combine(Root, "suspend.sock");
    /// <summary>The cloud-init NoCloud seed (issue 14), attached read-only at every start and resume; rebuilt at every start.</summary>
    public string Seed => Path.Combine(Root, "seed.iso");
    public string SeedTempFile => Path.Combine(Root, "seed.tmp");
    public string PidFile => Path.Combine(Root, "qemu.pid");
    /// <summary>QEMU's own stdout and stderr, appended across boots.</summary>
    public string VmmLog => Path.Combine(Root, "qemu.log");
}
