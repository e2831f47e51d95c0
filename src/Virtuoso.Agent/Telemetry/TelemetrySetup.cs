using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Virtuoso.Agent.Telemetry;

/// <summary>
/// Metrics and traces (issue 19 point 3): the agent's meter (<see cref="AgentMetrics"/>), ASP.NET Core's request metrics and
/// HttpClient's, served to Prometheus at <c>/metrics</c> behind the host secret. Requests are activities continuing the
/// front-end's W3C <c>traceparent</c>, so the agent's log scopes carry the front-end's trace id; no trace exporter, nothing connects out.
/// </summary>
internal static class TelemetrySetup
{
    public const string Path = "/metrics";

    public static void AddTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<AgentMetrics>();
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("virtuoso-agent"))
            .WithMetrics(m => m
                .AddMeter(AgentMetrics.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0))
            .WithTracing(t => t
                .AddAspNetCoreInstrumentation(o => o.Filter = c => !c.Request.Path.StartsWithSegments(Path))
                .AddHttpClientInstrumentation());
    }

    /// <summary>Maps <c>/metrics</c>; <see cref="Security.SecretAuthentication"/> runs before routing, so it needs the host secret.</summary>
    public static void MapMetrics(this WebApplication app)
    {
        app.Services.GetRequiredService<AgentMetrics>(); // its gauges exist from the start
        app.MapPrometheusScrapingEndpoint(Path);
    }
}
