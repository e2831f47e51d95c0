using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.Core.Machines;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Hosts;

namespace Virtuoso.FrontEnd.Machines;

/// <summary>
/// Drives every intent left open to an end (issue 13): at start-up and every <see cref="MarketOptions.ReconcileIntervalSeconds"/>,
/// on every replica. An intent whose lease ran out (its request died, or is very slow) is claimed by extending its lease in a
/// transaction — on PostgreSQL with <c>FOR UPDATE SKIP LOCKED</c>, so replicas take different intents — then the agent is asked
/// what it holds and <see cref="IntentPlan.Decide"/> says whether to act again, commit, undo or close it. Hosts whose deletion
/// was interrupted are finished here too.
/// </summary>
internal sealed partial class IntentReconciler(Database db, MachineActions actions, TimeProvider clock,
    IOptions<MarketOptions> options, ILogger<IntentReconciler> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        if (!options.Value.DaemonsEnabled) return;
        await Periodic.RunAsync(PassAsync, TimeSpan.FromSeconds(options.Value.ReconcileIntervalSeconds), clock, e => LogPassFailed(log, e), stop);
    }

    /// <summary>One pass: every intent whose lease ran out, then the hosts left deleting. Returns how many intents it drove.</summary>
    public async Task<int> PassAsync(CancellationToken ct = default)
    {
        var claimed = await ClaimAsync();
        foreach (var intent in claimed)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                var host = await db.ReadAsync(c => HostQueries.ByNameAsync(c, intent.Host));
                var view = host is null ? HostView.Absent : await actions.ObserveAsync(host, intent);
                var step = IntentPlan.Decide(intent.Plan, view);
                var ended = await actions.RunAsync(intent, step);
                LogDriven(log, intent.Machine.ToString(), intent.Action, step.ToString(), ended.StillOpen ? "still open" : ended.Failure is null ? "committed" : "closed",
                    ended.Failure?.Message);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One intent that cannot be driven now does not hold the others up; its lease brings it back.
                LogIntentFailed(log, intent.Machine.ToString(), intent.Action, e);
            }
        }
        foreach (var name in await db.ReadAsync(c => c.QueryAsync<string>("SELECT name FROM hosts WHERE deleting = 1")))
            await actions.EvictAllAsync(name, TimeSpan.Zero);
        return claimed.Count;
    }

    private Task<IReadOnlyList<IntentRow>> ClaimAsync()
    {
        var now = clock.GetUtcNow();
        var lease = now + TimeSpan.FromSeconds(options.Value.IntentLeaseSeconds);
        var skipLocked = db.Dialect == Dialect.Postgres ? " FOR UPDATE SKIP LOCKED" : "";
        return db.WriteAsync<IReadOnlyList<IntentRow>>(async (c, tx) =>
        {
            var due = (await c.QueryAsync<IntentRow>($"SELECT {IntentRow.Columns} FROM machine_intents WHERE lease_until <= @now ORDER BY created_at LIMIT 50{skipLocked}",
                new { now }, tx)).ToList();
            foreach (var i in due)
                await c.ExecuteAsync("UPDATE machine_intents SET lease_until = @lease, attempts = attempts + 1 WHERE id = @Id", new { lease, i.Id }, tx);
            return due;
        });
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Warning, Message = "Reconciler pass failed; the next pass retries")]
    private static partial void LogPassFailed(ILogger logger, Exception e);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "Reconciler: driving machine {Machine}'s open {Action} failed; its lease brings it back")]
    private static partial void LogIntentFailed(ILogger logger, string machine, string action, Exception e);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Information, Message = "Reconciler: machine {Machine}'s open {Action} driven from {Step}: {Outcome} {Error}")]
    private static partial void LogDriven(ILogger logger, string machine, string action, string step, string outcome, string? error);
}
