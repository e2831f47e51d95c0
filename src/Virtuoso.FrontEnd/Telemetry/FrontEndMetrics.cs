using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.Core.Machines;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Telemetry;

/// <summary>
/// Every instrument of the front-end's meter, in one place (issue 19 point 3; docs/operations.md "Metrics" lists them with
/// their labels). Served at <c>/metrics</c> by <see cref="TelemetrySetup"/>. Labels are aggregates only (an action's
/// kind, a state, a method, an error code): never a machine, an account or a host, so the page tells nobody's business.
/// Money here is a <c>double</c> for charts only; the ledger (decimal) is the truth.
/// </summary>
internal sealed class FrontEndMetrics
{
    public const string MeterName = "Virtuoso.FrontEnd";

    private readonly Counter<long> _actions;
    private readonly Histogram<double> _actionDuration;
    private readonly Histogram<double> _billingPass;
    private readonly Counter<long> _charges;
    private readonly Counter<double> _charged;
    private readonly Counter<long> _migrationsStarted;
    private readonly Counter<long> _migrationsEnded;
    private readonly Histogram<double> _migrationDuration;
    private readonly Counter<long> _migrationBytes;
    private readonly Cached<IReadOnlyList<(string State, long Count)>> _machines;
    private readonly Cached<(long Online, long Offline)> _hosts;

    public FrontEndMetrics(IMeterFactory meters, Database db, TimeProvider clock, IOptions<MarketOptions> options, IOptions<MetricsOptions> metrics)
    {
        var meter = meters.Create(MeterName);
        var cacheFor = TimeSpan.FromSeconds(metrics.Value.MetricsGaugeCacheSeconds);
        _actions = meter.CreateCounter<long>("virtuoso.machine.actions", description:
            "Machine actions driven to an end on a host (by a request or the reconciler), by action and outcome (committed, open, or the error code)");
        _actionDuration = meter.CreateHistogram("virtuoso.machine.action.duration", "s", "How long driving a machine action took, by action and outcome",
            advice: Seconds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120));
        _billingPass = meter.CreateHistogram("virtuoso.billing.pass.duration", "s", "How long one billing pass took",
            advice: Seconds(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60));
        _charges = meter.CreateCounter<long>("virtuoso.billing.charges", description: "Charges a billing pass made, by kind (storage, running)");
        _charged = meter.CreateCounter<double>("virtuoso.billing.charged.dollars", description:
            "Dollars the billing passes charged, by kind (for charts: the ledger holds the exact amounts)");
        _migrationsStarted = meter.CreateCounter<long>("virtuoso.migrations.started", description: "Migrations begun, by method");
        _migrationsEnded = meter.CreateCounter<long>("virtuoso.migrations.ended", description: "Migrations ended, by method and outcome (committed, reverted)");
        _migrationDuration = meter.CreateHistogram("virtuoso.migration.duration", "s", "From a migration's start to its commit or revert, by method and outcome",
            advice: Seconds(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600));
        _migrationBytes = meter.CreateCounter<long>("virtuoso.migration.transferred", "By", "Bytes the committed migrations sent over the wire, by method");

        _machines = new(clock, cacheFor, () => db.ReadAsync(async c =>
            (IReadOnlyList<(string, long)>)(await c.QueryAsync<(string, long)>("SELECT state, COUNT(*) FROM machines GROUP BY state")).ToList()));
        _hosts = new(clock, cacheFor, () => db.ReadAsync(async c =>
        {
            var since = clock.GetUtcNow() - options.Value.OnlineWindow;
            var (total, online) = await c.QuerySingleAsync<(long, long)>(
                "SELECT COUNT(*), COUNT(CASE WHEN last_seen >= @since THEN 1 END) FROM hosts", new { since });
            return (online, total - online);
        }));
        // Every state, 0 included, so a chart's line does not vanish when the last machine leaves a state.
        meter.CreateObservableGauge("virtuoso.machines", () =>
            {
                var counts = _machines.Value;
                return Enum.GetValues<MachineState>().Select(MachineRow.StateText)
                    .Select(state => new Measurement<long>(counts.Where(m => m.State == state).Sum(m => m.Count), new KeyValuePair<string, object?>("state", state)))
                    .ToList();
            },
            description: "Machines in the marketplace, by state (from the database, read at most every Virtuoso:MetricsGaugeCacheSeconds, 5 s by default)");
        meter.CreateObservableGauge("virtuoso.hosts", () =>
        {
            var (online, offline) = _hosts.Value;
            return new[]
            {
                new Measurement<long>(online, new KeyValuePair<string, object?>("status", "online")),
                new Measurement<long>(offline, new KeyValuePair<string, object?>("status", "offline")),
            };
        }, description: "Hosts in the marketplace, online (seen by the host monitor within the online window) or offline");
    }

    private static InstrumentAdvice<double> Seconds(params double[] bounds) => new() { HistogramBucketBoundaries = bounds };

    /// <summary>A machine action (an intent) driven to an end, or left open; <paramref name="outcome"/> is committed, open or an error code.</summary>
    public void ActionEnded(string action, string outcome, TimeSpan took)
    {
        var tags = new TagList { { "action", action }, { "outcome", outcome } };
        _actions.Add(1, tags);
        _actionDuration.Record(took.TotalSeconds, tags);
    }

    public void BillingPass(TimeSpan took) => _billingPass.Record(took.TotalSeconds);

    /// <summary>Charges one committed billing batch made of <paramref name="kind"/>.</summary>
    public void Charged(string kind, int count, decimal dollars)
    {
        if (count == 0) return;
        var tag = new KeyValuePair<string, object?>("kind", kind);
        _charges.Add(count, tag);
        _charged.Add((double)dollars, tag);
    }

    public void MigrationStarted(string method) => _migrationsStarted.Add(1, new KeyValuePair<string, object?>("method", method));

    /// <summary>A migration committed or reverted (once: after the transaction that ended it); <paramref name="bytesOnWire"/> for a commit.</summary>
    public void MigrationEnded(string method, string outcome, TimeSpan took, long? bytesOnWire)
    {
        var tags = new TagList { { "method", method }, { "outcome", outcome } };
        _migrationsEnded.Add(1, tags);
        _migrationDuration.Record(Math.Max(0, took.TotalSeconds), tags);
        if (bytesOnWire is > 0) _migrationBytes.Add(bytesOnWire.Value, new KeyValuePair<string, object?>("method", method));
    }

    /// <summary>
    /// A value read from the database at most every <paramref name="cacheFor"/>. Gauges are observed synchronously on the
    /// scrape's thread; the read is a single small query, so it is waited for there.
    /// </summary>
    private sealed class Cached<T>(TimeProvider clock, TimeSpan cacheFor, Func<Task<T>> read)
    {
        private readonly Lock _gate = new();
        private T _value = default!;
        private DateTimeOffset _readAt = DateTimeOffset.MinValue;

        public T Value
        {
            get
            {
                lock (_gate)
                {
                    var now = clock.GetUtcNow();
                    if (now - _readAt >= cacheFor || now < _readAt)
                    {
                        _value = read().GetAwaiter().GetResult();
                        _readAt = now;
                    }
                    return _value;
                }
            }
        }
    }
}
