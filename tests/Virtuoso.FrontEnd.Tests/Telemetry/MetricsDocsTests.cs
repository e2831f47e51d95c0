using System.Text.RegularExpressions;

namespace Virtuoso.FrontEnd.Tests.Telemetry;

/// <summary>
/// docs/operations.md "Metrics" lists every instrument of both meters, and the Grafana dashboard reads only metrics it
/// lists (issue 19 point 3): a renamed or added instrument fails here until the docs and the dashboard follow.
/// </summary>
public sealed partial class MetricsDocsTests
{
    private static readonly string Root = FindRoot();

    [Fact]
    public void EveryInstrumentOfBothMeters_IsInTheMetricsTable()
    {
        var table = MetricsTable();
        var instruments = new[] { "src/Virtuoso.FrontEnd/Telemetry/FrontEndMetrics.cs", "src/Virtuoso.Agent/Telemetry/AgentMetrics.cs" }
            .SelectMany(f => InstrumentName().Matches(File.ReadAllText(Path.Combine(Root, f))).Select(m => m.Groups[1].Value.Replace('.', '_')))
            .ToList();
        Assert.True(instruments.Count >= 15, $"found only {instruments.Count} instruments");
        Assert.All(instruments, i => Assert.True(table.Any(t => t.StartsWith(i, StringComparison.Ordinal)), $"{i} is not in docs/operations.md's metrics table"));
    }

    [Fact]
    public void TheDashboard_ReadsOnlyDocumentedMetrics_AndEachGroup()
    {
        var table = MetricsTable();
        var dashboard = File.ReadAllText(Path.Combine(Root, "docs/grafana-dashboard.json"));
        var used = PrometheusName().Matches(dashboard).Select(m => Suffix().Replace(m.Value, "")).ToHashSet();
        Assert.All(used, u => Assert.True(table.Contains(u) || table.Contains(u + "_total") || table.Any(t => t == u.Replace("_total", "")),
            $"the dashboard reads {u}, which docs/operations.md does not list"));
        foreach (var group in new[] { "http_server_request_duration_seconds", "virtuoso_machine_actions_total", "virtuoso_billing_pass_duration_seconds",
                     "virtuoso_billing_charges_total", "virtuoso_migrations_ended_total", "virtuoso_migration_transferred_bytes_total", "virtuoso_hosts",
                     "virtuoso_machines", "virtuoso_agent_qemu_processes", "virtuoso_agent_disk_free_bytes", "virtuoso_agent_machine_actions_total" })
            Assert.Contains(group, used);
    }

    /// <summary>The metric names in the first column of the table under "## Metrics".</summary>
    private static HashSet<string> MetricsTable()
    {
        var text = File.ReadAllText(Path.Combine(Root, "docs/operations.md"));
        var section = text[text.IndexOf("## Metrics", StringComparison.Ordinal)..];
        return section.Split('\n').Where(l => l.StartsWith("| `", StringComparison.Ordinal))
            .SelectMany(l => Regex.Matches(l.Split('|')[1], "`([a-z_]+)`").Select(m => m.Groups[1].Value)).ToHashSet();
    }

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Virtuoso.sln"))) return d.FullName;
        throw new InvalidOperationException($"no Virtuoso.sln above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex("Create[A-Za-z]+(?:<[a-z]+>)?\\(\"(virtuoso\\.[a-z._]+)\"")]
    private static partial Regex InstrumentName();

    [GeneratedRegex("\\b(?:virtuoso|http)_[a-z_]+(?=\\{)")] // a metric in PromQL is followed by its selector
    private static partial Regex PrometheusName();

    [GeneratedRegex("_(bucket|count|sum)$")]
    private static partial Regex Suffix();
}
