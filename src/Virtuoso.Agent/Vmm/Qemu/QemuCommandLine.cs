using Virtuoso.Agent.Network;

namespace Virtuoso.Agent.Vmm.Qemu;

/// <summary>
/// The arguments of <c>qemu-system-x86_64</c> for one machine (design §5: "starts QEMU with the machine's id, MAC
/// address, memory and disk"). Pure, so that what a machine boots with is tested without QEMU. A resume uses
/// exactly the arguments of a start plus the incoming state: QEMU requires the same devices on both sides.
/// </summary>
internal static class QemuCommandLine
{
    /// <summary>The id of the guest's user-mode network, which tunnels add forwards to at run time.</summary>
    public const string NetdevId = "n0";

    /// <summary>The id of the private NIC's tap network (issue 16).</summary>
    public const string PrivateNetdevId = "n1";

    /// <param name="vncDisplay">First display tried; QEMU takes the next free one up to 99 above it.</param>
    /// <param name="incomingState">The saved state to load, paused, instead of booting; null to boot.</param>
    public static IReadOnlyList<string> Build(VmLaunch launch, int vncDisplay, string? incomingState = null)
    {
        var dir = launch.Dir;
        var id = launch.Id.ToString("D");
        var args = new List<string>
        {
            "-name", id,
            "-uuid", id,
            "-machine", "pc",
            "-accel", launch.Accelerator == "tcg" ? $"tcg,tb-size={VmLaunch.TcgCacheMb}" : launch.Accelerator,
            "-m", $"{launch.MemoryMb}",
            // Design §12: the purchased share rounded up to whole cores. Never changes for a machine: a saved state
            // loads only with the vCPUs it was saved with.
            "-smp", $"{launch.Vcpus}",
            "-nodefaults",
            "-no-user-config",
            // The guest's console for VNC (design §7). Loopback only; password=on refuses every client until a
            // console session sets a password through QMP.
            "-vga", "std",
            "-display", "none",
            "-vnc", $"127.0.0.1:{vncDisplay},to={vncDisplay + 99},password=on",
            "-drive", $"file={Opt(dir.Disk)},if=virtio,format=qcow2",
            "-netdev", Netdev(launch),
            // With a private NIC (issue 16) the machine's own MAC goes to that NIC, which keeps it across hosts; this one
            // gets a derived MAC. Without one, exactly as before.
            "-device", $"virtio-net-pci,netdev={NetdevId},mac={(launch.PrivateTap is null ? launch.Mac : NetworkNames.UserNicMac(launch.Mac))}",
            // First serial port: a socket anyone on this host can type into, logged (appending across boots) to serial.log.
            "-chardev", $"socket,id=s0,path={Opt(dir.SerialSocket)},server=on,wait=off,logfile={Opt(dir.SerialLog)},logappend=on",
            "-serial", "chardev:s0",
            "-qmp", $"unix:{Opt(dir.QmpSocket)},server=on,wait=off",
            "-pidfile", dir.PidFile,
        };
        // Last among the devices, so that every device before it keeps the PCI slot it had before seeds existed.
        if (launch.Seed is { } seed)
            args.AddRange(["-drive", $"file={Opt(seed)},if=virtio,format=raw,readonly=on"]);
        // Issue 15: an installer's ISO on the IDE CD-ROM, booted first (SeaBIOS: CD, then the disk), so that it can install
        // onto the disk; without a bootable CD the BIOS goes on to the disk. Last, after the seed, for the same reason.
        if (launch.Cdrom is { } cdrom)
            args.AddRange(["-drive", $"file={Opt(cdrom)},if=ide,index=2,media=cdrom,readonly=on", "-boot", "order=dc"]);
        // Issue 16: the private NIC on the agent's tap, last of all, for the same reason. host_mtu tells a virtio guest the
        // network's MTU (the VXLAN overhead), so it never sends what the overlay would drop.
        if (launch.PrivateTap is { } tap)
            args.AddRange([
                "-netdev", $"tap,id={PrivateNetdevId},ifname={tap},script=no,downscript=no",
                "-device", $"virtio-net-pci,netdev={PrivateNetdevId},mac={launch.Mac},host_mtu={NetworkNames.Mtu}",
            ]);
        if (launch.Image is { Kernel: { } kernel } image)
        {
            args.AddRange(["-kernel", kernel]);
            if (image.Initrd is { } initrd)
                args.AddRange(["-initrd", initrd]);
            if (image.Manifest.Append is { } append)
                args.AddRange(["-append", append]);
        }
        if (incomingState is not null)
            // -S: stay paused after loading, so the agent commits before the guest runs.
            args.AddRange(["-S", "-incoming", $"exec:cat {ShellQuote(incomingState)}"]);
        return args;
    }

    /// <summary>QEMU's user-mode network, with a <c>hostfwd</c> per forwarded port (TCP only).</summary>
    private static string Netdev(VmLaunch launch)
    {
        var netdev = $"user,id={NetdevId}";
        foreach (var f in launch.Forwards ?? [])
            netdev += $",hostfwd=tcp:{launch.ForwardAddress}:{f.HostPort}-:{f.GuestPort}";
        return netdev;
    }

    /// <summary>Escapes a value inside a QEMU option list, where a comma separates options.</summary>
    public static string Opt(string value) => value.Replace(",", ",,", StringComparison.Ordinal);

    /// <summary>Quotes a path for the /bin/sh that QEMU runs an <c>exec:</c> migration through.</summary>
    public static string ShellQuote(string value) => "'" + value.Replace("'", @"'\''", StringComparison.Ordinal) + "'";
}
