namespace Virtuoso.FrontEnd.Telemetry;

/// <summary>Settings of <c>/metrics</c> (section <c>Virtuoso</c>; docs/operations.md "Metrics").</summary>
internal sealed class MetricsOptions
{
    /// <summary>
    /// When set, <c>/metrics</c> answers only <c>Authorization: Bearer &lt;token&gt;</c> (Prometheus' <c>authorization</c>
    /// scrape setting); when empty, the default, it is public: its labels are aggregates only (<see cref="FrontEndMetrics"/>).
    /// </summary>
    public string? MetricsToken { get; set; }

    /// <summary>How long the machine and host counts read from the database are reused between scrapes.</summary>
    public double MetricsGaugeCacheSeconds { get; set; } = 5;
}
