using Microsoft.AspNetCore.Routing;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Migration.Methods;

/// <summary>
/// One way of moving a machine's files from the origin agent to the destination agent (design §6.3): SCP, RSYNC,
/// DEDUP. Both halves live in one class, since every agent is an origin for some migrations and a destination for
/// others. The migration server (design §6.2) owns everything around it: REQ, heartbeats, the staging directory,
/// the final hash check against the manifest, pending, activation and retirement.
/// </summary>
internal interface ITransferMethod
{
    /// <summary>The VMMP method name, e.g. "SCP" (<see cref="Contracts.Vmmp.VmmpMethods"/>).</summary>
    string Name { get; }

    /// <summary>
    /// Origin side: maps this method's own routes under <c>/v1/transfer/{id}/{name-lower-case}/</c>. They run only
    /// after the caller's migration token was checked against an export of that machine; the endpoint reads the
    /// export from <see cref="ExportContext"/> in <c>HttpContext.Items</c> (key <see cref="ExportContext.ItemKey"/>).
    /// Methods that need no routes of their own (SCP reads the plain file route) map nothing.
    /// </summary>
    void MapOriginRoutes(IEndpointRouteBuilder transfer);

    /// <summary>
    /// Destination side: fetch every file of <see cref="FetchContext.Manifest"/> into <see cref="FetchContext.StagingDirectory"/>
    /// (same names), reporting progress. Throw on failure (the server turns it into RESP FAIL and discards the
    /// staging directory); honour cancellation promptly (the front-end may abort).
    /// Returns true when the method itself verified every byte against the origin's hashes (DEDUP checks each
    /// block as it lands); the server then skips its own whole-file SHA-256 check against the manifest, which it
    /// performs when this returns false.
    /// </summary>
    Task<bool> FetchAsync(FetchContext context, CancellationToken ct);
}

/// <summary>An exported machine on the origin, as the transfer routes see it. Its files do not change while exported.</summary>
/// <param name="MachineDirectory">Absolute path of the machine's directory on the origin.</param>
internal sealed record ExportContext(Guid MachineId, long Version, string MachineDirectory, ExportManifest Manifest)
{
    public const string ItemKey = "virtuoso.export";
    public string PathOf(ExportFile file) => Path.Combine(MachineDirectory, file.Name);
}

/// <summary>What a destination-side fetch gets to work with.</summary>
/// <param name="Origin">Base address of the origin agent's control API; send <see cref="Token"/> as a Bearer token.</param>
/// <param name="StagingDirectory">Empty directory to fill; it becomes the machine's directory once verified.</param>
/// <param name="CachedCopies">Directories on this host that may hold older copies of this machine's files or blocks
/// (a copy retired here earlier first, then other cached machines and base images); each may be missing. A method
/// may read them; it may move a file out of the first (this machine's own cache), never out of the others.</param>
/// <param name="Progress">Report bytes written to staging and bytes received over the network as they happen.</param>
internal sealed record FetchContext(
    Guid MachineId,
    long Version,
    Uri Origin,
    string Token,
    ExportManifest Manifest,
    string StagingDirectory,
    IReadOnlyList<string> CachedCopies,
    HttpClient Http,
    IProgress<TransferProgress> Progress);

/// <summary>Cumulative counters of one fetch.</summary>
/// <param name="BytesDone">Bytes of the machine's files now in place in staging (out of the manifest's total).</param>
/// <param name="BytesOnWire">Bytes received from the origin so far (payload, roughly what crossed the network).</param>
internal readonly record struct TransferProgress(long BytesDone, long BytesOnWire);
