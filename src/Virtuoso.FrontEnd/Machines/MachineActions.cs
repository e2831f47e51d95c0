using System.Diagnostics;
using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Machines;
using Virtuoso.FrontEnd.Agents;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Hosts;
using Virtuoso.FrontEnd.Http;

namespace Virtuoso.FrontEnd.Machines;

/// <summary>
/// Fault tests only: the points of an action where <see cref="MarketOptions.CrashAt"/> kills the front-end
/// (before-agent, after-agent, after-commit). The simulation replaces it to throw instead.
/// </summary>
internal class CrashPoints(IOptions<MarketOptions> options)
{
    public virtual void Hit(IntentAction action, string point)
    {
        if (options.Value.CrashAt is { } at && at == $"{IntentRow.Text(action)}:{point}")
            Process.GetCurrentProcess().Kill(); // SIGKILL: nothing flushed, no shutdown code, as a power cut
    }
}

/// <summary>
/// Intent first, then act, then commit (issue 13, design §5). <see cref="RunAsync"/> drives an intent from any step
/// to an end: the live request starts it at <see cref="IntentStep.Act"/>, the <see cref="IntentReconciler"/> at the
/// step <see cref="IntentPlan.Decide"/> gives for what the agent holds. Every agent call here is idempotent for the
/// machine and its target version, and every commit is guarded by the intent, so two drivers of one intent (a slow
/// request and a replica's reconciler) end it exactly once.
/// </summary>
internal sealed class MachineActions(Database db, AgentClient agents, MachineWriter writer, CrashPoints crash, TimeProvider clock, IOptions<MarketOptions> options,
    Images.ImageCatalogue images, Isos.IsoService isos, Networks.NetworkService networks, Networks.NetworkSync sync, Networks.Underlay underlay,
    Telemetry.FrontEndMetrics metrics)
{
    /// <summary>The end of driving an intent: the committed machine (null when deleted), or why not.</summary>
    internal sealed record Ended(MachineRow? Row, Failure? Failure, bool StillOpen);

    /// <summary>Claims, acts and commits: the live request's whole action.</summary>
    public async Task<Outcome<MachineRow?>> PerformAsync(IntentRow intent)
    {
        var ended = await RunAsync(intent, IntentStep.Act);
        if (ended.Failure is { } f) return f;
        return Outcome<MachineRow?>.Success(ended.Row);
    }

    /// <summary>Asks the agent what it holds of the intent's machine.</summary>
    public async Task<HostView> ObserveAsync(HostRow host, IntentRow intent) => (await LookAsync(host, intent)).View;

    // Refused: the agent turned the caller away (a wrong secret): it acts on no call of ours, so an act refused the same way did
    // nothing. Any other failure (an error, a proxy's 502, a command still under way) tells nothing: treated as no answer.
    private async Task<(HostView View, bool Refused)> LookAsync(HostRow host, IntentRow intent)
    {
        var got = await agents.GetSettledAsync(host, intent.Machine);
        if (got.Value is { } m) return (HostView.Holds(StateOf(m.State), m.Version), false);
        if (got.Failure!.AgentStatus == 404) return (HostView.Absent, false);
        return (Unanswered(host), got.Failure.AgentStatus is 401 or 403);
    }

    // Down when the host monitor has not reached it within the online window either.
    private HostView Unanswered(HostRow host) =>
        host.IsOnline(clock.GetUtcNow(), options.Value.OnlineWindow) ? HostView.Unreachable : HostView.Down;

    /// <summary>Drives <paramref name="intent"/> from <paramref name="step"/> to an end, or leaves it open; counted in <c>virtuoso.machine.actions</c>.</summary>
    public async Task<Ended> RunAsync(IntentRow intent, IntentStep step)
    {
        var started = Stopwatch.GetTimestamp();
        var ended = await DriveAsync(intent, step);
        metrics.ActionEnded(IntentRow.Text(intent.Kind), ended.StillOpen ? "open" : ended.Failure?.Code ?? "committed", Stopwatch.GetElapsedTime(started));
        return ended;
    }

    private async Task<Ended> DriveAsync(IntentRow intent, IntentStep step)
    {
        var host = await db.ReadAsync(c => HostQueries.ByNameAsync(c, intent.Host));
        Failure? failure = null;
        // Each turn moves the intent at least one step; a few are enough (act, commit, undo, abort), more means the
        // agent keeps changing under us: leave the intent open for the next reconciler pass.
        for (var turn = 0; turn < 6; turn++)
        {
            switch (step)
            {
                case IntentStep.Wait:
                    if (intent.Kind != IntentAction.Evict && (host is null || host.Deleting != 0 && Unanswered(host).Offline))
                    {
                        // The host is leaving the marketplace and is down: whatever it did is lost with it; its eviction follows.
                        step = IntentStep.Abort;
                        failure ??= Failure.NotFound($"host '{intent.Host}'");
                        break;
                    }
                    return new(null, StillOpen(intent, failure?.Message ?? "the host did not answer"), true);

                case IntentStep.Act:
                {
                    if (turn > 0) await writer.RenewLeaseAsync(intent); // a long drive keeps the reconciler off it
                    crash.Hit(intent.Kind, "before-agent");
                    var acted = host is null ? Failure.NotFound($"host '{intent.Host}'") : await ActAsync(host, intent);
                    if (acted is null)
                    {
                        crash.Hit(intent.Kind, "after-agent");
                        step = IntentStep.Commit;
                        break;
                    }
                    failure = acted;
                    if (acted.Unanswered)
                    {
                        await writer.NoteAsync(intent, acted.Message);
                        step = IntentPlan.Decide(intent.Plan, Unanswered(host!));
                        break;
                    }
                    // Refused: what does the agent hold now? At the target already (it acted for an earlier request) is a commit.
                    var (view, refused) = host is null ? (HostView.Absent, false) : await LookAsync(host, intent);
                    step = IntentPlan.Decide(intent.Plan, view);
                    // Refused where it started, or refused outright (a wrong secret answers every call alike): this
                    // attempt did nothing, and an earlier one of the same intent was seen not to have acted before it.
                    if (step == IntentStep.Act || refused) step = IntentStep.Abort;
                    break;
                }

                case IntentStep.Commit:
                {
                    // Issue 16: a machine arriving on or leaving a host changes who carries its network; read before a delete removes the row.
                    var network = intent.Kind is IntentAction.Store or IntentAction.Delete or IntentAction.Evict
                        ? await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<long?>("SELECT network FROM machines WHERE id = @Machine", new { intent.Machine }))
                        : null;
                    var committed = await writer.CommitAsync(intent, host);
                    if (committed.Gone) return await EndedElsewhereAsync(intent);
                    if (committed.Refusal is { } refusal)
                    {
                        failure = refusal;
                        if (!IntentPlan.CanUndo(intent.Kind)) return new(null, refusal, true);
                        // Another driver may have committed it meanwhile (or begun undoing): then it is not ours to undo.
                        if (!await writer.MarkUndoingAsync(intent, refusal.Message)) return await EndedElsewhereAsync(intent);
                        intent.Undoing = 1;
                        intent.Reason = refusal.Message;
                        step = IntentStep.Undo;
                        break;
                    }
                    crash.Hit(intent.Kind, "after-commit");
                    if (network is not null) sync.Nudge([intent.Host], network);
                    return new(committed.Row, null, false);
                }

                case IntentStep.Undo:
                {
                    await writer.RenewLeaseAsync(intent);
                    var undone = host is null ? null : await UndoAsync(host, intent);
                    if (undone is { Unanswered: true })
                    {
                        await writer.NoteAsync(intent, undone.Message);
                        failure ??= undone;
                        step = IntentStep.Wait;
                        break;
                    }
                    step = undone is null ? IntentStep.Abort : IntentPlan.Decide(intent.Plan, await ObserveAsync(host!, intent));
                    if (step == IntentStep.Undo) return new(null, failure ?? undone!, true); // the undo was refused: try again next pass
                    break;
                }

                case IntentStep.Abort:
                {
                    var why = intent.Reason ?? failure?.Message ?? "the host holds the machine otherwise than the action expected";
                    await writer.AbortAsync(intent, why, portsHeld: failure?.AgentCode == ErrorCodes.PortBusy);
                    return new(null, failure ?? new Failure(ErrorCodes.Conflict, why), false);
                }
            }
        }
        return new(null, failure ?? StillOpen(intent, "the agent kept changing"), true);
    }

    /// <summary>
    /// Evicts every machine of a host being deleted (§6.1.1) and deletes the host once none is left, waiting up to
    /// <paramref name="patience"/> for actions under way on it (a store on its way in) to end first. True when the host is gone.
    /// </summary>
    public async Task<bool> EvictAllAsync(string hostName, TimeSpan patience)
    {
        var waited = Stopwatch.StartNew();
        var tried = new HashSet<MachineId>();
        while (true)
        {
            // A machine whose eviction failed in this call is left to the next one (the reconciler's), not retried at once.
            foreach (var evict in await writer.ClaimEvictionsAsync(hostName, tried))
            {
                tried.Add(evict.Machine);
                await RunAsync(evict, IntentStep.Act);
            }
            if (await writer.FinishHostDeleteAsync(hostName)) return true;
            if (waited.Elapsed >= patience) return false;
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }

    private static Failure StillOpen(IntentRow intent, string why) =>
        new(ErrorCodes.AgentFailed, $"host {intent.Host} did not confirm the {intent.Action} ({why}); the machine is busy until it answers, " +
            "then the action is finished or undone");

    // Another driver ended the intent first: answer what it left.
    private async Task<Ended> EndedElsewhereAsync(IntentRow intent)
    {
        var row = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<MachineRow>($"SELECT {MachineRow.Columns} FROM machines WHERE id = @Machine", new { intent.Machine }));
        if (intent.Kind == IntentAction.Delete && row is null) return new(null, null, false);
        if (row is not null && row.Intent is null && row.Version == intent.ToVersion && row.State == CommittedState(intent.Kind))
            return new(row, null, false);
        return new(null, MachineWriter.Changed(), false);
    }

    private static MachineState? CommittedState(IntentAction action) => action switch
    {
        IntentAction.Store => MachineState.Stored,
        IntentAction.Start or IntentAction.Resume => MachineState.Running,
        IntentAction.Stop => MachineState.Stopped,
        IntentAction.Suspend => MachineState.Suspended,
        IntentAction.Evict => MachineState.Registered,
        _ => null,
    };

    /// <summary>The intent's action on the agent; null when the agent holds its result.</summary>
    private async Task<Failure?> ActAsync(HostRow host, IntentRow intent)
    {
        var id = intent.Machine;
        switch (intent.Kind)
        {
            case IntentAction.Store:
            {
                var m = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<MachineRow>($"SELECT {MachineRow.Columns} FROM machines WHERE id = @Machine", new { intent.Machine }));
                if (m is null) return Failure.MachineNotFound;
                // Issue 15: a host that lacks the base image fetches it from this front-end's catalogue first.
                var source = m.Image is { } image ? await images.SourceAsync(image, host.Name) : null;
                using var watching = new CancellationTokenSource();
                var watch = source is null ? Task.CompletedTask : WatchImageFetchAsync(host, intent, source.Name, watching.Token);
                try
                {
                    return (await agents.CreateAsync(host, new CreateMachineRequest(id, m.Mac, m.Speed, m.Memory, m.Disk, m.Image, intent.ToVersion, host.Speed, source))).Failure;
                }
                finally
                {
                    await watching.CancelAsync();
                    await watch;
                }
            }
            case IntentAction.Start or IntentAction.Resume:
                // Issue 16: a machine registered before networks joins its owner's default network at its first start or resume.
                await networks.AttachUnattachedAsync(intent.Machine.Value);
                return (await agents.CommandAsync(host, id, IntentRow.Text(intent.Kind),
                    new MachineCommand(intent.FromVersion, intent.ToVersion, await MetadataAsync(intent),
                        await db.ReadAsync(c => PortForwards.OfAsync(c, intent.Machine)),
                        await images.CdromAsync(isos, intent.Machine.Value, host.Name),
                        await networks.CommandAsync(intent.Machine.Value, host.Name, underlay)))).Failure;
            case IntentAction.Stop or IntentAction.Suspend:
                return (await agents.CommandAsync(host, id, IntentRow.Text(intent.Kind), new MachineCommand(intent.FromVersion, intent.ToVersion))).Failure;
            case IntentAction.Delete:
                return Absent(await agents.DeleteAsync(host, id));
            case IntentAction.Evict:
            {
                // Stop a running guest at its own version (the machine leaves the host: no version to agree on), then delete.
                var got = await agents.GetAsync(host, id);
                if (got.Failure is { } f) return Absent(f);
                if (got.Value!.State == AgentStates.Running &&
                    (await agents.CommandAsync(host, id, "stop", new MachineCommand(got.Value.Version, got.Value.Version))).Failure is { } stopFailed)
                    return stopFailed;
                return Absent(await agents.DeleteAsync(host, id));
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(intent), intent.Action, null);
        }
    }

    /// <summary>
    /// While a store waits for its host to fetch the base image, shows how far the fetch has come on the machine
    /// ("fetching image 43%") and keeps the reconciler off the intent (a first fetch may outlast a lease).
    /// </summary>
    private async Task WatchImageFetchAsync(HostRow host, IntentRow intent, string image, CancellationToken ct)
    {
        var shown = (string?)null;
        var renewed = clock.GetUtcNow();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), clock, ct);
                var progress = await agents.ImageFetchAsync(host, image, ct);
                var activity = progress is { TotalBytes: > 0 } p ? $"storing: fetching image {Math.Min(99, p.Bytes * 100 / p.TotalBytes)}%" : null;
                if (activity is not null && activity != shown)
                    await writer.SetActivityAsync(intent, shown = activity);
                if (clock.GetUtcNow() - renewed > TimeSpan.FromSeconds(options.Value.IntentLeaseSeconds / 3))
                {
                    await writer.RenewLeaseAsync(intent);
                    renewed = clock.GetUtcNow();
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        if (shown is not null)
            await writer.SetActivityAsync(intent, null);
    }

    /// <summary>
    /// What the guest is told at boot through its cloud-init seed (issue 14): its hostname (the machine's name as a
    /// label) and its owner's SSH keys as they are now, so a key added or deleted applies from the next start. A resume
    /// sends it too: the agent uses it only to rebuild a seed a migration left behind.
    /// </summary>
    private Task<GuestMetadata> MetadataAsync(IntentRow intent) => db.ReadAsync(async c =>
    {
        var name = await c.QuerySingleOrDefaultAsync<string>("SELECT name FROM machines WHERE id = @Machine", new { intent.Machine }) ?? "";
        return new GuestMetadata(GuestHostname.From(name, intent.Machine), await Accounts.SshKeys.LinesAsync(c, intent.Owner, null));
    });

    /// <summary>Takes back an action whose commit was refused: the copy of a store is deleted, a start or resume stopped or suspended at the same version.</summary>
    private async Task<Failure?> UndoAsync(HostRow host, IntentRow intent)
    {
        var id = intent.Machine;
        return intent.Kind switch
        {
            IntentAction.Store => Absent(await agents.DeleteAsync(host, id)),
            IntentAction.Start => (await agents.CommandAsync(host, id, "stop", new MachineCommand(intent.FromVersion, intent.FromVersion))).Failure,
            IntentAction.Resume => (await agents.CommandAsync(host, id, "suspend", new MachineCommand(intent.FromVersion, intent.FromVersion))).Failure,
            _ => throw new InvalidOperationException($"{intent.Action} has no undo"),
        };
    }

    // A delete that finds nothing to delete is done.
    private static Failure? Absent(Failure? f) => f is { AgentStatus: 404 } ? null : f;

    private static HostState StateOf(string agentState) => agentState switch
    {
        AgentStates.Running => HostState.Running,
        AgentStates.Suspended => HostState.Suspended,
        _ => HostState.Stopped,
    };
}
