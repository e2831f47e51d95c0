namespace Virtuoso.Contracts.Api;

/// <summary>
/// Stable error codes, carried as the <c>code</c> member of every HTTP problem details answer of the front-end
/// and the agent. Clients branch on these, never on the human-readable text.
/// </summary>
public static class ErrorCodes
{
    public const string Validation = "validation";
    public const string Unauthenticated = "unauthenticated";
    public const string InvalidCredentials = "invalid-credentials";
    public const string UsernameTaken = "username-taken";
    public const string WrongRole = "wrong-role";
    public const string NotFound = "not-found";
    public const string UnknownConfiguration = "unknown-configuration";
    public const string BelowImageMinimum = "below-image-minimum";
    public const string InvalidState = "invalid-state";
    public const string NoRoom = "no-room";
    public const string OverBid = "over-bid";
    public const string HostOffline = "host-offline";
    public const string HostNameTaken = "host-name-taken";
    public const string InsufficientFunds = "insufficient-funds";
    public const string NegativeBalance = "negative-balance";
    public const string AgentFailed = "agent-failed";
    public const string VersionMismatch = "version-mismatch";
    public const string Conflict = "conflict";
    /// <summary>
    /// Another action on the machine is still open (issue 13: started, not yet committed or undone); HTTP 409. Try again
    /// in a few seconds: the request that began it, or the reconciler, ends it.
    /// </summary>
    public const string Busy = "busy";
    /// <summary>Too many attempts (the web's log-in form): HTTP 429; wait a minute.</summary>
    public const string RateLimited = "rate-limited";
    /// <summary>The destination host does not advertise the asked migration method (VMMP RESULTS).</summary>
    public const string MethodUnsupported = "method-unsupported";
    /// <summary>The destination is the host the machine is on.</summary>
    public const string SameHost = "same-host";
    /// <summary>A migration of the machine is still open or finishing.</summary>
    public const string MigrationInProgress = "migration-in-progress";
    /// <summary>A console ticket that was never issued, or was used already (design §7: one use).</summary>
    public const string InvalidTicket = "invalid-ticket";
    /// <summary>A console ticket issued more than its few seconds ago.</summary>
    public const string ExpiredTicket = "expired-ticket";
    /// <summary>A tunnel to a guest port that is not a TCP port (1 to 65535).</summary>
    public const string InvalidPort = "invalid-port";
    /// <summary>A usage profile (?hours=) that is not a number of hours a month can have (0 to 744).</summary>
    public const string InvalidHours = "invalid-hours";
    /// <summary>A number of search results (?limit=) that is not a whole number from 1 to 1000.</summary>
    public const string InvalidLimit = "invalid-limit";
    /// <summary>A WebSocket opened from a page of another site (its Origin is not the front-end's).</summary>
    public const string ForbiddenOrigin = "forbidden-origin";
    /// <summary>Not an SSH public key the marketplace accepts (issue 14): garbage, a private key, a truncated or DSA key, RSA under 2048 bits.</summary>
    public const string InvalidKey = "invalid-key";
    /// <summary>The account already has a key of that name.</summary>
    public const string KeyNameTaken = "key-name-taken";
    /// <summary>The account already has that key (the same fingerprint), under another name.</summary>
    public const string KeyExists = "key-exists";
    /// <summary>The account holds the most keys allowed; delete one first.</summary>
    public const string TooManyKeys = "too-many-keys";
    /// <summary>The host has no free port left in its range for the machine's forwards (issue 14): the start or resume is refused.</summary>
    public const string NoPorts = "no-ports";
    /// <summary>
    /// An agent's answer to a start or resume (HTTP 409): a host port the front-end gave the machine is held by another
    /// program on the host, so QEMU could not forward it. Nothing changed; the front-end tries again with other ports.
    /// </summary>
    public const string PortBusy = "port-busy";
    /// <summary>The machine already has the most forwarded ports a buyer may ask for (5 besides SSH); remove one first.</summary>
    public const string TooManyPorts = "too-many-ports";
    /// <summary>An upload that is not a bootable ISO 9660 image (no primary volume descriptor, no El Torito boot record) or is truncated.</summary>
    public const string NotAnIso = "not-an-iso";
    /// <summary>An upload that ended before its Content-Length: the client gave up or the connection broke; nothing was kept.</summary>
    public const string IncompleteUpload = "incomplete-upload";
    /// <summary>An upload without a Content-Length: its size must be known before it is read (the quota); HTTP 411.</summary>
    public const string LengthRequired = "length-required";
    /// <summary>The upload would take the account over its ISO quota; HTTP 413. Delete an ISO first.</summary>
    public const string OverQuota = "over-quota";
    /// <summary>The account already has an ISO of that name.</summary>
    public const string IsoNameTaken = "iso-name-taken";
    /// <summary>The ISO is attached to a machine: eject it first (<c>{"cdrom": "none"}</c>).</summary>
    public const string InUse = "in-use";
    /// <summary>Issue 16: a subnet that is not an IPv4 CIDR inside the private ranges, /16 to /29, clear of 10.0.2.0/24.</summary>
    public const string InvalidSubnet = "invalid-subnet";
    /// <summary>The account already has a network of that name.</summary>
    public const string NetworkNameTaken = "network-name-taken";
    /// <summary>Machines are attached to the network: attach them elsewhere or delete them first.</summary>
    public const string NetworkInUse = "network-in-use";
    /// <summary>Every address of the network's subnet is taken.</summary>
    public const string SubnetFull = "subnet-full";
    /// <summary>An API key's scope that is not <c>read</c> or <c>write</c>.</summary>
    public const string InvalidScope = "invalid-scope";
    /// <summary>An API key's expiry that is not 1 hour to 365 days (<c>12h</c>, <c>30d</c>) or <c>never</c>.</summary>
    public const string InvalidExpiry = "invalid-expiry";
    /// <summary>The account already has an API key of that name.</summary>
    public const string ApiKeyNameTaken = "api-key-name-taken";
    /// <summary>A bearer token that looks like an API key (<c>vk_…</c>) but is no key: never made, revoked, or mistyped; HTTP 401.</summary>
    public const string InvalidApiKey = "invalid-api-key";
    /// <summary>An API key past its expiry; HTTP 401. Make a new one (and revoke this one).</summary>
    public const string ExpiredApiKey = "expired-api-key";
    /// <summary>A read-scope API key sent with anything but GET or HEAD; HTTP 403. Whatever the endpoint, a read key only looks.</summary>
    public const string ReadOnlyKey = "read-only-key";
    /// <summary>Making or revoking API keys with an API key; HTTP 403. Log in with the password (a session) for that.</summary>
    public const string SessionRequired = "session-required";
    /// <summary>Issue 19: a host join token that is no token: never made, already used, replaced by a newer one, or its host deleted; HTTP 401.
    /// The provider makes a new one (<c>host join NAME</c>, or "New install command" on My hosts).</summary>
    public const string InvalidJoinToken = "invalid-join-token";
    /// <summary>Issue 19: a host join token past its expiry (24 hours by default); HTTP 401. Make a new one.</summary>
    public const string ExpiredJoinToken = "expired-join-token";
    /// <summary>Issue 20: a join or enrollment whose <c>csr</c> is not a PEM certificate request for an ECDSA P-256 key with a valid
    /// signature; HTTP 400. <c>virtuoso-agent join</c> and <c>enroll</c> make a good one.</summary>
    public const string InvalidCertificateRequest = "invalid-certificate-request";
    /// <summary>Issue 20: an enrollment (<c>POST /api/v1/agents/certificate</c>) naming no host, or with a secret that is not the host's;
    /// HTTP 401 (the same answer for both, so the call tells nobody which hosts exist).</summary>
    public const string InvalidHostSecret = "invalid-host-secret";
    /// <summary>Issue 19: this front-end serves no agent build (<c>Virtuoso__AgentPackage</c> unset or missing); HTTP 404. Build the agent from
    /// source ("Set up a host", by hand).</summary>
    public const string AgentPackageMissing = "agent-package-missing";
    /// <summary>An event cursor that is no place in the log: an agent's <c>after</c> that is not where a line of its
    /// <c>events.log</c> ends, or past its end; HTTP 400.</summary>
    public const string InvalidCursor = "invalid-cursor";
    /// <summary>An events filter (<c>?host=</c>, <c>?kind=</c>) that is not a host name or an event kind; HTTP 400.</summary>
    public const string InvalidFilter = "invalid-filter";
}
