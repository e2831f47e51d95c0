using System.Diagnostics;
using System.Diagnostics.Metrics;
using Virtuoso.Agent.Machines;

namespace Virtuoso.Agent.Telemetry;

/// <summary>
/// Every instrument of the agent's meter, in one place (issue 19 point 3; docs/operations.md "Metrics" lists them). Served at
/// <c>/metrics</c>, which needs the host secret like the rest of the control API (<see cref="Security.SecretAuthentication"/>);
/// labels are aggregates all the same (an action, an outcome), never a machine id.
/// </summary>
internal sealed class AgentMetrics
{
    public const string MeterName = "Virtuoso.Agent";

    private readonly Counter<long> _actions;
    private readonly Histogram<double> _actionDuration;

    public AgentMetrics(IMeterFactory meters, MachineService machines, AgentOptions options)
    {
        var meter = meters.Create(MeterName);
        _actions = meter.CreateCounter<long>("virtuoso.agent.machine.actions", description:
            "Control API commands on machines (create, start, stop, suspend, resume, delete, ...), by action and outcome (ok or the error code)");
        _actionDuration = meter.CreateHistogram("virtuoso.agent.machine.action.duration", "s", "How long a machine command took, by action and outcome",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] });
        meter.CreateObservableGauge("virtuoso.agent.machines", () => (long)machines.Count, description: "Machines this host holds, in any state");
        meter.CreateObservableGauge("virtuoso.agent.qemu.processes", () => (long)machines.ProcessesRunning, description: "QEMU processes running machines of this host");
        meter.CreateObservableGauge("virtuoso.agent.disk.free", () => new DriveInfo(options.DataDirectory).AvailableFreeSpace, "By",
            "Free space of the file system holding the agent's data directory (disks, images, migrations)");
        meter.CreateObservableGauge("virtuoso.agent.disk.size", () => new DriveInfo(options.DataDirectory).TotalSize, "By",
            "Size of the file system holding the agent's data directory");
    }

    /// <summary>A command on a machine answered; <paramref name="outcome"/> is <c>ok</c> or the error code it answered with.</summary>
    public void ActionEnded(string action, string outcome, TimeSpan took)
    {
        var tags = new TagList { { "action", action }, { "outcome", outcome } };
        _actions.Add(1, tags);
        _actionDuration.Record(took.TotalSeconds, tags);
    }
}
