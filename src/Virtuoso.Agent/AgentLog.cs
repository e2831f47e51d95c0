using Microsoft.Extensions.Logging;

namespace Virtuoso.Agent;

/// <summary>The agent's log messages, with stable event ids (style: source-generated, like reverse-proxy's *.Log.cs).</summary>
internal static partial class AgentLog
{
    [LoggerMessage(1, LogLevel.Information, "Agent {Host} serving machines in {DataDirectory}, images from {ImagesDirectory}")]
    public static partial void AgentStarting(ILogger logger, string host, string dataDirectory, string imagesDirectory);

    [LoggerMessage(2, LogLevel.Warning, "The host secret is only {Length} characters long; use at least 16 random ones")]
    public static partial void WeakSecret(ILogger logger, int length);

    [LoggerMessage(3, LogLevel.Warning, "Refused {Method} {Path} from {Remote}: no valid host secret")]
    public static partial void Unauthenticated(ILogger logger, string method, string path, string? remote);

    [LoggerMessage(10, LogLevel.Information, "Probing KVM by booting {Kernel}")]
    public static partial void ProbingKvm(ILogger logger, string kernel);

    [LoggerMessage(11, LogLevel.Information, "Accelerator {Accelerator}: {Reason}")]
    public static partial void AcceleratorChosen(ILogger logger, string accelerator, string reason);

    [LoggerMessage(20, LogLevel.Information, "Machine {Machine} created from {Image}, disk {DiskMb} MB, version {Version}")]
    public static partial void MachineCreated(ILogger logger, Guid machine, string image, long diskMb, long version);

    [LoggerMessage(21, LogLevel.Information, "Machine {Machine}: {Verb} done, now {State}, version {Version}")]
    public static partial void MachineChanged(ILogger logger, Guid machine, string verb, string state, long version);

    [LoggerMessage(22, LogLevel.Information, "Machine {Machine} deleted")]
    public static partial void MachineDeleted(ILogger logger, Guid machine);

    [LoggerMessage(23, LogLevel.Warning, "Machine {Machine}: {Action} failed: {Message}")]
    public static partial void CommandFailed(ILogger logger, Guid machine, string action, string message);

    [LoggerMessage(24, LogLevel.Information, "Machine {Machine} recovered: recorded {Intent}, now {State} ({Step}, pid {Pid})")]
    public static partial void MachineRecovered(ILogger logger, Guid machine, string intent, string state, string step, int? pid);

    [LoggerMessage(25, LogLevel.Error, "Machine {Machine}: recovery after restart failed")]
    public static partial void RecoveryFailed(ILogger logger, Guid machine, Exception exception);

    [LoggerMessage(30, LogLevel.Information, "Image {Image} copied and verified into {Directory}")]
    public static partial void ImageCached(ILogger logger, string image, string directory);

    [LoggerMessage(50, LogLevel.Information, "Image {Image} fetched from the front-end's catalogue ({Bytes} bytes) and linked into the cache")]
    public static partial void ImageFetched(ILogger logger, string image, long bytes);

    [LoggerMessage(51, LogLevel.Information, "Image {Image}: the cached copy was another build than the catalogue's and no machine used it; replaced")]
    public static partial void ImageReplaced(ILogger logger, string image);

    [LoggerMessage(52, LogLevel.Warning, "Blob {Sha256}: fetch attempt {Attempt} broke off ({Reason}); the next resumes after what arrived")]
    public static partial void BlobFetchFailed(ILogger logger, string sha256, int attempt, string reason);

    [LoggerMessage(53, LogLevel.Warning, "Blob {Sha256}: attempt {Attempt} delivered bytes with SHA-256 {Actual}; thrown away and fetched again")]
    public static partial void BlobCorrupt(ILogger logger, string sha256, string actual, int attempt);

    [LoggerMessage(54, LogLevel.Information, "Blob {Sha256} fetched and verified ({Bytes} bytes, attempt {Attempt})")]
    public static partial void BlobFetched(ILogger logger, string sha256, long bytes, int attempt);

    [LoggerMessage(47, LogLevel.Information, "Machine {Machine}: cgroup ({Version}) allows {Cores} cores on {Vcpus} vCPUs and {MemoryMb} MB")]
    public static partial void CgroupPrepared(ILogger logger, Guid machine, decimal cores, int vcpus, long memoryMb, string version);

    [LoggerMessage(48, LogLevel.Information, "Cgroups: {Version} under '{Parent}'")]
    public static partial void CgroupsDetected(ILogger logger, string version, string parent);

    [LoggerMessage(49, LogLevel.Warning, "No cgroup v1 or v2 with the cpu and memory controllers is writable here: machines run without CPU and memory limits")]
    public static partial void CgroupsMissing(ILogger logger);

    [LoggerMessage(40, LogLevel.Information, "QEMU of machine {Machine} up as pid {Pid} ({Accelerator})")]
    public static partial void QemuLaunched(ILogger logger, Guid machine, int pid, string accelerator);

    [LoggerMessage(55, LogLevel.Warning, "Machine {Machine} not started: {Reason}")]
    public static partial void PortsBusy(ILogger logger, Guid machine, string reason);

    [LoggerMessage(41, LogLevel.Information, "Machine {Machine} did not power off within {Seconds} s; making QEMU quit")]
    public static partial void PowerdownTimedOut(ILogger logger, Guid machine, double seconds);

    [LoggerMessage(42, LogLevel.Warning, "Killing QEMU of machine {Machine} (pid {Pid})")]
    public static partial void QemuKilled(ILogger logger, Guid machine, int pid);

    [LoggerMessage(43, LogLevel.Warning, "QMP of {Directory} did not answer: {Message}")]
    public static partial void QmpUnreachable(ILogger logger, string directory, string message);

    [LoggerMessage(44, LogLevel.Information, "Machine {Machine}: saved {Bytes} bytes of state in {Seconds:0.00} s")]
    public static partial void StateSaved(ILogger logger, Guid machine, long bytes, double seconds);

    [LoggerMessage(45, LogLevel.Information, "Machine {Machine}: loaded its saved state in {Seconds:0.00} s")]
    public static partial void StateLoaded(ILogger logger, Guid machine, double seconds);

    [LoggerMessage(46, LogLevel.Warning, "Machine {Machine}: suspend failed, guest running again: {Message}")]
    public static partial void SuspendRolledBack(ILogger logger, Guid machine, string message);

    [LoggerMessage(430, LogLevel.Information, "Machine {Machine}: private NIC on tap {Tap}, bridge {Bridge}, address {Address}")]
    public static partial void NicAttached(ILogger logger, Guid machine, string tap, string bridge, string address);

    [LoggerMessage(431, LogLevel.Information, "Machine {Machine}: private NIC's tap {Tap} removed")]
    public static partial void NicDetached(ILogger logger, Guid machine, string tap);

    [LoggerMessage(432, LogLevel.Warning, "Machine {Machine}: private network: {Message}")]
    public static partial void NetworkFailed(ILogger logger, Guid machine, string message);

    [LoggerMessage(433, LogLevel.Information, "Network {Vni}: VXLAN flood list now {Peers}")]
    public static partial void FloodListChanged(ILogger logger, int vni, string peers);

    [LoggerMessage(434, LogLevel.Information, "DHCP on {Tap}: {Request} answered with {Answer} ({Address})")]
    public static partial void DhcpAnswered(ILogger logger, string tap, string request, string answer, string address);

    [LoggerMessage(435, LogLevel.Warning, "DHCP on {Tap}: sending the answer failed, errno {Errno}")]
    public static partial void DhcpSendFailed(ILogger logger, string tap, int errno);

    [LoggerMessage(436, LogLevel.Information, "DHCP on {Tap} stopped: errno {Errno} (the tap went away)")]
    public static partial void DhcpStopped(ILogger logger, string tap, int errno);

    [LoggerMessage(438, LogLevel.Warning, "Private networks are off: {Reason}. Machines run without their private NIC; run the agent as root with iproute2 and nftables installed, or pass --private-networks off to say so")]
    public static partial void PrivateNetworksUnavailable(ILogger logger, string reason);

    [LoggerMessage(437, LogLevel.Information, "Machine {Machine}: the command's private network is ignored (--private-networks off)")]
    public static partial void PrivateNetworkIgnored(ILogger logger, Guid machine);
}
