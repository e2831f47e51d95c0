using Microsoft.Extensions.Logging;
using Virtuoso.Agent.Events;
using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Migration.Methods;
using Virtuoso.Agent.Migration.Methods.Dedup;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Migration.Origin;

/// <summary>
/// The origin's half of a migration (design §6.2): export a stopped or suspended machine to the holder of a token,
/// withdraw the export, and retire the machine into <c>&lt;data&gt;/cache/&lt;id&gt;/</c> once the front-end committed
/// the move. Holds the machine's lock (<see cref="MachineService.LockAsync"/>) for every change.
/// </summary>
internal sealed class OriginService(
    MachineService machines,
    MachineStore store,
    ExportRegistry exports,
    BlockIndexStore index,
    EventLog events,
    AgentOptions options,
    Images.ImageCache images,
    ILogger<OriginService> log)
{
    public const int MinTokenLength = 16;
    public const int MaxTokenLength = 512;

    /// <summary>Where a retired machine's files wait as a cache for a later migration back (design §6.2 step 4).</summary>
    public string CacheDirectory(Guid id) => Path.Combine(options.DataDirectory, "cache", id.ToString("D"));

    public async Task<Outcome<ExportManifest>> ExportAsync(Guid id, ExportRequest request, CancellationToken ct)
    {
        if (ValidateToken(request.Token) is { } badToken)
            return badToken;
        if (ValidateDestination(request.Destination) is { } badDestination)
            return badDestination;
        using var held = await machines.LockAsync(id, ct);
        if (store.Find(id) is not { } record)
            return AgentError.NotFound(id);
        if (record.Version != request.Version)
            return AgentError.VersionMismatch(request.Version, record.Version);
        var state = machines.Get(id).Value!.State;
        if (state == AgentStates.Running)
            return AgentError.InvalidState($"cannot export machine {id:D}: it is running; stop or suspend it first");

        var dir = store.DirectoryOf(id);
        List<ExportFile> files = [];
        try
        {
            // From the index when a file is unchanged since it was last hashed or verified here: no read at all.
            // Otherwise both files at once: the state file's chunking is one sequential pass, which leaves a core to
            // the disk's hashing.
            var paths = state == AgentStates.Suspended ? [dir.Disk, dir.StateFile] : new[] { dir.Disk };
            var lists = await Task.WhenAll(paths.Select(path => index.GetOrHashAsync(path, ct)));
            files.AddRange(paths.Zip(lists, (path, list) => new ExportFile(Path.GetFileName(path), list.Length, list.Digest())));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return AgentError.LocalFailure($"reading the files of machine {id:D} failed: {e.Message}");
        }
        var manifest = new ExportManifest(id, record.Version, state, record.Image, files, record.Image is { } image ? images.Hashes(image) : null,
            PrivateNic: state == AgentStates.Suspended && record.PrivateNic);
        exports.Set(new ExportRegistry.Export(new ExportContext(id, record.Version, dir.Root, manifest), ExportRegistry.Digest(request.Token), request.Destination));
        MigrationLog.Exported(log, id, record.Version, files.Sum(f => f.Length));
        events.Append("exported", id, state, record.Version);
        return manifest;
    }

    public async Task UnexportAsync(Guid id, CancellationToken ct)
    {
        using var held = await machines.LockAsync(id, ct);
        if (exports.Remove(id))
            events.Append("unexported", id);
    }

    /// <summary>The machine left this host at <paramref name="version"/>: off the list, its directory into the cache.</summary>
    public async Task<Outcome<bool>> RetireAsync(Guid id, RetireRequest request, CancellationToken ct)
    {
        using var held = await machines.LockAsync(id, ct);
        if (store.Find(id) is not { } record)
            return Directory.Exists(CacheDirectory(id)) ? true : AgentError.NotFound(id);
        if (record.Version != request.Version)
            return AgentError.VersionMismatch(request.Version, record.Version);
        if (machines.Get(id).Value!.State == AgentStates.Running)
            return AgentError.InvalidState($"cannot retire machine {id:D}: it is running");
        try
        {
            store.MoveOut(id, CacheDirectory(id));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return AgentError.LocalFailure($"retiring machine {id:D} failed: {e.Message}");
        }
        exports.Remove(id);
        MigrationLog.Retired(log, id, record.Version);
        events.Append("retired", id, version: record.Version, detail: "kept as a migration cache");
        return true;
    }

    /// <summary>Issue 20: with TLS the export names the host it is for (its certificate opens the transfer routes).</summary>
    private AgentError? ValidateDestination(string? destination) =>
        destination is null ? (options.Tls is null ? null : AgentError.Validation("this host speaks TLS: the export must name its destination host (destination)"))
        : destination.Length is 0 or > 200 || destination.Any(char.IsControl)
            ? AgentError.Validation("destination must be a host name of 1..200 characters")
            : null;

    private static AgentError? ValidateToken(string? token) =>
        token is null || token.Length is < MinTokenLength or > MaxTokenLength || token.Any(c => c is <= ' ' or > '~')
            ? AgentError.Validation($"the token must be {MinTokenLength}..{MaxTokenLength} printable ASCII characters without spaces")
            : null;
}
