namespace Virtuoso.Contracts.Agent;

/// <summary>
/// The provider agent's control API (design §5, report §6.3), spoken by the front-end over HTTP with
/// <c>Authorization: Bearer {host secret}</c>. Routes, relative to the agent's base address:
/// <list type="bullet">
/// <item>GET  /v1/health → <see cref="AgentHealth"/> (the only call allowed without the secret: without it, it reveals nothing but liveness and the protocol)</item>
/// <item>GET  /v1/machines → <see cref="AgentMachine"/>[]</item>
/// <item>PUT  /v1/machines/{id} with <see cref="CreateMachineRequest"/> → <see cref="AgentMachine"/> (creates the disk; idempotent for the same id and spec)</item>
/// <item>GET  /v1/machines/{id}[?settled=true] → <see cref="AgentMachine"/> (settled: once a command under way on it has ended; 409 if that takes over 20 s)</item>
/// <item>POST /v1/machines/{id}/start|stop|suspend|resume with <see cref="MachineCommand"/> → <see cref="AgentMachine"/></item>
/// <item>DELETE /v1/machines/{id} → 204</item>
/// <item>GET  /v1/machines/{id}/serial → text/plain, the serial console log so far</item>
/// <item>POST /v1/machines/{id}/console → <see cref="AgentConsoleSession"/> (running machines only; replaces the machine's previous console session)</item>
/// <item>GET  /v1/machines/{id}/console/{sessionId} as a WebSocket → binary frames bridged to the machine's VNC server (RFB)</item>
/// <item>DELETE /v1/machines/{id}/console/{sessionId} → 204 (ends the session; its password no longer works)</item>
/// <item>PUT  /v1/networks with <see cref="AgentNetworks"/> → 204 (issue 16: the private networks this host carries and their peers)</item>
/// <item>GET  /v1/images/{name}/fetch → <see cref="ImageFetchProgress"/> of a first fetch of a base image under way (404: none)</item>
/// <item>GET  /v1/machines/{id}/tunnel/{port} as a WebSocket → binary frames relayed to TCP port {port} (1..65535) of the
/// running machine's guest, and back (design §10; the guest's own network is the only thing it reaches). The client
/// closing its side ends what the guest receives (the guest sees end of input) while what the guest still sends
/// arrives, until the guest closes too.</item>
/// <item>GET  /v1/events?after=N&amp;limit=M&amp;log=ID → <see cref="AgentEventPage"/> (the host's events after a cursor, issue 19)</item>
/// </list>
/// Errors are problem details with a <c>code</c> from <see cref="Api.ErrorCodes"/>.
/// </summary>
public static class AgentRoutes
{
    public const string Health = "/v1/health";
    public const string Machines = "/v1/machines";
    public static string Machine(Guid id) => $"/v1/machines/{id:D}";
    public static string Command(Guid id, string verb) => $"/v1/machines/{id:D}/{verb}";
    public static string Serial(Guid id) => $"/v1/machines/{id:D}/serial";
    public static string Console(Guid id) => $"/v1/machines/{id:D}/console";
    public static string ConsoleSession(Guid id, string sessionId) => $"/v1/machines/{id:D}/console/{Uri.EscapeDataString(sessionId)}";
    public static string Tunnel(Guid id, int guestPort) => $"/v1/machines/{id:D}/tunnel/{guestPort}";
    public static string ImageFetch(string image) => $"/v1/images/{Uri.EscapeDataString(image)}/fetch";
    public const string Networks = "/v1/networks";
}

/// <summary>
/// Agent liveness and what it can do. Issue 20: a caller without the host secret learns only <paramref name="Status"/> and
/// <paramref name="Protocol"/> (enough to tell an agent of this marketplace's version from anything else); every other field
/// is null unless the request carries <c>Authorization: Bearer &lt;host secret&gt;</c>.
/// </summary>
/// <param name="Host">The agent's name (<c>--name</c>); null to a caller without the secret, and from no agent before issue 20.</param>
/// <param name="Accelerator">"kvm" when a probe boot proved KVM works, else "tcg".</param>
/// <param name="Machines">How many machines the host holds.</param>
/// <param name="VmmpPort">The TCP port of the agent's VMMP server (design §6.1), on the same address as this API; null if it has none.</param>
/// <param name="Methods">The migration methods it supports, as it would answer a VMMP QUERY.</param>
/// <param name="Protocol">The version of this control API the agent speaks (<see cref="AgentProtocol.Current"/> of its build); null: an
/// agent older than issue 18, which the front-end treats as a mismatch.</param>
/// <param name="Version">The agent's build (its assembly's informational version), for people reading a mismatch.</param>
/// <param name="Bogomips">The speed of the cores the agent runs machines on (<c>--cores</c>), by the kernel's BogoMIPS figure in
/// /proc/cpuinfo summed over them (issue 18); null when the kernel does not say.</param>
/// <param name="Status">"ok" from every agent since issue 20, with or without the secret.</param>
public sealed record AgentHealth(string? Host, string? Accelerator, int? Machines, int? VmmpPort = null, IReadOnlyList<string>? Methods = null,
    int? Protocol = null, string? Version = null, long? Bogomips = null, string? Status = null)
{
    public const string Ok = "ok";
}

/// <summary>The version of the agent's control API; both ends are built from this file, so they agree unless one is out of date.</summary>
public static class AgentProtocol
{
    /// <summary>1: the control API as of issue 18 (health reports protocol, version and bogomips).</summary>
    public const int Current = 1;
}

/// <summary>
/// Create a machine on this host. Id and MAC come from the marketplace (report §6.2.3).
/// <paramref name="Image"/> names a preconfigured base image (e.g. "linux-busybox"), or null for a blank disk.
/// <paramref name="Version"/> is the machine's version once stored (the front-end's, after the store).
/// <paramref name="HostSpeedBogomips"/> is the total speed the host sells: the agent gives the machine
/// SpeedBogomips ÷ HostSpeedBogomips of its cores (design §12) and keeps that share; null runs it with one uncapped vCPU.
/// <paramref name="ImageSource"/> is the front-end catalogue's description of <paramref name="Image"/> (issue 15): the agent
/// fetches what it lacks from there, verified by SHA-256; null: the agent uses its own images directory (<c>--images</c>).
/// </summary>
public sealed record CreateMachineRequest(Guid Id, string Mac, long SpeedBogomips, long MemoryMb, long DiskMb, string? Image, long Version,
    long? HostSpeedBogomips = null, ImageSource? ImageSource = null);

/// <summary>
/// A base image as the front-end's catalogue holds it (issue 15: images are data that travel): what image.json says, and
/// every file by its SHA-256. <paramref name="Files"/> maps each file name (the kernel, initrd and disk named here) to
/// where it is fetched from.
/// </summary>
public sealed record ImageSource(string Name, string? Kernel, string? Initrd, string Disk, string? Append, long MinMemoryMb, long MinDiskMb,
    IReadOnlyDictionary<string, BlobSource> Files);

/// <summary>
/// A file the agent fetches from the front-end when it lacks it: its SHA-256 (lower-case hex), its length, and the URL
/// (<c>GET</c> with the host's secret as a bearer token; <c>Range</c> resumes). The agent keeps it content-addressed.
/// </summary>
public sealed record BlobSource(string Sha256, long Size, string Url);

/// <summary>GET /v1/images/{name}/fetch: how far a first fetch of that image has come (404 when none is under way).</summary>
public sealed record ImageFetchProgress(string Image, long Bytes, long TotalBytes);

/// <summary>
/// A state-changing command. <paramref name="ExpectedVersion"/> is the version both sides hold before the
/// command; the agent refuses with 409 version-mismatch when its own differs. <paramref name="NewVersion"/>
/// is the version after it (design §3.3: stop and suspend add one).
/// </summary>
/// <param name="Metadata">Start: what the guest is told through its cloud-init NoCloud seed drive (issue 14); null: the
/// hostname is the machine id and there are no keys. Resume: used only to rebuild a seed that is missing (a machine that
/// migrated in suspended); otherwise the seed the guest booted with stays. Ignored by stop and suspend.</param>
/// <param name="Forwards">Start and resume: TCP ports of the host forwarded to the guest while this QEMU runs (QEMU
/// user-mode networking, bound to the agent's <c>--forward-address</c>); null or empty: none. Ignored by stop and suspend.</param>
/// <param name="Cdrom">Start: the ISO image to attach as the machine's CD-ROM, which it boots from first (issue 15); null:
/// none. The agent fetches it by SHA-256 when it lacks it. Resume: the CD the machine was started with stays (QEMU needs the
/// same devices); this says where to fetch it again if a migration left it behind. Ignored by stop and suspend.</param>
/// <param name="Network">Start: the private network the machine joins (issue 16): a second NIC with the machine's MAC,
/// which the machine keeps until it stops; null: none. Resume: the machine's private NIC (if it was started with one: QEMU
/// needs the same devices) is put back on the network's bridge here, with these peers; a resume without it keeps the NIC
/// unplugged from any network. Ignored by stop and suspend.</param>
public sealed record MachineCommand(long ExpectedVersion, long NewVersion, GuestMetadata? Metadata = null, IReadOnlyList<PortForward>? Forwards = null,
    BlobSource? Cdrom = null, PrivateNetwork? Network = null);

/// <summary>
/// What a guest learns about itself at boot, by cloud-init's NoCloud convention: a read-only drive labelled <c>cidata</c>
/// with <c>meta-data</c> (<c>instance-id</c> = the machine id, <c>local-hostname</c> = <paramref name="Hostname"/>) and
/// <c>user-data</c> (<c>#cloud-config</c> with <c>ssh_authorized_keys</c> = <paramref name="SshKeys"/>).
/// </summary>
/// <param name="Hostname">An RFC 1123 label: letters, digits and '-', 1 to 63 characters, no '-' at either end.</param>
/// <param name="SshKeys">OpenSSH public key lines (<c>ssh-ed25519 AAAA… comment</c>) root may log in with; at most 20,
/// each one line without control characters, 64 KiB in all.</param>
public sealed record GuestMetadata(string Hostname, IReadOnlyList<string> SshKeys);

/// <summary>A TCP port of the host forwarded to <paramref name="GuestPort"/> of the guest.</summary>
public sealed record PortForward(int HostPort, int GuestPort);

/// <summary>What the agent knows of one machine, reported truthfully from the QEMU process it finds.</summary>
/// <param name="State">"stopped" (disk only), "running", or "suspended" (memory state saved to a file).</param>
/// <param name="CpuMillicores">The CPU share the kernel enforces, in thousandths of a core (design §12); null: not limited.</param>
/// <param name="Vcpus">Virtual CPUs the guest sees.</param>
/// <param name="CpuUsedMillicores">CPU the machine's QEMU used over the last few seconds, in thousandths of a core, while running.</param>
/// <param name="MemoryUsedMb">Memory charged to the machine's QEMU now, while running.</param>
/// <param name="Nic">The private NIC (issue 16) while the machine runs or is suspended with one; null otherwise.</param>
public sealed record AgentMachine(Guid Id, string State, long Version, string Mac, long MemoryMb, long DiskMb, string? Image, int? Pid,
    long? CpuMillicores = null, int Vcpus = 1, long? CpuUsedMillicores = null, long? MemoryUsedMb = null, AgentNic? Nic = null);

/// <summary>Agent-side machine states.</summary>
public static class AgentStates
{
    public const string Stopped = "stopped";
    public const string Running = "running";
    public const string Suspended = "suspended";
}

/// <summary>
/// A console session of a running machine (design §7, report §6.2.4): QEMU's VNC server now asks for
/// <paramref name="Password"/>, a fresh random one that nobody else knows. The session's WebSocket
/// (<see cref="AgentRoutes.ConsoleSession"/>) carries the raw RFB stream; the password stops admitting new VNC
/// connections at <paramref name="ExpiresAt"/>, while a connection made before keeps going. A newer session of the
/// same machine replaces this one and closes its connection (§6.1.8: a second viewer takes over).
/// </summary>
/// <param name="Password">The VNC password (8 characters: VNC authentication uses no more).</param>
public sealed record AgentConsoleSession(string SessionId, string Password, DateTimeOffset ExpiresAt);
