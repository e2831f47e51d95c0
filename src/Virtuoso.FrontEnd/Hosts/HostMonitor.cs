using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.Core.Accounts;
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
internal sealed partial class HostMonitor(Database db, MachineWriter writer, AgentClient agents, ConnectionTester tester, EventLog events, TimeProvider clock,
    IOptions<MarketOptions> options, ILogger<HostMonitor> log) : BackgroundService
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
        // Issue 19: a host whose agent has never joined has nothing to check yet (its secret is not the agent's).
        var hosts = (await db.ReadAsync(c => HostQueries.AllAsync(c, deleting: true))).Where(h => h.JoinExpiresAt is null || h.LastSeen is not null).ToList();
        var now = clock.GetUtcNow();
        var grace = TimeSpan.FromSeconds(options.Value.HostOfflineGraceSeconds);
        // At most MonitorParallelism checks at once (issue 19): a marketplace of 10,000 hosts must not open 10,000 connections
        // every few seconds from each replica.
        await Parallel.ForEachAsync(hosts, new ParallelOptions { MaxDegreeOfParallelism = MonitorParallelism, CancellationToken = ct }, async (h, ct) =>
        {
            // Issue 18: the same test as the provider's "Test connection": an agent that answers but refuses the secret, or
            // speaks another protocol, cannot be used, so it is not seen either; what failed is recorded for its provider.
            var test = await tester.TestAsync(h, ct);
            if (!test.Ok || test.Health is not { } health)
            {
                var answer = test.Answer;
                await db.ReadAsync(c => c.ExecuteAsync("UPDATE hosts SET last_failure = @Code, last_failure_message = @Message, last_failure_at = @now WHERE name = @name",
                    new { answer.Code, answer.Message, now = clock.GetUtcNow(), name = h.Name }));
                // Issue 13: past the grace period, its running machines stop consuming running time (and being charged for it).
                var lastSeen = h.LastSeen;
                if (HostOutage.IsDown(lastSeen, now, grace))
                {
                    await writer.MarkHostOfflineAsync(h, lastSeen ?? now);
                    if (lastSeen is { } seen) await TellOutageAsync(h, seen, answer.Message);
                }
                return;
            }
            // The agent's VMMP port and methods (design §6.1) are learned here, so a restarted agent's new ones are picked up.
            await db.ReadAsync(c => c.ExecuteAsync("UPDATE hosts SET last_seen = @now, vmmp_port = @port, methods = @methods, bogomips = @bogomips, " +
                "last_failure = NULL, last_failure_message = NULL, last_failure_at = NULL WHERE name = @name",
                new { now = clock.GetUtcNow(), port = health.VmmpPort, methods = HostRow.MethodsText(health.Methods), bogomips = health.Bogomips, name = h.Name }));
            if (h.OutageSince is not null) await TellBackAsync(h);
            await EndOutagesAsync(h, ct);
            await ReconcileAsync(h, test.Machines!, ct);
        });
    }

    /// <summary>
    /// How many hosts one pass checks at once: enough that hosts that do not answer (each holding a check until its timeout)
    /// do not delay the others past the online window, unless there are hundreds of them.
    /// </summary>
    private const int MonitorParallelism = 256;

    /// <summary>
    /// Issue 18: a host that answered before and has not for longer than the grace period is offline: its provider is told, and
    /// so is the owner of each machine on it that is not running (a running one's owner is told by
    /// <see cref="MachineWriter.MarkHostOfflineAsync"/>, with what it means for the running time). Once per outage: the
    /// conditional update that marks it is what only one check, on one replica, gets to do.
    /// </summary>
    private Task TellOutageAsync(HostRow host, DateTimeOffset lastSeen, string cause) => db.WriteAsync(async (c, tx) =>
    {
        if (await c.ExecuteAsync("UPDATE hosts SET outage_since = @lastSeen WHERE name = @Name AND outage_since IS NULL", new { lastSeen, host.Name }, tx) == 0) return 0;
        await events.AppendAsync(c, tx, "host-offline", null, host.Owner, $"Your host {host.Name} has not answered since {lastSeen:u}. {cause}");
        var machines = await c.QueryAsync<(MachineId Id, AccountName Owner, string Name)>("SELECT id, owner, name FROM machines WHERE host = @Name AND state <> @running",
            new { host.Name, running = MachineRow.StateText(MachineState.Running) }, tx);
        foreach (var m in machines)
            await events.AppendAsync(c, tx, "host-offline", m.Id, m.Owner,
                $"The host {host.Name} of your machine {m.Name} has not answered since {lastSeen:u}: the machine cannot be started or moved until it answers again.");
        return 0;
    });

    /// <summary>The host answers again after an outage its provider was told of: they are told it is back.</summary>
    private Task TellBackAsync(HostRow host) => db.WriteAsync(async (c, tx) =>
    {
        if (await c.ExecuteAsync("UPDATE hosts SET outage_since = NULL WHERE name = @Name AND outage_since IS NOT NULL", new { host.Name }, tx) == 0) return 0;
        await events.AppendAsync(c, tx, "host-back", null, host.Owner, $"Your host {host.Name} answers again.");
        return 0;
    });

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
    private async Task ReconcileAsync(HostRow host, List<AgentMachine> onAgent, CancellationToken ct)
    {
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
