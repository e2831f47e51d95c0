using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Virtuoso.Agent.Events;
using Virtuoso.Agent.Images;
using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Migration.Methods;
using Virtuoso.Agent.Migration.Methods.Dedup;
using Virtuoso.Agent.Vmm;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.Agent.Migration.Incoming;

/// <summary>
/// The destination's half of a migration (design §6.2, report §7.3): announcements from the front-end, the fetch a
/// REQ starts (heartbeats, staging directory, the chosen <see cref="ITransferMethod"/>, hash check, pending, RESP),
/// cancellation, and activation. Each migration is persisted as <c>&lt;data&gt;/incoming/&lt;id&gt;.json</c> (atomically)
/// beside its staging directory <c>&lt;data&gt;/incoming/&lt;id&gt;/</c>, so a pending copy survives a restart and a copy
/// in progress is discarded by it. Changes that touch a machine hold its lock (<see cref="MachineService.LockAsync"/>).
/// </summary>
internal sealed class IncomingMigrations : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private static readonly TimeSpan ManifestTimeout = TimeSpan.FromSeconds(30);

    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, Entry> _all = new();
    private readonly Dictionary<string, ITransferMethod> _methods;
    private readonly string _root;
    private readonly string _dataDirectory;
    private readonly AgentOptions _options;
    private readonly MachineService _machines;
    private readonly MachineStore _store;
    private readonly ImageCache _images;
    private readonly Blobs _blobs;
    private readonly IVmm _vmm;
    private readonly EventLog _events;
    private readonly BlockIndexStore _index;
    private readonly TimeProvider _time;
    private readonly ILogger<IncomingMigrations> _log;

    /// <summary>A migration as persisted: what the front-end announced and how far it got.</summary>
    internal sealed record Record(Guid Id, IncomingMigration Announced, string Phase, long? NewVersion, ExportManifest? Manifest, string? Error);

    private sealed class Entry(Record record)
    {
        public Record State = record;
        public long BytesDone, BytesOnWire;
        public readonly RateMeter Rate = new(TimeSpan.FromSeconds(3));
        public CancellationTokenSource? Cancel;
        public Task? Run;
    }

    public IncomingMigrations(AgentOptions options, MachineService machines, MachineStore store, ImageCache images, Blobs blobs, IVmm vmm,
        EventLog events, BlockIndexStore index, IEnumerable<ITransferMethod> methods, TimeProvider time, ILogger<IncomingMigrations> log)
    {
        _blobs = blobs;
        (_options, _machines, _store, _images, _vmm, _events, _index, _time, _log) = (options, machines, store, images, vmm, events, index, time, log);
        _methods = methods.ToDictionary(m => m.Name, StringComparer.Ordinal);
        _dataDirectory = options.DataDirectory;
        _root = Path.Combine(options.DataDirectory, "incoming");
        Directory.CreateDirectory(_root);
        Recover();
    }

    /// <summary>The method names this host supports, in the stable order RESULTS and /v1/health give them.</summary>
    public IReadOnlyList<string> MethodNames => TransferMethods.Names(_methods.Values);

    public string StagingOf(Guid id) => Path.Combine(_root, id.ToString("D"));

    /// <summary>The version announced for a machine, if any (for RESP FAIL to a malformed line that names it).</summary>
    public long? AnnouncedVersion(Guid id)
    {
        lock (_gate)
            return _all.TryGetValue(id, out var e) ? e.State.Announced.Version : null;
    }

    /// <summary>The token of the migration of a machine announced here, if any: a peer holding it may QUERY (issue 20).</summary>
    public string? TokenOf(Guid id)
    {
        lock (_gate)
            return _all.TryGetValue(id, out var e) && e.State.Phase is not (MigrationPhases.Active or MigrationPhases.Failed) ? e.State.Announced.Token : null;
    }

    public Outcome<MigrationProgress> Progress(Guid id)
    {
        lock (_gate)
            return _all.TryGetValue(id, out var e) ? Describe(e) : NoMigration(id);
    }

    /// <summary>PUT /v1/migrations/{id}: expect a REQ for this machine. Repeating the same announcement changes nothing.</summary>
    public async Task<Outcome<MigrationProgress>> AnnounceAsync(Guid id, IncomingMigration announced, CancellationToken ct)
    {
        if ((MigrationDecisions.CheckAnnouncement(announced, MethodNames) ?? OriginClient.Refusal(_options.Tls, announced.Origin)) is { } bad)
            return AgentError.Validation(bad);
        if (announced.ImageSource is { } source)
        {
            // Issue 15: the destination fetches the base image from the front-end's catalogue if it lacks it.
            if (source.Name != announced.Image || ImageManifest.CheckSource(source) is { } badSource)
                return AgentError.Validation(source.Name != announced.Image
                    ? $"imageSource describes '{source.Name}', not the machine's image '{announced.Image}'"
                    : ImageManifest.CheckSource(source)!);
        }
        else if (announced.Image is { } image && _images.Describe(image).Error is { } unknownImage)
            return unknownImage;
        if (announced.Cdrom is { } cd && MachineValidation.BlobProblem("cdrom", cd) is { } badCdrom)
            return AgentError.Validation(badCdrom);
        using var held = await _machines.LockAsync(id, ct);
        lock (_gate)
        {
            _all.TryGetValue(id, out var existing);
            // Records compare their image source's file map by reference: the same announcement is the same without it.
            if (existing is not null && existing.State.Announced with { ImageSource = null } == announced with { ImageSource = null })
                return Describe(existing);
            if (_store.Find(id) is not null)
                return AgentError.Conflict($"machine {id:D} is active on this host; it cannot migrate here");
            if (existing is not null && existing.State.Phase is MigrationPhases.Copying or MigrationPhases.Verifying or MigrationPhases.Pending)
                return AgentError.Conflict($"another migration of machine {id:D} is {existing.State.Phase} here; DELETE it first");
            DeleteStaging(id);
            var entry = new Entry(new Record(id, announced, MigrationPhases.Expected, null, null, null));
            Persist(entry.State);
            _all[id] = entry;
            _events.Append("migration", id, version: announced.Version, detail: $"expected from {announced.OriginHost} by {announced.Method}");
            return Describe(entry);
        }
    }

    /// <summary>
    /// A VMMP REQ arrived. Returns why it is refused, or null once the fetch has started in the background (design
    /// §6.2 step 2); checking and starting happen under one lock, so two REQs never start two fetches.
    /// </summary>
    public string? TryStart(VmmpReq req)
    {
        lock (_gate)
        {
            _all.TryGetValue(req.MachineId, out var e);
            if (MigrationDecisions.WhyRefuse(req, e?.State.Announced, e?.State.Phase, MethodNames) is { } why)
                return why;
            e!.State = e.State with { Phase = MigrationPhases.Copying, Error = null };
            Persist(e.State);
            e.Cancel = new CancellationTokenSource();
            var token = e.Cancel.Token;
            e.Run = Task.Run(() => RunAsync(e, req, token), CancellationToken.None);
            return null;
        }
    }

    /// <summary>DELETE /v1/migrations/{id}: stop a fetch, discard the copy, forget the migration. Idempotent.</summary>
    public async Task<Outcome<bool>> CancelAsync(Guid id, CancellationToken ct)
    {
        using var held = await _machines.LockAsync(id, ct);
        Entry? e;
        lock (_gate)
        {
            if (!_all.TryGetValue(id, out e))
                return true;
            if (e.State.Phase == MigrationPhases.Active)
                return AgentError.InvalidState($"the migration of machine {id:D} was activated; the machine lives here now");
            e.Cancel?.Cancel();
        }
        if (e.Run is { } run)
            await run; // RunAsync never throws: it turns everything into phase failed
        lock (_gate)
        {
            _all.Remove(id);
            DeleteStaging(id);
            File.Delete(RecordPath(id));
        }
        _events.Append("migration", id, version: e.State.Announced.Version, detail: "cancelled; copy discarded");
        return true;
    }

    /// <summary>POST /v1/migrations/{id}/activate: the pending copy becomes this host's machine at VERSION + 1.</summary>
    public async Task<Outcome<AgentMachine>> ActivateAsync(Guid id, ActivateRequest request, CancellationToken ct)
    {
        using var held = await _machines.LockAsync(id, ct);
        Record state;
        lock (_gate)
        {
            if (!_all.TryGetValue(id, out var e))
                return NoMigration(id);
            state = e.State;
        }
        if (_store.Find(id) is { } existing)
        {
            // Already done (or done before a crash that came before the phase was written): a repeat, not a conflict.
            if (existing.Version == request.NewVersion && state.NewVersion == request.NewVersion
                && state.Phase is MigrationPhases.Pending or MigrationPhases.Active)
            {
                SetPhase(id, MigrationPhases.Active);
                return _machines.Get(id);
            }
            return AgentError.Conflict($"machine {id:D} is already active on this host at version {existing.Version}");
        }
        if (MigrationDecisions.WhyNotActivate(state.Phase, state.Announced.Version, request.NewVersion) is { } why)
            return AgentError.InvalidState($"cannot activate machine {id:D}: {why}");

        var a = state.Announced;
        var manifest = state.Manifest!;
        var staging = new MachineDirectory(StagingOf(id));
        try
        {
            var record = new MachineRecord(id, a.Mac.ToLowerInvariant(), a.SpeedBogomips, a.MemoryMb, a.DiskMb, a.Image, request.NewVersion,
                a.OriginHost, manifest.State == AgentStates.Suspended ? AgentState.Suspended : AgentState.Stopped, VncDisplay: null,
                CpuMillicores: a.CpuMillicores, Vcpus: a.Vcpus, Cdrom: manifest.State == AgentStates.Suspended ? a.Cdrom?.Sha256 : null,
                PrivateNic: manifest.State == AgentStates.Suspended && manifest.PrivateNic);
            _store.CompleteCreate(staging, record);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _events.Append("failed", id, detail: $"activation: {e.Message}");
            return AgentError.LocalFailure($"activating machine {id:D} failed: {e.Message}");
        }
        SetPhase(id, MigrationPhases.Active);
        // An older copy retired here earlier is out of date now; the next retirement makes a new one. Freeing a
        // gigabyte takes ext4 a tenth of a second: it is renamed out of sight at once and deleted after the answer.
        DiscardLater(Path.Combine(_dataDirectory, "cache", id.ToString("D")));
        MigrationLog.Activated(_log, id, request.NewVersion);
        _events.Append("migrated", id, manifest.State, request.NewVersion, $"from {a.OriginHost}");
        return _machines.Get(id);
    }

    private async Task RunAsync(Entry e, VmmpReq req, CancellationToken cancelled)
    {
        var id = req.MachineId;
        var a = e.State.Announced;
        var staging = StagingOf(id);
        CentralLink? central = null;
        string? linkLost = null;
        using var work = CancellationTokenSource.CreateLinkedTokenSource(cancelled);
        using var stopHeartbeats = new CancellationTokenSource();
        var heartbeats = Task.CompletedTask;
        try
        {
            MigrationLog.Phase(_log, id, MigrationPhases.Copying);
            _events.Append("migration", id, version: req.Version, detail: $"copying from {a.OriginHost} by {req.Method}");
            central = await CentralLink.ConnectAsync(req.CentralIp, req.CentralPort, _options.Secret, _options.Tls, work.Token);
            heartbeats = HeartbeatAsync(central, id, stopHeartbeats.Token, reason => { linkLost = reason; work.Cancel(); });

            DeleteStaging(id);
            Directory.CreateDirectory(staging);
            var origin = new Uri(a.Origin);
            using var http = OriginClient.For(_options.Tls, a.OriginHost, _time);
            var manifest = await GetManifestAsync(http, origin, id, a.Token, work.Token);
            if (MigrationDecisions.CheckManifest(manifest, id, req.Version, a.Image) is { } bad)
                throw new InvalidDataException(bad);
            var total = manifest!.Files.Sum(f => f.Length);
            var free = new DriveInfo(staging).AvailableFreeSpace;
            if (free < total)
                throw new IOException($"this host has {free} bytes free under {_root}, the machine needs {total}");
            lock (_gate)
                e.State = e.State with { Manifest = manifest };

            // The base image is copied into this host's cache while the machine's files travel, not after them: on
            // a host that never held it, that is a fetch and two hashes of the image, off the critical path.
            var baseImage = manifest.Image is not { } image ? null
                : a.ImageSource is { } source ? _images.EnsureCachedAsync(source, work.Token) : _images.EnsureCachedAsync(image);
            // Issue 15: the CD a suspended machine runs with travels too, fetched from the front-end like the base image.
            var cdrom = a.Cdrom is { } cd ? _blobs.EnsureAsync(cd, _ => { }, work.Token) : null;
            var method = _methods[req.Method];
            var progress = new Reporter(p => Report(e, p));
            var verified = await method.FetchAsync(
                new FetchContext(id, req.Version, origin, a.Token, manifest, staging, CachedCopies(id), http, progress), work.Token);

            SetPhase(id, MigrationPhases.Verifying);
            await VerifyAsync(staging, manifest, checkHashes: !verified, work.Token);
            // Everything activation needs is made ready before RESP SUCCESS, so that activating after the front-end's
            // commit cannot fail for want of the base image: a copy-on-write disk is pointed at this host's cached copy.
            if (cdrom is not null)
                await cdrom;
            if (baseImage is not null)
            {
                var cached = await baseImage;
                // The disk's blocks are read through the base image: it must be the origin's, byte for byte.
                if (manifest.ImageFiles is { } originFiles && _images.Hashes(cached.Manifest.Name) is { } here &&
                    originFiles.Any(f => f.Key != ImageManifest.FileName && (!here.TryGetValue(f.Key, out var sha) || sha != f.Value)))
                    throw new InvalidDataException($"this host's copy of image '{cached.Manifest.Name}' is another build than the origin's; " +
                        "the machine's disk cannot use it");
                await _vmm.RebaseDiskAsync(new MachineDirectory(staging), cached);
            }
            lock (_gate)
            {
                work.Token.ThrowIfCancellationRequested();
                e.State = e.State with { Phase = MigrationPhases.Pending, NewVersion = req.Version + 1 };
                Persist(e.State);
                e.Rate.Clear();
            }
            MigrationLog.Phase(_log, id, MigrationPhases.Pending);
            _events.Append("migration", id, manifest.State, req.Version + 1, "copied and verified; pending");
            await stopHeartbeats.CancelAsync();
            await heartbeats;
            await central.SendAsync(new VmmpResp(id, req.Version + 1, true));
        }
        catch (Exception ex)
        {
            // Every way a fetch can end badly ends the same: FAIL, nothing kept (design §6.2 step 5).
            var reason = cancelled.IsCancellationRequested ? "cancelled by the front-end"
                : linkLost ?? (ex is OperationCanceledException ? "cancelled" : ex.Message);
            var pendingAlready = false;
            lock (_gate)
            {
                pendingAlready = e.State.Phase == MigrationPhases.Pending; // only the RESP failed to go out
                if (!pendingAlready)
                {
                    e.State = e.State with { Phase = MigrationPhases.Failed, Error = reason };
                    Persist(e.State);
                    DeleteStaging(id);
                }
            }
            if (pendingAlready)
            {
                // The copy is verified and pending; the front-end learns it from GET /v1/migrations/{id}.
                MigrationLog.Failed(_log, id, $"RESP SUCCESS not delivered: {reason}");
                return;
            }
            MigrationLog.Failed(_log, id, reason);
            _events.Append("failed", id, version: req.Version, detail: $"migration: {reason}");
            await stopHeartbeats.CancelAsync();
            await heartbeats;
            if (central is not null && linkLost is null)
            {
                try
                {
                    await central.SendAsync(new VmmpResp(id, req.Version, false));
                }
                catch (IOException sendFailed)
                {
                    MigrationLog.Failed(_log, id, $"RESP FAIL not delivered: {sendFailed.Message}");
                }
            }
        }
        finally
        {
            if (central is not null)
                await central.DisposeAsync();
        }
    }

    private async Task HeartbeatAsync(CentralLink central, Guid id, CancellationToken stop, Action<string> lost)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await central.SendAsync(new VmmpHeartbeat(id));
                await Task.Delay(_options.HeartbeatInterval, _time, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (IOException e)
        {
            lost($"lost the connection to the front-end: {e.Message}");
        }
    }

    private static async Task<ExportManifest?> GetManifestAsync(HttpClient http, Uri origin, Guid id, string token, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(ManifestTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(origin, TransferRoutes.Manifest(id)));
        request.Headers.Authorization = new("Bearer", token);
        try
        {
            using var response = await http.SendAsync(request, timeout.Token);
            if (!response.IsSuccessStatusCode)
                throw new IOException($"the origin {origin} answered {(int)response.StatusCode} for the manifest: {await response.Content.ReadAsStringAsync(timeout.Token)}");
            return await JsonSerializer.DeserializeAsync<ExportManifest>(await response.Content.ReadAsStreamAsync(timeout.Token), JsonSerializerOptions.Web, timeout.Token);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException || e is OperationCanceledException && !ct.IsCancellationRequested)
        {
            throw new IOException($"getting the manifest from the origin {origin} failed: {e.Message}", e);
        }
    }

    /// <summary>
    /// Every file must be there with its length and, unless the method checked each block itself, the origin's digest
    /// (<see cref="ExportFile.Digest"/>); and durable. Hashing the arrived file also remembers its block list, so that
    /// exporting it onward, or finding it in the cache later, reads nothing (a disk arriving with the right base path is
    /// not rewritten by the rebase: <c>Vmm/Qemu/QemuVmm.RebaseDiskAsync</c>).
    /// </summary>
    private async Task VerifyAsync(string staging, ExportManifest manifest, bool checkHashes, CancellationToken ct)
    {
        foreach (var file in manifest.Files)
        {
            var path = Path.Combine(staging, file.Name);
            if (!File.Exists(path) || new FileInfo(path).Length != file.Length)
                throw new InvalidDataException($"{file.Name} did not arrive whole ({(File.Exists(path) ? new FileInfo(path).Length : 0)} of {file.Length} bytes)");
            AtomicFile.SyncFile(path);
            if (!checkHashes)
                continue;
            var digest = (await _index.GetOrHashAsync(path, ct)).Digest();
            if (digest != file.Digest)
                throw new InvalidDataException($"{file.Name} arrived with digest {digest}, the origin's is {file.Digest}");
        }
        AtomicFile.SyncDirectory(staging);
    }

    /// <summary>Where older copies may be (design §6.3): this machine's own cache first, then other cached machines, then base images.</summary>
    private IReadOnlyList<string> CachedCopies(Guid id)
    {
        var own = Path.Combine(_dataDirectory, "cache", id.ToString("D"));
        List<string> dirs = [own];
        foreach (var parent in new[] { "cache", "images" })
        {
            var root = Path.Combine(_dataDirectory, parent);
            if (Directory.Exists(root))
                dirs.AddRange(Directory.EnumerateDirectories(root)
                    .Where(d => d != own && !Path.GetFileName(d).StartsWith('.'))
                    .Order(StringComparer.Ordinal));
        }
        return dirs;
    }

    private void Report(Entry e, TransferProgress p)
    {
        lock (_gate)
        {
            e.BytesDone = p.BytesDone;
            e.BytesOnWire = p.BytesOnWire;
            e.Rate.Add(_time.GetUtcNow(), p.BytesDone);
        }
    }

    private void SetPhase(Guid id, string phase)
    {
        lock (_gate)
        {
            if (!_all.TryGetValue(id, out var e) || e.State.Phase == phase)
                return;
            e.State = e.State with { Phase = phase };
            Persist(e.State);
        }
        MigrationLog.Phase(_log, id, phase);
    }

    private MigrationProgress Describe(Entry e)
    {
        var s = e.State;
        var total = s.Manifest?.Files.Sum(f => f.Length) ?? 0;
        var done = s.Phase is MigrationPhases.Pending or MigrationPhases.Active ? total : e.BytesDone;
        var rate = s.Phase is MigrationPhases.Copying or MigrationPhases.Verifying ? e.Rate.BytesPerSecond : 0;
        return new MigrationProgress(s.Id, s.Phase, s.Announced.Method, s.Announced.Version, s.NewVersion, total, done, e.BytesOnWire, rate, s.Error);
    }

    private static AgentError NoMigration(Guid id) =>
        new(Contracts.Api.ErrorCodes.NotFound, $"no migration of machine {id:D} on this host", Microsoft.AspNetCore.Http.StatusCodes.Status404NotFound);

    private string RecordPath(Guid id) => Path.Combine(_root, $"{id:D}.json");

    private void Persist(Record r)
    {
        AtomicFile.Write(RecordPath(r.Id), JsonSerializer.SerializeToUtf8Bytes(r, Json));
        File.SetUnixFileMode(RecordPath(r.Id), UnixFileMode.UserRead | UnixFileMode.UserWrite); // it holds the token
    }

    private void DeleteStaging(Guid id)
    {
        if (Directory.Exists(StagingOf(id)))
            Directory.Delete(StagingOf(id), recursive: true);
    }

    private const string DiscardedPrefix = ".discarded-";

    /// <summary>Renames a directory to a hidden name no cache lookup sees, then deletes it in the background.</summary>
    private void DiscardLater(string directory)
    {
        if (!Directory.Exists(directory))
            return;
        var hidden = Path.Combine(Path.GetDirectoryName(directory)!, $"{DiscardedPrefix}{Guid.NewGuid():N}");
        Directory.Move(directory, hidden);
        _ = Task.Run(() => DeleteQuietly(hidden));
    }

    private void DeleteQuietly(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only space: a hidden directory is never read, and the next start deletes it again.
            MigrationLog.DiscardFailed(_log, directory, e.Message);
        }
    }

    /// <summary>After a restart: pending copies stay activatable; copies that were in progress are failed and discarded.</summary>
    private void Recover()
    {
        var caches = Path.Combine(_dataDirectory, "cache");
        if (Directory.Exists(caches))
            foreach (var discarded in Directory.EnumerateDirectories(caches, DiscardedPrefix + "*"))
                DeleteQuietly(discarded);
        foreach (var file in Directory.EnumerateFiles(_root, "*.json"))
        {
            if (!Guid.TryParseExact(Path.GetFileNameWithoutExtension(file), "D", out var id))
                continue;
            var r = JsonSerializer.Deserialize<Record>(File.ReadAllBytes(file), Json) ?? throw new InvalidDataException($"{file} holds no migration");
            var phase = MigrationDecisions.PhaseAfterRestart(r.Phase);
            if (phase != r.Phase)
            {
                MigrationLog.DiscardedAfterRestart(_log, id, r.Phase);
                r = r with { Phase = phase, Error = $"the agent restarted while the migration was {r.Phase}" };
                Persist(r);
            }
            _all[id] = new Entry(r);
        }
        foreach (var dir in Directory.EnumerateDirectories(_root))
        {
            var keep = Guid.TryParseExact(Path.GetFileName(dir), "D", out var id)
                       && _all.TryGetValue(id, out var e) && e.State.Phase == MigrationPhases.Pending;
            if (!keep)
                Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>At shutdown: stop every fetch and let each end (FAIL, staging discarded) before the agent goes.</summary>
    public void Dispose()
    {
        List<Task> running = [];
        lock (_gate)
            foreach (var e in _all.Values)
            {
                e.Cancel?.Cancel();
                if (e.Run is { } run)
                    running.Add(run);
            }
        // RunAsync turns every failure into phase failed, so the tasks end without faulting.
        Task.WhenAll(running).Wait(TimeSpan.FromSeconds(15));
    }

    /// <summary>An <see cref="IProgress{T}"/> that reports synchronously, so counters never arrive out of order.</summary>
    private sealed class Reporter(Action<TransferProgress> report) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value) => report(value);
    }
}
