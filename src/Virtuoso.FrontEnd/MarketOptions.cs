namespace Virtuoso.FrontEnd;

/// <summary>Marketplace settings (section "Virtuoso" of the configuration; environment VIRTUOSO__NAME).</summary>
internal sealed class MarketOptions
{
    /// <summary>Credit every new account gets from the operator's deposit source (the report's figures start at $1000).</summary>
    public decimal OpeningCredit { get; set; } = 1000m;
    /// <summary>Fee for registering a machine, paid to the operator (Figure 10: "Register Machine ($ .05)").</summary>
    public decimal RegistrationFee { get; set; } = 0.05m;
    /// <summary>A host counts as online this long after its agent last answered a health check.</summary>
    public double HostOnlineWindowSeconds { get; set; } = 15;
    /// <summary>
    /// Seconds a replica may reuse what it read of every host for search (issue 19, <c>Hosts/HostSnapshot.cs</c>); 0: each search
    /// reads the database. 1 makes search at 10,000 hosts read them once a second instead of per request (docs/benchmarks.md).
    /// </summary>
    public double SearchSnapshotSeconds { get; set; }
    /// <summary>How often the host monitor checks every agent.</summary>
    public double HostMonitorIntervalSeconds { get; set; } = 5;
    /// <summary>
    /// A running machine's host that has not answered the monitor for longer than this (about two monitor intervals) is
    /// offline: the machine is shown <c>host offline</c> and consumes no running time until the host answers (issue 13).
    /// </summary>
    public double HostOfflineGraceSeconds { get; set; } = 10;
    /// <summary>How long a login session lasts.</summary>
    public double SessionDays { get; set; } = 30;

    /// <summary>SSH public keys one account may hold (issue 14): each is written into every machine's seed at its start.</summary>
    public int MaxKeysPerAccount { get; set; } = 20;
    /// <summary>
    /// Bytes of ISO images one buyer may hold (issue 15, <c>Virtuoso:IsoQuotaBytes</c>): checked against an upload's
    /// Content-Length before it is read, and counted while it is; equal content uploaded twice counts twice.
    /// </summary>
    public long IsoQuotaBytes { get; set; } = 10L * 1024 * 1024 * 1024;
    /// <summary>
    /// Failed log-ins a minute from one client address, whatever the accounts (counted in the database, shared by the
    /// replicas; 429 beyond). The log-in form's posts are also limited to this many a minute per process.
    /// One account from one address: see Core's LoginBackoff (5 free failures, then 30 s doubling up to 15 min).
    /// </summary>
    public int LoginAttemptsPerAddressPerMinute { get; set; } = 30;
    /// <summary>
    /// Whether a host's address may be internal: loopback, private, link-local (<c>Virtuoso:AllowPrivateHostAddresses</c>).
    /// Off by default, so that a provider cannot make the front-end connect into its own network; <c>./run</c>, the tests
    /// and a private cloud on one LAN turn it on.
    /// </summary>
    public bool AllowPrivateHostAddresses { get; set; }
    /// <summary>
    /// Issue 20: whether the front-end calls, in cleartext, the agent of a host that has no certificate from the marketplace's
    /// authority (<c>Virtuoso:AllowCleartextAgents</c>). Off by default: such a host is unreachable until its agent joins or
    /// enrolls (<c>virtuoso-agent enroll</c>). The front-end's tests with fake agents and the benchmarks turn it on; <c>./run</c>
    /// and the end-to-end tests do not (their agents have certificates).
    /// </summary>
    public bool AllowCleartextAgents { get; set; }
    /// <summary>Accounts one client address may sign up in an hour (<c>Virtuoso:SignupsPerAddressPerHour</c>; 0: no limit).</summary>
    public int SignupsPerAddressPerHour { get; set; } = 10;

    /// <summary>Seconds between billing passes (design §4; also VIRTUOSO_BILLING_INTERVAL).</summary>
    public double BillingIntervalSeconds { get; set; } = 60;
    /// <summary>
    /// Machines a billing pass charges per transaction (<c>Virtuoso:BillingBatchSize</c>). Other writers wait for one batch,
    /// not the whole pass; but each commit writes every page its batch changed (random pages of the ledger's, events' and
    /// due-time indexes), so small batches rewrite the same pages many times: 500 cost ~40% more than 5,000 in
    /// bench/billing.sh (docs/benchmarks.md). A batch of 5,000 holds the write lock for a few hundred milliseconds.
    /// </summary>
    public int BillingBatchSize { get; set; } = 5000;
    /// <summary>Seconds between market-estimate updates (§6.1.9: 60 by default).</summary>
    public double PriceAverageIntervalSeconds { get; set; } = 60;
    /// <summary>Seconds between passes of the collector of the agents' events (issue 19 point 3, <c>Events/EventCollector.cs</c>).</summary>
    public double EventCollectIntervalSeconds { get; set; } = 5;
    /// <summary>Whether this replica runs the daemons (tests drive passes by hand with a fake clock).</summary>
    public bool DaemonsEnabled { get; set; } = true;

    /// <summary>
    /// How long the request that claimed a machine has to finish its action before the reconciler takes the intent over
    /// (issue 13). A takeover is always safe (agents answer a repeated action with its result and the commit happens once);
    /// the lease only spares the agent a duplicate call. Longer than the agent call timeout.
    /// </summary>
    public double IntentLeaseSeconds { get; set; } = 150;
    /// <summary>
    /// Seconds between pushes of the private networks to every online host (issue 16, <c>Virtuoso:NetworkSyncSeconds</c>):
    /// each <c>PUT /v1/networks</c> is the host's whole desired state, so a push missed or failed is repaired by the next.
    /// </summary>
    public double NetworkSyncSeconds { get; set; } = 5;
    /// <summary>Seconds between reconciler passes over open intents (also one at start-up).</summary>
    public double ReconcileIntervalSeconds { get; set; } = 5;
    /// <summary>Timeout of one call to an agent's control API (start waits for QEMU, suspend for the memory state).</summary>
    public double AgentTimeoutSeconds { get; set; } = 120;
    /// <summary>How long a store may take when the host first fetches the machine's base image from this front-end (issue 15).</summary>
    public double ImageFetchTimeoutSeconds { get; set; } = 3600;
    /// <summary>The preconfigured images this front-end catalogues and serves to agents (issue 15): one folder per image with its image.json, as guest/build-*.sh write them; null: no catalogue.</summary>
    public string? ImagesDirectory { get; set; }
    /// <summary>The address agents fetch images from (e.g. http://10.0.0.1:5080); null: the first address this front-end listens on.</summary>
    public string? AgentFacingUrl { get; set; }
    /// <summary>Issue 19: how long a host's join token (the install command's) works.</summary>
    public double JoinTokenHours { get; set; } = 24;
    /// <summary>Issue 19: the self-contained agent build (a .tar.gz of <c>dotnet publish src/Virtuoso.Agent -r linux-x64 --self-contained</c>)
    /// this front-end serves to the install script at <c>/install/virtuoso-agent-linux-x64.tar.gz</c>; null: none (providers build it).</summary>
    public string? AgentPackage { get; set; }
    /// <summary>Where providers clone this marketplace's source from to build the agent (issue 18: shown on "Set up a host"); null: the page asks them to get it from the operator.</summary>
    public string? SourceUrl { get; set; }
    /// <summary>
    /// Fault tests only (<c>Virtuoso:CrashAt</c> = ACTION:POINT, e.g. <c>start:after-agent</c>): the front-end kills itself
    /// with SIGKILL at that point of that action. Points: before-agent, after-agent, after-commit.
    /// </summary>
    public string? CrashAt { get; set; }

    public TimeSpan OnlineWindow => TimeSpan.FromSeconds(HostOnlineWindowSeconds);
}
