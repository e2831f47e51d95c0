using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Http;

namespace Virtuoso.FrontEnd.Telemetry;

/// <summary>
/// Metrics and traces (issue 19 point 3) with OpenTelemetry: the front-end's own meter (<see cref="FrontEndMetrics"/>), ASP.NET
/// Core's request metrics (<c>http.server.request.duration</c> by route and status) and HttpClient's (the calls to the agents),
/// served to Prometheus at <c>/metrics</c>. Traces: requests and agent calls are activities, so the W3C <c>traceparent</c> of a
/// request reaches the agent it calls and both logs carry one trace id; no trace exporter is configured, nothing connects out.
/// </summary>
internal static class TelemetrySetup
{
    public const string Path = "/metrics";

    public static void AddTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<MetricsOptions>(builder.Configuration.GetSection("Virtuoso"));
        builder.Services.AddSingleton<FrontEndMetrics>();
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("virtuoso-frontend"))
            .WithMetrics(m => m
                .AddMeter(FrontEndMetrics.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                // No response cache: each scrape is fresh (the gauges' database reads have their own, MetricsGaugeCacheSeconds).
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0))
            .WithTracing(t => t
                .AddAspNetCoreInstrumentation(o => o.Filter = c => !c.Request.Path.StartsWithSegments(Path))
                .AddHttpClientInstrumentation());
    }

    /// <summary>Maps <c>/metrics</c>, behind <see cref="MetricsOptions.MetricsToken"/> when it is set.</summary>
    public static void MapMetrics(this WebApplication app)
    {
        app.Services.GetRequiredService<FrontEndMetrics>(); // its gauges exist from the start, not from the first action
        var token = app.Services.GetRequiredService<IOptions<MetricsOptions>>().Value.MetricsToken;
        app.MapPrometheusScrapingEndpoint(Path, meterProvider: null, configureBranchedPipeline: branch =>
        {
            if (string.IsNullOrEmpty(token)) return;
            var expected = SHA256.HashData(Encoding.UTF8.GetBytes(token));
            branch.Use(async (context, next) =>
            {
                const string scheme = "Bearer ";
                var header = context.Request.Headers.Authorization.ToString();
                var presented = header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? header[scheme.Length..].Trim() : "";
                // Digests compared in fixed time: neither the token nor its length leaks through timing.
                if (CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), expected))
                {
                    await next(context);
                    return;
                }
                await new Failure(ErrorCodes.Unauthenticated, "/metrics needs the metrics token: Authorization: Bearer <token> (Virtuoso:MetricsToken)")
                    .ToResult().ExecuteAsync(context);
            });
        }, optionsName: null);
    }
}
