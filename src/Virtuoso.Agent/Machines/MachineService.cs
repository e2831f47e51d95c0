using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Virtuoso.Agent.Cgroups;
using Virtuoso.Agent.Events;
using Virtuoso.Agent.Images;
using Virtuoso.Agent.Migration.Methods.Dedup;
using Virtuoso.Agent.Migration.Origin;
using Virtuoso.Agent.Network;
using Virtuoso.Agent.Seed;
using Virtuoso.Agent.Vmm;
using Virtuoso.Contracts.Agent;
using Virtuoso.Core.Machines;

namespace Virtuoso.Agent.Machines;

/// <summary>
/// Carries out the control API's commands (report §6.2.3, §6.3): checks version and state, drives the
/// <see cref="IVmm"/>, and commits the new local state atomically. Commands on one machine run one at a time
/// (a lock per machine); reads take no lock and report what the real process shows.
/// </summary>
internal sealed class MachineService(
    MachineStore store,
    IVmm vmm,
    ImageCache images,
    Blobs blobs,
    EventLog events,
    AcceleratorState accelerator,
    AgentOptions options,
    ExportRegistry exports,
    BlockIndexStore index,
    SeedDrive seeds,
    MachineCgroups cgroups,
    CpuMeter meter,
    HostNetwork network,
    ILogger<MachineService> log)
{
    private readonly ConcurrentDictionary<Guid, SemaphoreSlim> _locks = new();
    private readonly ConcurrentDictionary<Guid, bool> _ignoredNetworkLogged = new();

    public int Count => store.Count;

    /// <summary>How many of this host's machines have a live QEMU process now (for <c>/metrics</c>).</summary>
    public int ProcessesRunning => store.All.Count(r => vmm.FindProcess(store.DirectoryOf(r.Id), r.Id) is not null);

    public IReadOnlyList<AgentMachine> List() => store.All.Select(Describe).ToList();

    public Outcome<AgentMachine> Get(Guid id) => store.Find(id) is { } r ? Describe(r) : AgentError.NotFound(id);

    /// <summary>
    /// The machine once no command is under way on it (issue 13): a QEMU that is still loading a resume, or a suspend that has
    /// saved its record but not yet quit, shows a state that is neither before nor after; the front-end's reconciler must not
    /// decide on it. Waits for the machine's command lock (at most 20 s; then 409 conflict: ask again).
    /// </summary>
    public async Task<Outcome<AgentMachine>> GetSettledAsync(Guid id, CancellationToken ct)
    {
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(ct);
        patience.CancelAfter(TimeSpan.FromSeconds(20));
        try
        {
            using var held = await LockAsync(id, patience.Token);
            return Get(id);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return AgentError.Conflict($"machine {id:D} is busy with a command; ask again");
        }
    }

    /// <summary>The serial console log of a machine, or null when it never printed anything.</summary>
    public Outcome<string?> SerialLog(Guid id)
    {
        if (store.Find(id) is null)
            return AgentError.NotFound(id);
        var path = store.DirectoryOf(id).SerialLog;
        return File.Exists(path) ? path : (string?)null;
    }

    /// <summary>
    /// Runs <paramref name="act"/> on a machine whose QEMU runs, holding the machine's command lock, so that nothing
    /// stops, suspends or restarts it meanwhile (console sessions, design §7). Not found and not running are refused
    /// the way commands refuse them.
    /// </summary>
    public async Task<Outcome<T>> WithRunningAsync<T>(Guid id, string action, Func<MachineRecord, MachineDirectory, Task<Outcome<T>>> act, CancellationToken ct)
    {
        using var held = await LockAsync(id, ct);
        if (store.Find(id) is not { } record)
            return AgentError.NotFound(id);
        var state = Observe(record).State;
        if (state != AgentState.Running || record.VncDisplay is null)
            return AgentError.InvalidState($"cannot {action} machine {id:D}: it is {MachineRecord.Wire(state)}");
        return await act(record, store.DirectoryOf(id));
    }

    public async Task<Outcome<AgentMachine>> CreateAsync(ValidCreateRequest request, CancellationToken ct)
    {
        using var held = await LockAsync(request.Id, ct);
        if (store.Find(request.Id) is { } existing)
            return existing.HasSpec(request)
                ? Describe(existing)
                : AgentError.Conflict($"machine {request.Id:D} already exists on this host with another spec");

        CachedImage? image = null;
        if (request.Image is { } name)
        {
            // The catalogue's description when the front-end sends one (issue 15), else this host's images directory.
            var described = request.ImageSource is { } source ? (Outcome<ImageManifest>)ImageManifest.From(source) : images.Describe(name);
            if (described.Error is { } error)
                return error;
            var manifest = described.Value!;
            if (request.MemoryMb < manifest.MinMemoryMb)
                return AgentError.Validation($"image '{name}' needs at least {manifest.MinMemoryMb} MB of memory, not {request.MemoryMb}");
            if (request.DiskMb < manifest.MinDiskMb)
                return AgentError.Validation($"image '{name}' needs at least {manifest.MinDiskMb} MB of disk, not {request.DiskMb}");
            try
            {
                image = request.ImageSource is { } catalogued ? await images.EnsureCachedAsync(catalogued, ct) : await images.EnsureCachedAsync(name);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Fail(request.Id, "create", AgentError.LocalFailure($"caching image '{name}' failed: {e.Message}"));
            }
        }

        // Design §12: the share is decided now, from this host's cores, and kept (never retroactive).
        var cpu = request.HostSpeedBogomips is { } total ? CpuShare.For(request.SpeedBogomips, total, options.Cores) : null;
        var record = new MachineRecord(request.Id, request.Mac, request.SpeedBogomips, request.MemoryMb, request.DiskMb,
            request.Image, request.Version, OriginHost: null, AgentState.Stopped, VncDisplay: null,
            CpuMillicores: cpu?.Millicores, Vcpus: cpu?.Vcpus ?? 1);
        var staging = store.BeginCreate(request.Id);
        try
        {
            await vmm.CreateDiskAsync(staging, request.DiskMb, image);
            CrashPoint("create", "after-vmm");
            store.CompleteCreate(staging, record);
        }
        catch (Exception e) when (e is VmmException or IOException or UnauthorizedAccessException)
        {
            store.AbandonCreate(staging);
            return Fail(request.Id, "create", e is VmmException
                ? AgentError.Failed($"creating the disk of machine {request.Id:D} failed: {e.Message}")
                : AgentError.LocalFailure($"storing machine {request.Id:D} failed: {e.Message}"));
        }
        AgentLog.MachineCreated(log, record.Id, record.Image ?? "(blank)", record.DiskMb, record.Version);
        events.Append("created", record.Id, AgentStates.Stopped, record.Version, record.Image);
        return Describe(record);
    }

    public async Task<Outcome<AgentMachine>> CommandAsync(Guid id, MachineVerb verb, MachineCommand command, CancellationToken ct)
    {
        using var held = await LockAsync(id, ct);
        if (store.Find(id) is not { } record)
            return AgentError.NotFound(id);
        var state = Observe(record).State;
        // Issue 13: a repeated command that already happened answers its result (the front-end's reconciler asks again).
        if (AgentTransitions.AlreadyDone(state, record.Version, verb, command.NewVersion))
            return Describe(record);
        if (record.Version != command.ExpectedVersion)
            return AgentError.VersionMismatch(command.ExpectedVersion, record.Version);
        if (verb is MachineVerb.Start or MachineVerb.Resume && exports.IsExported(id))
            return Exported(id, Verb(verb));
        var dir = store.DirectoryOf(id);
        if (AgentTransitions.Decide(state, verb) is not { } next)
            return AgentError.InvalidState($"cannot {Verb(verb)} machine {id:D}: it is {MachineRecord.Wire(state)}");

        if (verb is MachineVerb.Start or MachineVerb.Resume)
        {
            IReadOnlyList<int> busy;
            try
            {
                busy = HostPorts.Busy(options.ForwardAddress, (command.Forwards ?? []).Select(f => f.HostPort));
            }
            catch (System.Net.Sockets.SocketException e)
            {
                return AgentError.Failed($"cannot {Verb(verb)} machine {id:D}: its ports cannot be forwarded on {options.ForwardAddress} (--forward-address): {e.Message}");
            }
            if (busy.Count > 0)
            {
                var why = HostPorts.Why(busy, options.ForwardAddress);
                AgentLog.PortsBusy(log, id, why);
                return AgentError.PortBusy($"cannot {Verb(verb)} machine {id:D}: {why}");
            }
        }

        var committed = record with { Intent = next, Version = command.NewVersion, VncDisplay = null };
        try
        {
            switch (verb)
            {
                case MachineVerb.Start:
                    // Issue 14: the seed is made anew at every start, so the guest boots with the keys of this moment.
                    var metadata = command.Metadata ?? SeedContents.Default(id);
                    // Issue 16: a start decides the machine's devices afresh: a private NIC if the command has a network.
                    var joined = JoinedNetwork(id, command);
                    await seeds.WriteAsync(dir, id, metadata, SeedContents.NetworkConfig(record.Mac, joined));
                    // Issue 15: the CD attached now (fetched by SHA-256 the first time) stays until the machine stops.
                    committed = committed with { Cdrom = command.Cdrom?.Sha256 };
                    if (command.Cdrom is { } cd)
                        await blobs.EnsureAsync(cd, _ => { }, ct);
                    committed = committed with { PrivateNic = joined is not null, Network = joined };
                    // Recorded before QEMU starts: an agent that dies between QEMU's start and the save below finds a running
                    // guest at its restart, and must know it has the NIC (to filter its port again, and to resume it with
                    // the same devices after a suspend).
                    if (record.PrivateNic || committed.PrivateNic)
                        store.Save(record with { PrivateNic = committed.PrivateNic, Network = committed.Network });
                    var tap = joined is null ? null : await network.AttachAsync(id, record.Mac, joined);
                    try
                    {
                        var run = await vmm.StartAsync(Launch(committed, dir, command) with { PrivateTap = tap });
                        CrashPoint("start", "after-vmm");
                        try
                        {
                            store.Save(committed with { VncDisplay = run.VncDisplay, Metadata = metadata });
                        }
                        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                        {
                            await vmm.StopAsync(dir, id, TimeSpan.Zero);
                            throw;
                        }
                    }
                    catch (Exception e) when (tap is not null && e is VmmException or IOException or UnauthorizedAccessException)
                    {
                        await DetachQuietlyAsync(id);
                        throw;
                    }
                    break;
                case MachineVerb.Stop:
                    await vmm.StopAsync(dir, id, options.StopTimeout);
                    await DetachQuietlyAsync(id);
                    CrashPoint("stop", "after-vmm");
                    // A stop ends the device set a saved state would need: the next start decides the NIC afresh.
                    store.Save(committed with { Cdrom = null, PrivateNic = false, Network = null });
                    break;
                case MachineVerb.Suspend:
                    await vmm.SuspendAsync(dir, id, () => { CrashPoint("suspend", "after-vmm"); store.Save(committed); });
                    await DetachQuietlyAsync(id);
                    break;
                case MachineVerb.Resume:
                    // The saved state expects the seed drive it was saved with (QEMU needs the same devices). The guest read
                    // its seed at boot and does not again, so the one there stays; one that did not come along (a machine
                    // that migrated in suspended: only disk and state travel) is rebuilt, of the same size.
                    var seeded = committed.Metadata;
                    if (!File.Exists(dir.Seed))
                    {
                        seeded = command.Metadata ?? record.Metadata ?? SeedContents.Default(id);
                        await seeds.WriteAsync(dir, id, seeded, record.PrivateNic ? SeedContents.NetworkConfig(record.Mac, JoinedNetwork(id, command) ?? record.Network) : null);
                    }
                    // The CD it was started with, as the saved state expects; fetched again if a migration left it behind.
                    if (record.Cdrom is { } resumedCd && !File.Exists(blobs.PathOf(resumedCd)))
                    {
                        if (command.Cdrom is not { } again || again.Sha256 != resumedCd)
                            throw new IOException($"the ISO {resumedCd} machine {id:D} was started with is not on this host, and the resume does not say where to fetch it");
                        await blobs.EnsureAsync(again, _ => { }, ct);
                    }
                    // Issue 16: the NIC the machine was started with, and only that (the saved state has exactly its devices), on
                    // the network the resume names, or on none when it names none.
                    var rejoined = record.PrivateNic ? JoinedNetwork(id, command) : null;
                    var resumedTap = record.PrivateNic ? await network.AttachAsync(id, record.Mac, rejoined) : null;
                    try
                    {
                        await vmm.ResumeAsync(Launch(record, dir, command) with { PrivateTap = resumedTap }, r =>
                        {
                            CrashPoint("resume", "after-vmm");
                            store.Save(committed with { VncDisplay = r.VncDisplay, Metadata = seeded, Network = rejoined });
                        });
                    }
                    catch (Exception e) when (resumedTap is not null && e is VmmException or IOException or UnauthorizedAccessException)
                    {
                        await DetachQuietlyAsync(id);
                        throw;
                    }
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(verb), verb, null);
            }
        }
        catch (Exception e) when (e is VmmException or NetworkException or IOException or UnauthorizedAccessException)
        {
            var now = MachineRecord.Wire(Observe(store.Find(id)!).State);
            return Fail(id, Verb(verb), e is VmmException or NetworkException
                ? AgentError.Failed($"{Verb(verb)} of machine {id:D} failed (it is {now}): {e.Message}")
                : AgentError.LocalFailure($"{Verb(verb)} of machine {id:D} failed (it is {now}): {e.Message}"));
        }
        var after = store.Find(id)!;
        AgentLog.MachineChanged(log, id, Verb(verb), MachineRecord.Wire(next), after.Version);
        events.Append(Past(verb), id, MachineRecord.Wire(next), after.Version);
        if (verb is MachineVerb.Stop or MachineVerb.Suspend)
            FingerprintLater(dir);
        return Describe(after);
    }

    /// <summary>
    /// A machine at rest has its files' block lists and digests computed in the background (design §6.3), so a
    /// migration that follows finds them in the index and starts sending at once. A file changed or deleted meanwhile
    /// is simply not remembered (<see cref="BlockIndexStore.GetOrHashAsync"/> checks its identity after reading).
    /// </summary>
    private void FingerprintLater(MachineDirectory dir) => _ = Task.Run(async () =>
    {
        foreach (var path in new[] { dir.Disk, dir.StateFile })
        {
            try
            {
                if (File.Exists(path))
                    await index.GetOrHashAsync(path, CancellationToken.None);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Only an optimisation: the export hashes what is not in the index.
            }
        }
    });

    public async Task<Outcome<bool>> DeleteAsync(Guid id, CancellationToken ct)
    {
        using var held = await LockAsync(id, ct);
        if (store.Find(id) is not { } record)
            return AgentError.NotFound(id);
        if (exports.IsExported(id))
            return Exported(id, "delete");
        if (!AgentTransitions.CanDelete(Observe(record).State))
            return AgentError.InvalidState($"cannot delete machine {id:D}: it is running; stop it first");
        try
        {
            CrashPoint("delete", "after-vmm");
            store.Delete(id);
            cgroups.Remove(id);
            meter.Forget(id);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(id, "delete", AgentError.LocalFailure($"deleting machine {id:D} failed: {e.Message}"));
        }
        AgentLog.MachineDeleted(log, id);
        events.Append("deleted", id, version: record.Version);
        return true;
    }

    /// <summary>
    /// After a restart: find every machine's QEMU again and finish or undo whatever a crash interrupted
    /// (<see cref="Recovery"/>). Runs before the API serves.
    /// </summary>
    public async Task RecoverAsync()
    {
        foreach (var record in store.All)
        {
            var dir = store.DirectoryOf(record.Id);
            try
            {
                // Pieces of a suspend that never finished; the guest's state is still in its QEMU (or lost with it).
                File.Delete(dir.StateTempFile);
                File.Delete(dir.SuspendSocket);
                var pid = vmm.FindProcess(dir, record.Id);
                var status = pid is null ? GuestStatus.Unknown : await vmm.QueryStatusAsync(dir);
                var observation = new Observation(pid is not null, status, File.Exists(dir.StateFile));
                var plan = Recovery.Decide(record.Intent, observation);
                if (plan.DiscardSavedState)
                {
                    File.Delete(dir.StateFile);
                    AtomicFile.SyncDirectory(dir.Root);
                }
                switch (plan.Step)
                {
                    case RecoveryStep.Continue:
                        await vmm.ContinueAsync(dir);
                        break;
                    case RecoveryStep.Kill:
                        await vmm.StopAsync(dir, record.Id, TimeSpan.Zero);
                        break;
                }
                // Issue 17: a QEMU that outlived the agent is found in its cgroup; one started outside any (before the
                // agent kept cgroups) is moved into it, so its share holds from now on. One no QEMU holds is removed.
                if (vmm.FindProcess(dir, record.Id) is { } alive)
                {
                    if (Share(record) is { } share && cgroups.Version != CgroupVersion.None && !cgroups.Holds(record.Id, alive))
                    {
                        cgroups.Prepare(record.Id, CgroupLimits.For(share, record.MemoryMb, accelerator.Current));
                        cgroups.Join(record.Id, alive);
                    }
                }
                else
                {
                    cgroups.Remove(record.Id);
                }
                // Issue 16: QEMU outlives the agent, and so do its tap and the bridge; the responder and the tables are the
                // agent's and made again. (A tap whose QEMU died meanwhile is replaced at the machine's next start.)
                if (record.PrivateNic && vmm.FindProcess(dir, record.Id) is not null)
                    await network.AttachAsync(record.Id, record.Mac, options.PrivateNetworks ? record.Network : null, existingTap: true);
                if (plan.Intent != record.Intent)
                    store.Save(record with { Intent = plan.Intent, VncDisplay = plan.Intent == AgentState.Running ? record.VncDisplay : null });
                var now = MachineRecord.Wire(Observe(store.Find(record.Id)!).State);
                AgentLog.MachineRecovered(log, record.Id, MachineRecord.Wire(record.Intent), now, plan.Step.ToString(), pid);
                if (plan.Intent != record.Intent || plan.Step != RecoveryStep.None || plan.DiscardSavedState)
                    events.Append("recovered", record.Id, now, record.Version,
                        $"recorded {MachineRecord.Wire(record.Intent)}, found {(pid is null ? "no process" : $"pid {pid}, guest {status}")}; {plan.Step}");
            }
            catch (Exception e) when (e is VmmException or NetworkException or IOException or UnauthorizedAccessException)
            {
                AgentLog.RecoveryFailed(log, record.Id, e);
                events.Append("failed", record.Id, version: record.Version, detail: $"recovery: {e.Message}");
            }
        }
    }

    // Design §6.2: the origin's files must not change while a destination reads them.
    private static AgentError Exported(Guid id, string verb) =>
        AgentError.Conflict($"cannot {verb} machine {id:D}: it is exported for a migration (DELETE /v1/exports/{id:D} first)");

    private AgentMachine Describe(MachineRecord r)
    {
        var dir = store.DirectoryOf(r.Id);
        var pid = vmm.FindProcess(dir, r.Id);
        var state = new Observation(pid is not null, GuestStatus.Unknown, File.Exists(dir.StateFile)).State;
        var (cpuUsed, memoryUsed) = pid is not null ? meter.Read(r.Id) : (null, null);
        // Issue 16: the private NIC while the machine runs or is suspended with one (on a network).
        var nic = state != AgentState.Stopped && r.PrivateNic && r.Network is { } n
            ? new AgentNic(n.Vni, r.Mac, n.Address, NetworkNames.Tap(r.Id), NetworkNames.Bridge(n.Vni))
            : null;
        return new AgentMachine(r.Id, MachineRecord.Wire(state), r.Version, r.Mac, r.MemoryMb, r.DiskMb, r.Image, pid,
            r.CpuMillicores, r.Vcpus, cpuUsed, memoryUsed, nic);
    }

    /// <summary>The command's private network, unless this host keeps none (<c>--private-networks off</c>: said once per machine).</summary>
    private PrivateNetwork? JoinedNetwork(Guid id, MachineCommand command)
    {
        if (command.Network is null || options.PrivateNetworks)
            return command.Network;
        if (_ignoredNetworkLogged.TryAdd(id, true))
            AgentLog.PrivateNetworkIgnored(log, id);
        return null;
    }

    /// <summary>Removes the machine's private NIC after its QEMU ended; the command's outcome stands if that fails (the
    /// failure is logged; a stale tap is replaced at the next start).</summary>
    private async Task DetachQuietlyAsync(Guid id)
    {
        try
        {
            await network.DetachAsync(id);
        }
        catch (NetworkException e)
        {
            AgentLog.NetworkFailed(log, id, $"removing the NIC: {e.Message}");
        }
    }

    /// <summary>
    /// Removes the private NIC of every machine whose QEMU ended outside a command (the guest powered off, QEMU crashed);
    /// a machine under a command is left to it. Called every few seconds by <see cref="NetworkSweep"/>.
    /// </summary>
    public async Task SweepNetworksAsync()
    {
        foreach (var record in store.All.Where(r => network.Holds(r.Id)))
        {
            var gate = _locks.GetOrAdd(record.Id, _ => new SemaphoreSlim(1, 1));
            if (!await gate.WaitAsync(0))
                continue;
            try
            {
                if (vmm.FindProcess(store.DirectoryOf(record.Id), record.Id) is null)
                    await DetachQuietlyAsync(record.Id);
            }
            finally
            {
                gate.Release();
            }
        }
    }

    private static CpuShare? Share(MachineRecord r) => r.CpuMillicores is { } m ? new CpuShare(m, r.Vcpus) : null;

    private Observation Observe(MachineRecord r)
    {
        var dir = store.DirectoryOf(r.Id);
        return new Observation(vmm.FindProcess(dir, r.Id) is not null, GuestStatus.Unknown, File.Exists(dir.StateFile));
    }

    private VmLaunch Launch(MachineRecord r, MachineDirectory dir, MachineCommand command)
    {
        CachedImage? image = null;
        if (r.Image is { } name)
            image = images.FindCached(name) ?? throw new IOException($"the cached base image '{name}' of machine {r.Id:D} is missing from {options.DataDirectory}/images");
        return new VmLaunch(r.Id, r.Mac, r.MemoryMb, dir, image, accelerator.Current,
            Seed: dir.Seed, Forwards: command.Forwards ?? [], ForwardAddress: options.ForwardAddress.ToString(), Cpu: Share(r),
            Cdrom: r.Cdrom is { } cd ? blobs.PathOf(cd) : null);
    }

    private AgentError Fail(Guid id, string action, AgentError error)
    {
        AgentLog.CommandFailed(log, id, action, error.Message);
        events.Append("failed", id, detail: error.Message);
        return error;
    }

    /// <summary>The per-machine lock every change of a machine on this host holds, commands and migration alike.</summary>
    public async Task<IDisposable> LockAsync(Guid id, CancellationToken ct)
    {
        var gate = _locks.GetOrAdd(id, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        return new Releaser(gate);
    }

    private sealed class Releaser(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }

    /// <summary>Fault tests only (<see cref="AgentOptions.CrashAt"/>): die here as a power cut would, with nothing flushed.</summary>
    private void CrashPoint(string action, string point)
    {
        if (options.CrashAt == $"{action}:{point}")
            System.Diagnostics.Process.GetCurrentProcess().Kill();
    }

    private static string Verb(MachineVerb verb) => verb.ToString().ToLowerInvariant();

    private static string Past(MachineVerb verb) => verb switch
    {
        MachineVerb.Start => "started",
        MachineVerb.Stop => "stopped",
        MachineVerb.Suspend => "suspended",
        MachineVerb.Resume => "resumed",
        _ => throw new ArgumentOutOfRangeException(nameof(verb), verb, null),
    };
}
