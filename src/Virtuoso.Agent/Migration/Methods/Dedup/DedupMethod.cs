using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.Agent.Migration.Methods.Dedup;

/// <summary>
/// DEDUP, the project's own transfer method (design §6.3). Disks are cut into fixed 64 KiB blocks, the saved memory
/// state into content-defined chunks whose boundaries move with its bytes (<see cref="BlockList"/>, <see cref="Chunking"/>).
/// The origin serves each file's block list (hashes, zero blocks marked, holes never read) and streams the blocks a
/// destination asks for. The destination puts this machine's own cached copy of a disk in place by rename, patches
/// only the blocks that differ, copies blocks it holds in any other cached file, and fetches the rest, each distinct block once;
/// zero blocks are never written nor sent. Every block fetched or copied is hashed as it lands; blocks left in place
/// are trusted from the block index (<see cref="BlockIndexStore"/>), so the method verifies the result itself.
/// Every agent is an origin for some migrations and a destination for others; this class holds the wire's routes
/// and limits and hands each side to its half, <see cref="DedupOrigin"/> and <see cref="DedupFetch"/>.
/// </summary>
internal sealed class DedupMethod(BlockIndexStore index, ILogger<DedupMethod> log) : ITransferMethod
{
    /// <summary>Route of a file's block list (GET) and of its blocks (POST a list of indices), under /v1/transfer/{id}/dedup/.</summary>
    public const string BlocksRoute = "blocks/{name}";
    /// <summary>Route of page patches of a disk (POST block indices with the destination's page digests, <see cref="PageDiff"/>).</summary>
    public const string PagesRoute = "pages/{name}";
    /// <summary>Most block indices one POST may ask for (4096 × 64 KiB = 256 MiB streamed per request).</summary>
    public const int MaxBlocksPerRequest = 4096;

    private readonly DedupOrigin _origin = new(index, log);
    private readonly DedupFetch _fetch = new(index, log);

    public BlockIndexStore Index { get; } = index;

    public string Name => VmmpMethods.Dedup;

    public static string BlocksPath(Guid machine, string file) =>
        $"{TransferRoutes.Method(machine, VmmpMethods.Dedup)}/blocks/{Uri.EscapeDataString(file)}";

    public static string PagesPath(Guid machine, string file) =>
        $"{TransferRoutes.Method(machine, VmmpMethods.Dedup)}/pages/{Uri.EscapeDataString(file)}";

    public void MapOriginRoutes(IEndpointRouteBuilder transfer) => _origin.MapRoutes(transfer);

    public Task<bool> FetchAsync(FetchContext context, CancellationToken ct) => _fetch.FetchAsync(context, ct);
}
