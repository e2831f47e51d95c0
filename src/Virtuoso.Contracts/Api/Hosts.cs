namespace Virtuoso.Contracts.Api;

/// <summary>
/// POST /api/v1/hosts: a provider adds a host (report §5.2.2, Figure 27). Speed, memory and storage totals
/// are locked afterwards. Prices: speed and memory dollars per second per chunk, storage dollars per day per
/// chunk. <paramref name="Secret"/> is the agent's control secret, for an agent set up by hand; when omitted, the answer
/// carries a one-time <see cref="HostResponse.Join"/>: the command that installs the agent on the host and joins it (issue 19).
/// </summary>
/// <param name="PublicAddress">Where buyers reach the ports forwarded to guests (IPv4 address or DNS name); default 127.0.0.1.</param>
/// <param name="Ports">The host's TCP ports forwarded to guests, "FIRST-LAST" within 1024–65535; default 40000-40999.</param>
public sealed record AddHostRequest(
    string Name, string Address, int Port, string Processor,
    long Speed, long SpeedUnit, decimal SpeedPrice,
    long Memory, long MemoryUnit, decimal MemoryPrice,
    long RunningPeriod,
    long Storage, long StorageUnit, decimal StoragePrice, long StoragePeriod,
    string ConnectSpeed, string? Secret, string? PublicAddress = null, string? Ports = null);

/// <summary>
/// PATCH /api/v1/hosts/{name}: the fields that stay editable (units, prices, periods, addresses, forwarded ports). A new
/// port range applies to the starts that follow; machines running keep the ports they hold until they stop.
/// </summary>
/// <param name="Secret">A new agent secret to replace the one stored (16–256 printable ASCII characters): the agent must be
/// started with the same one (issue 18); null keeps the current secret.</param>
public sealed record EditHostRequest(
    long? SpeedUnit, decimal? SpeedPrice, long? MemoryUnit, decimal? MemoryPrice, long? RunningPeriod,
    long? StorageUnit, decimal? StoragePrice, long? StoragePeriod, string? Address, int? Port, string? ConnectSpeed,
    string? PublicAddress = null, string? Ports = null, string? Secret = null);

/// <summary>A host with its prices, capacity and (for its owner) the machines on it.</summary>
/// <param name="VmmpPort">The TCP port of its agent's VMMP server (design §6.1), as the agent last reported; null if unknown.</param>
/// <param name="Methods">The migration methods its agent advertises, as last reported; null if unknown.</param>
/// <param name="PublicAddress">Where buyers reach the ports forwarded to its guests.</param>
/// <param name="Ports">Its TCP ports forwarded to guests, "FIRST-LAST".</param>
/// <param name="LastSeen">When its agent last answered the host monitor correctly; null: never (issue 18).</param>
/// <param name="LastFailure">Its owner only: the <see cref="ConnectionCodes"/> code of the monitor's last failed check of the agent,
/// since it last answered; null when the last check succeeded.</param>
/// <param name="LastFailureMessage">Its owner only: that failure in plain words.</param>
/// <param name="LastFailureAt">Its owner only: when that check failed.</param>
/// <param name="Bogomips">The speed its agent measures for the cores it runs machines on, as last reported.</param>
/// <param name="JoinPendingUntil">Its owner only: while its agent has not joined yet, until when the last join token works (issue 19).</param>
/// <param name="Join">Only in the answer that made a join token (adding a host without a secret, or a new token): shown once.</param>
public sealed record HostResponse(
    string Name, string Owner, string Address, int Port, string Processor,
    long Speed, long SpeedUnit, decimal SpeedPrice,
    long Memory, long MemoryUnit, decimal MemoryPrice,
    long RunningPeriod,
    long Storage, long StorageUnit, decimal StoragePrice, long StoragePeriod,
    string ConnectSpeed, bool Online,
    long ReservedSpeed, long ReservedMemory, long ReservedStorage,
    IReadOnlyList<HostMachine>? Machines, string? Secret, int? VmmpPort = null, IReadOnlyList<string>? Methods = null,
    string PublicAddress = "127.0.0.1", string Ports = "40000-40999",
    DateTimeOffset? LastSeen = null, string? LastFailure = null, string? LastFailureMessage = null, DateTimeOffset? LastFailureAt = null, long? Bogomips = null,
    DateTimeOffset? JoinPendingUntil = null, HostJoin? Join = null);

/// <summary>
/// Issue 19: how a host's agent joins the marketplace. <paramref name="Command"/> is the one command to run as root on the host: it
/// installs the packages and the agent (a self-contained build this front-end serves) as a systemd service, makes the agent's
/// secret on the host, and presents <paramref name="Token"/> once to <c>POST /api/v1/agents/join</c>. The token works once, until
/// <paramref name="ExpiresAt"/>; a newer token replaces it.
/// </summary>
public sealed record HostJoin(string Token, DateTimeOffset ExpiresAt, string Command);

/// <summary>
/// POST /api/v1/agents/join (issue 19, no log-in: the token is the credential): the install script on the host presents its join
/// token with the secret the host made for its agent; the front-end keeps the secret and forgets the token.
/// </summary>
/// <param name="Csr">Issue 20: a PEM certificate request (PKCS#10) for the agent's ECDSA P-256 key, made on the host
/// (<c>virtuoso-agent join</c> does it); the answer carries the host's certificate on that key. Its subject is ignored: the
/// certificate is for the host the token names.</param>
public sealed record JoinRequest(string Token, string Secret, string? Csr = null);

/// <summary>
/// Issue 20: POST /api/v1/agents/certificate (no log-in: the host's secret is the credential): the agent of a host added with a
/// secret (by hand, <c>./run</c>, <c>virtuoso host add --secret</c>) gets its certificate, or a new one before the old expires.
/// The new certificate replaces the host's previous one, which the front-end stops accepting.
/// </summary>
/// <param name="Name">The host's name.</param>
/// <param name="Secret">The host's agent secret, as the front-end stores it.</param>
/// <param name="Csr">A PEM certificate request for the agent's ECDSA P-256 key (<c>virtuoso-agent enroll</c> makes it).</param>
public sealed record EnrollRequest(string Name, string Secret, string Csr);

/// <summary>
/// The joined (or enrolled) host's name and the control port the marketplace calls its agent on: the install script starts
/// the agent with them. Issue 20: and the host's certificate and the marketplace's authority (both PEM): the agent serves its
/// control API over TLS with the first and accepts only clients whose certificate chains to the second.
/// </summary>
/// <param name="Certificate">The host's certificate (PEM), for the key of the request; null only when the join sent no request.</param>
/// <param name="Authority">The marketplace's certificate authority (PEM): the agent's <c>--tls-ca</c>.</param>
/// <param name="CertificateExpiresAt">When the certificate expires: renew before (<c>virtuoso-agent enroll</c>).</param>
/// <param name="Ports">The host's forwarded range, <c>FIRST-LAST</c> (issue 14): the install script keeps the kernel from lending
/// these ports to outgoing connections (<c>net.ipv4.ip_local_reserved_ports</c>), so that QEMU finds them free.</param>
public sealed record JoinResponse(string Name, int Port, string? Certificate = null, string? Authority = null, DateTimeOffset? CertificateExpiresAt = null,
    string? Ports = null);

/// <summary>A machine stored on a host, as the host's owner sees it; <paramref name="CpuShare"/> and <paramref name="CpuUsed"/>
/// in cores as on <see cref="MachineResponse"/> (issue 17).</summary>
/// <param name="Forfeit">Issue 18: what its owner gives up if the host is deleted now (the eviction first charges the
/// periods begun; nothing already charged is refunded, the provider keeps it).</param>
public sealed record HostMachine(Guid Id, string Name, string Owner, string State, long Version, long Speed, long Memory, long Disk,
    decimal StoragePrice, long StoragePeriodDays, decimal RunningPrice, long RunningPeriodSeconds,
    decimal? CpuShare = null, decimal? CpuUsed = null, ForfeitResponse? Forfeit = null);

/// <summary>
/// POST /api/v1/hosts/{name}/test (issue 18): the front-end called the host's agent now. <paramref name="Code"/> is stable
/// (<see cref="ConnectionCodes"/>); <paramref name="Message"/> says in plain words what failed and what to do about it.
/// </summary>
/// <param name="LatencyMs">Round trip of the agent's health call, when it answered.</param>
/// <param name="Bogomips">The speed the agent measures for the cores it runs machines on, when it answered and knows.</param>
/// <param name="AgentVersion">The agent's build as it reports it, when it answered.</param>
public sealed record HostTestResponse(bool Ok, string Code, string Message, long? LatencyMs, long? Bogomips, string? AgentVersion);

/// <summary>POST /api/v1/hosts/test: the connection test of an agent not added yet (the Add host form's "Test connection").</summary>
public sealed record TestAgentRequest(string Address, int Port, string Secret);

/// <summary>The outcomes of a connection test of an agent, as <see cref="HostTestResponse.Code"/> and a host's last failure carry them.</summary>
public static class ConnectionCodes
{
    public const string Ok = "ok";
    public const string Refused = "connection-refused";
    public const string Timeout = "timeout";
    public const string NameNotResolved = "name-not-resolved";
    public const string Unreachable = "unreachable";
    public const string WrongSecret = "wrong-secret";
    public const string VersionMismatch = "version-mismatch";
    public const string NotAnAgent = "not-an-agent";
    public const string AgentError = "agent-error";
    /// <summary>Issue 20: the agent's TLS certificate is not this host's current one from the marketplace's authority (another
    /// host's, an older one replaced by a new join or enrollment, expired, or from another marketplace), or the host has none and
    /// this marketplace does not call agents in cleartext.</summary>
    public const string CertificateRefused = "certificate-refused";
}
