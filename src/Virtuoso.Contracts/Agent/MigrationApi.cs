namespace Virtuoso.Contracts.Agent;

// The agent's side of migration (design §6.2), beside the VMMP lines of Contracts.Vmmp. The front-end's migration
// agent drives a migration like this:
//
//  1. VMMP QUERY to the destination's VMMP port → RESULTS (methods).
//  2. PUT /v1/exports/{id}    on the ORIGIN (host secret)      with ExportRequest: the origin lets a peer presenting
//     Token read machine {id} at Version through the transfer routes below. The machine must be stopped or
//     suspended on the origin and at that version.
//  3. PUT /v1/migrations/{id} on the DESTINATION (host secret) with IncomingMigration: the destination expects
//     a REQ for this machine, version, method and origin, and will fetch with Token.
//  4. VMMP REQ to the destination's VMMP port. The destination closes that connection when it accepts, or answers
//     RESP ... FAIL on it when it refuses; then it connects to CENTRAL_IP:CENTRAL_PORT, sends HEARTBEAT every
//     heartbeat interval while it fetches into a staging directory, verifies by hash, marks the copy pending and
//     sends RESP VERSION+1 SUCCESS (or RESP VERSION FAIL, discarding the partial copy).
//  5. The front-end checks GET /v1/migrations/{id} (phase "pending", NewVersion = VERSION+1) over the
//     authenticated API — a RESP alone is never trusted — commits in one database transaction, then calls
//     POST /v1/migrations/{id}/activate on the destination and POST /v1/machines/{id}/retire on the origin.
//  6. Any failure before the commit: DELETE /v1/migrations/{id} on the destination, DELETE /v1/exports/{id} on
//     the origin. All of these calls are idempotent, so a restarted front-end can simply repeat them.
//
// Transfer routes, served by the origin agent on its control API address (ORIG_IP:ORIG_PORT of the REQ) and
// authenticated with "Authorization: Bearer {migration token}" instead of the host secret, valid only for the
// exported machine: /v1/transfer/{id}/... (see TransferRoutes; each method adds its own routes below it). Issue 20
// point 1: between agents with TLS they are HTTPS, the destination showing its host certificate (which must name the
// export's Destination) and accepting only the certificate of the host the front-end named as the origin.

/// <summary>Routes of the migration half of the agent control API.</summary>
public static class MigrationRoutes
{
    public static string Export(Guid id) => $"/v1/exports/{id:D}";
    public static string Incoming(Guid id) => $"/v1/migrations/{id:D}";
    public static string Activate(Guid id) => $"/v1/migrations/{id:D}/activate";
    public static string Retire(Guid id) => $"/v1/machines/{id:D}/retire";
}

/// <summary>Routes a destination agent calls on the origin agent with the migration token.</summary>
public static class TransferRoutes
{
    public const string Prefix = "/v1/transfer/";
    /// <summary>GET → <see cref="ExportManifest"/>.</summary>
    public static string Manifest(Guid id) => $"/v1/transfer/{id:D}/manifest";
    /// <summary>GET → the file's bytes (SCP), with HTTP range support.</summary>
    public static string File(Guid id, string name) => $"/v1/transfer/{id:D}/files/{Uri.EscapeDataString(name)}";
    /// <summary>The root under which a method maps its own routes, e.g. /v1/transfer/{id}/dedup/...</summary>
    public static string Method(Guid id, string method) => $"/v1/transfer/{id:D}/{method.ToLowerInvariant()}";
}

/// <summary>
/// Origin: allow the holder of <paramref name="Token"/> to read machine {id} at <paramref name="Version"/>.
/// <paramref name="Destination"/> (issue 20 point 1): the name of the host the machine goes to; an origin with TLS serves
/// the transfer routes only to a client showing that host's certificate (and the token), and refuses an export without it.
/// </summary>
public sealed record ExportRequest(long Version, string Token, string? Destination = null);

/// <summary>The files that make up an exported machine (machine.json excluded: the destination writes its own).</summary>
/// <param name="State">"stopped" or "suspended" (<see cref="AgentStates"/>).</param>
/// <param name="Image">The base image a copy-on-write disk refers to, or null for a standalone disk.</param>
/// <param name="ImageFiles">The SHA-256 of each file of that base image on the origin: the destination's copy must be the
/// same bytes, or the disk would read another image's blocks (null from an origin that does not say).</param>
/// <param name="PrivateNic">A suspended machine's saved state has the private NIC of issue 16 (it was started on a private
/// network): the destination resumes it with that NIC, as QEMU requires the same devices.</param>
public sealed record ExportManifest(Guid Id, long Version, string State, string? Image, IReadOnlyList<ExportFile> Files,
    IReadOnlyDictionary<string, string>? ImageFiles = null, bool PrivateNic = false);

/// <summary>
/// One file of an exported machine: name relative to the machine directory ("disk.qcow2", "state.bin"), its length and
/// its digest: the SHA-256 (lower-case hex) of the file's block list — the SHA-256 of every 64 KiB block of a disk, or
/// of every content-defined chunk of the saved state, as the DEDUP method lists them (design §6.3). It binds every
/// byte as a plain SHA-256 of the file would, and both agents compute it in one pass hashing blocks on every core,
/// the same pass that gives DEDUP its block lists (the agent's <c>Migration/Methods/Dedup/BlockList.cs</c>).
/// </summary>
public sealed record ExportFile(string Name, long Length, string Digest);

/// <summary>
/// Destination: expect a VMMP REQ for this machine. The spec is the front-end's, so the destination never trusts
/// the origin for what the machine is. <paramref name="Origin"/> is the origin agent's control API base address
/// ("http://10.0.0.1:7001"), which must match ORIG_IP:ORIG_PORT of the REQ. <paramref name="ImageSource"/>: where a
/// destination that lacks the base image fetches it (issue 15); null: from its own images directory. <paramref name="Cdrom"/>:
/// the ISO attached to a suspended machine, which it resumes with (fetched like the base image); null: none.
/// </summary>
public sealed record IncomingMigration(
    long Version, string Method, string Origin, string OriginHost, string Token,
    string Mac, long SpeedBogomips, long MemoryMb, long DiskMb, string? Image, long? CpuMillicores = null, int Vcpus = 1,
    ImageSource? ImageSource = null, BlobSource? Cdrom = null);

/// <summary>Phases of an incoming migration on the destination.</summary>
public static class MigrationPhases
{
    /// <summary>Announced by the front-end; no REQ yet.</summary>
    public const string Expected = "expected";
    public const string Copying = "copying";
    public const string Verifying = "verifying";
    /// <summary>Copied and verified; waiting for the front-end's activate. Not runnable yet, not listed as a machine.</summary>
    public const string Pending = "pending";
    /// <summary>Activated: the machine is now this host's, at <see cref="MigrationProgress.NewVersion"/>.</summary>
    public const string Active = "active";
    public const string Failed = "failed";
}

/// <summary>
/// What the destination reports about an incoming migration (GET /v1/migrations/{id}); the status page and the CLI
/// progress bar are drawn from it.
/// </summary>
public sealed record MigrationProgress(
    Guid Id, string Phase, string Method, long Version, long? NewVersion,
    long BytesTotal, long BytesDone, long BytesOnWire, double BytesPerSecond, string? Error);

/// <summary>Destination: make the pending copy the live machine at <paramref name="NewVersion"/> (VERSION + 1).</summary>
public sealed record ActivateRequest(long NewVersion);

/// <summary>Origin: the machine left for another host at <paramref name="Version"/>; keep its files only as a cache.</summary>
public sealed record RetireRequest(long Version);
