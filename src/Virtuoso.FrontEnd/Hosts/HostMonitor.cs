using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.Core.Machines;
using Virtuoso.FrontEnd.Agents;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.Contracts.Agent;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Hosts;

/// <summary>
/// Checks every host's agent periodically and records when it last answered; matching treats a host as
/// offline when it has not answered within <see cref="MarketOptions.HostOnlineWindowSeconds"/> (§5.1.5:
/// "it is possible for a provider to go offline"). Stateless, so every replica may run it.
/// </summary>
internal sealed partial class HostMonitor(Database db, MachineWriter writer, AgentClient agents, TimeProvider clock, IOptions<MarketOptions> options, ILogger<HostMonitor> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        var interval = TimeSpan.FromSeconds(options.Value.HostMonitorIntervalSeconds);
        while (!stop.IsCancellationRequested)
        {
            try { await CheckAllAsync(stop); }
            catch (Exception e) when (e is not OperationCanceledException) { LogCheckFailed(log, e); }
            await Task.Delay(interval, clock, stop).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    public async Task CheckAllAsync(CancellationToken ct = default)
    {
        // Hosts being deleted too: their evictions need to know whether they are down or only slow.
        var hosts = (await db.ReadAsync(c => HostQueries.AllAsync(c, deleting: true))).ToList();
        var now = clock.GetUtcNow();
        var grace = TimeSpan.FromSeconds(options.Value.HostOfflineGraceSeconds);
        await Task.WhenAll(hosts.Select(async h =>
        {
            if ((await agents.HealthAsync(h, TimeSpan.FromSeconds(2), ct)).Value is not { } health)
            {
                // Issue 13: past the grace period, its running machines stop consuming running time (and being charged for it).
                var lastSeen = h.LastSeen;
                if (HostOutage.IsDown(lastSeen, now, grace))
                    await writer.MarkHostOfflineAsync(h, lastSeen ?? now);
                return;
            }
            // The agent's VMMP port and methods (design §6.1) are learned here, so a restarted agent's new ones are picked up.
            await db.ReadAsync(c => c.ExecuteAsync("UPDATE hosts SET last_seen = @now, vmmp_port = @port, methods = @methods WHERE name = @name",
                new { now = clock.GetUtcNow(), port = health.VmmpPort, methods = HostRow.MethodsText(health.Methods), name = h.Name }));
            await EndOutagesAsync(h, ct);
            await ReconcileAsync(h, ct);
        }));
    }

    /// <summary>The host answers again: each of its machines marked offline is resumed, or recorded stopped (<see cref="HostOutage"/>).</summary>
    private async Task EndOutagesAsync(HostRow host, CancellationToken ct)
    {
        var marked = await db.ReadAsync(c => c.QueryAsync<MachineId>("SELECT id FROM machines WHERE host = @Name AND host_offline_since IS NOT NULL AND intent IS NULL", new { host.Name }));
        foreach (var id in marked)
        {
            var got = await agents.GetAsync(host, id, ct);
            var held = got.Value is { } m
                ? HostView.Holds(m.State switch { AgentStates.Running => HostState.Running, AgentStates.Suspended => HostState.Suspended, _ => HostState.Stopped }, m.Version)
                : got.Failure!.AgentStatus == 404 ? HostView.Absent : HostView.Unreachable;
            if (held.Answered) await writer.EndOutageAsync(id, held);
        }
    }

    /// <summary>
    /// A machine the front-end believes running but whose agent truthfully reports it powered off (the guest
    /// ran <c>poweroff</c>, or QEMU died with its host) is recorded as stopped, at the same version (no stop
    /// command bumped it on either side), and its running time stops being consumed. Report footnote 11:
    /// the original could not notice this.
    /// </summary>
    private async Task ReconcileAsync(HostRow host, CancellationToken ct)
    {
        if ((await agents.ListAsync(host, ct)).Value is not { } onAgent) return;
        await RecordUsageAsync(host, onAgent);
        foreach (var m in onAgent.Where(m => m.State == AgentStates.Stopped))
        {
            // The list may predate a start committed since (the agent starts before the front-end commits, and start
            // keeps the version), so its "stopped" proves nothing about the current run: ask again once the run is seen.
            // A machine held by an intent is the intent's to settle (issue 13): its action may be what stopped it.
            var seen = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<MachineRow>($"SELECT {MachineRow.Columns} FROM machines WHERE id = @id AND host = @host AND state = @running AND version = @v AND intent IS NULL",
                new { id = m.Id, host = host.Name, running = MachineRow.StateText(MachineState.Running), v = m.Version }));
            if (seen is null || (await agents.GetAsync(host, m.Id, ct)).Value is not { State: AgentStates.Stopped } again || again.Version != seen.Version) continue;
            await writer.RecordPoweredOffAsync(seen.Id, host.Name, host.Owner, seen.Version, seen.RunningSince);
        }
    }

    /// <summary>
    /// Issue 17: each machine's CPU share and vCPUs as its agent enforces them, and what the agent measured of it while
    /// running, copied for My computers and My hosts. Not machine state: no intent or version is involved, and a machine
    /// that has left this host (its row names another) is not touched.
    /// </summary>
    private Task RecordUsageAsync(HostRow host, IReadOnlyList<AgentMachine> onAgent) =>
        onAgent.Count == 0 ? Task.CompletedTask : db.ReadAsync(c => c.ExecuteAsync(
            "UPDATE machines SET cpu_millicores = @CpuMillicores, vcpus = @Vcpus, cpu_used_millicores = @CpuUsedMillicores, " +
            "memory_used_mb = @MemoryUsedMb WHERE id = @Id AND host = @Host",
            onAgent.Select(m => new { m.CpuMillicores, Vcpus = (long)m.Vcpus, m.CpuUsedMillicores, m.MemoryUsedMb, Id = new MachineId(m.Id), Host = host.Name })));

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Host check failed")]
    private static partial void LogCheckFailed(ILogger logger, Exception e);
}
