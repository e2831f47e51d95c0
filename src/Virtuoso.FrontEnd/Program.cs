using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Diagnostics;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Agents;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Console;
using Virtuoso.FrontEnd.Tunnel;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Hosts;
using Virtuoso.FrontEnd.Http;
using Virtuoso.FrontEnd.Isos;
using Virtuoso.FrontEnd.Machines;
using Virtuoso.FrontEnd.Market;
using Virtuoso.FrontEnd.Migration;
using Virtuoso.FrontEnd.Networks;
using Virtuoso.FrontEnd.Web;

var builder = WebApplication.CreateBuilder(args);
var config = builder.Configuration;

// Database: VIRTUOSO_DATABASE = sqlite:PATH | postgres:CONNECTION-STRING; default a SQLite file under VIRTUOSO_DATA.
var dataDir = config["VIRTUOSO_DATA"] ?? Path.Combine(Directory.GetCurrentDirectory(), ".virtuoso");
var database = Database.FromSetting(config["VIRTUOSO_DATABASE"] ?? $"sqlite:{Path.Combine(dataDir, "virtuoso.db")}");

builder.Services.AddSingleton(database);
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.Configure<MarketOptions>(config.GetSection("Virtuoso"));
if (config["VIRTUOSO_BILLING_INTERVAL"] is { Length: > 0 } billingInterval)
    builder.Services.PostConfigure<MarketOptions>(o => o.BillingIntervalSeconds = double.Parse(billingInterval, System.Globalization.CultureInfo.InvariantCulture));
builder.Services.AddSingleton<Migrator>();
builder.Services.AddSingleton<Ledger>();
builder.Services.AddSingleton<Charges>();
builder.Services.AddSingleton<EventLog>();
builder.Services.AddSingleton<Notifications>();
builder.Services.AddSingleton<AgentClient>();
builder.Services.AddSingleton<ConnectionTester>();
builder.Services.AddSingleton<AccountService>();
builder.Services.AddSingleton<LoginThrottle>();
builder.Services.AddSingleton<SshKeys>();
builder.Services.AddSingleton<ApiKeyService>();
builder.Services.AddSingleton<MachineWriter>();
builder.Services.AddSingleton<PortForwards>();
builder.Services.AddSingleton<CrashPoints>();
builder.Services.AddSingleton<MachineActions>();
builder.Services.AddSingleton<IntentReconciler>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<IntentReconciler>());
builder.Services.AddSingleton<HostSnapshot>();
builder.Services.AddSingleton<MachineService>();
// Uploaded ISOs, content-addressed; replicas must share this directory (BlobDirectory; issue 19 will revisit).
builder.Services.AddSingleton(new BlobDirectory(Path.Combine(dataDir, "blobs")));
builder.Services.AddSingleton<IsoService>();
// Private networks (issue 16): the buyer's networks, and the daemon that tells the agents who carries which.
builder.Services.AddSingleton<Underlay>();
builder.Services.AddSingleton<NetworkService>();
builder.Services.AddSingleton<NetworkSync>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<NetworkSync>());
builder.Services.Configure<ConsoleOptions>(config.GetSection(ConsoleOptions.Section));
builder.Services.AddSingleton<ConsoleTickets>();
builder.Services.AddSingleton<ConsoleService>();
builder.Services.AddSingleton<TunnelService>();
builder.Services.AddSingleton<HostService>();
builder.Services.AddSingleton<HostJoins>();
builder.Services.AddSingleton<ConfigurationService>();
builder.Services.AddSingleton<Virtuoso.FrontEnd.Images.ImageCatalogue>();
builder.Services.AddSingleton<LedgerView>();
builder.Services.AddSingleton<DepositService>();
builder.Services.AddHostedService<HostMonitor>();
builder.Services.AddSingleton<SuspendUnpaid>(sp => sp.GetRequiredService<MachineService>().SuspendUnpaidAsync);
builder.Services.AddSingleton<BillingDaemon>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<BillingDaemon>());
builder.Services.AddSingleton<PriceAverageDaemon>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<PriceAverageDaemon>());
builder.Services.Configure<MigrationOptions>(config.GetSection("Virtuoso"));
builder.Services.AddSingleton<CentralAddress>();
builder.Services.AddSingleton<VmmpClient>();
builder.Services.AddSingleton<HostTls>(); // issue 20: TLS on the migration links
builder.Services.AddSingleton<MigrationService>();
builder.Services.AddHostedService<VmmpListener>();
builder.Services.AddHostedService<MigrationMonitor>();
builder.Services.AddSingleton<EventCollector>(); // issue 19 point 3: the agents' events.log into the event log
builder.Services.AddHostedService(sp => sp.GetRequiredService<EventCollector>());
builder.Services.AddSingleton<MarketTrust>(); // issue 20: the authority and this replica's certificate
builder.Services.AddSingleton<AgentConnector>(); // issue 20: names resolving to internal addresses are refused when connecting
builder.Services.AddHttpClient(AgentClient.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan) // each call sets its own (AgentClient)
    .ConfigurePrimaryHttpMessageHandler(s => s.GetRequiredService<AgentConnector>().NewHandler());

builder.AddWeb();
// Issue 19: anti-forgery keys shared by every replica through the database (their being unencrypted there is on purpose:
// see DatabaseKeyRing, so the key manager's warning about it is not repeated at every start).
DatabaseKeyRing.AddTo(builder.Services);
builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection.KeyManagement.XmlKeyManager", LogLevel.Error);
Virtuoso.FrontEnd.Telemetry.TelemetrySetup.AddTelemetry(builder); // metrics and traces (issue 19 point 3), /metrics
builder.Services.AddAuthentication()
    .AddScheme<AuthenticationSchemeOptions, BearerAuthentication>(BearerAuthentication.SchemeName, null);
builder.Services.AddAuthorizationBuilder()
    .AddPolicy(Roles.Buyer, p => p.RequireRole(Roles.Buyer))
    .AddPolicy(Roles.Provider, p => p.RequireRole(Roles.Provider))
    .AddPolicy(Roles.Operator, p => p.RequireRole(Roles.Operator));

// Every error answer is problem details with a stable code, including the framework's own (bad JSON, 404 routes).
builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = ctx =>
{
    if (ctx.ProblemDetails.Extensions.ContainsKey("code")) return;
    ctx.ProblemDetails.Extensions["code"] = ctx.ProblemDetails.Status switch
    {
        400 or 415 => ErrorCodes.Validation,
        401 => ErrorCodes.Unauthenticated,
        403 => ErrorCodes.WrongRole,
        404 => ErrorCodes.NotFound,
        _ => "error",
    };
    if (ctx.ProblemDetails.Status == 415)
        ctx.ProblemDetails.Detail ??= "send the request body as JSON (Content-Type: application/json)";
    if (ctx.Exception is BadHttpRequestException bad)
    {
        ctx.ProblemDetails.Title = "Invalid input";
        ctx.ProblemDetails.Detail = bad.InnerException?.Message ?? bad.Message;
    }
});
builder.Services.AddApiDocument(); // /openapi/v1.json, described for generated clients (issue 20)
// A member the API does not know is an error, not a silent no-op (e.g. trying to edit a host's locked totals).
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow);
// Malformed bodies (bad JSON, "NaN" for a price) raise BadHttpRequestException so the problem says what was wrong.
builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);

var app = builder.Build();
await app.Services.GetRequiredService<Migrator>().MigrateAsync();
await app.Services.GetRequiredService<MarketTrust>().LoadAsync(); // issue 20: the shared authority (made on the first start) and this replica's certificate
await app.Services.GetRequiredService<Virtuoso.FrontEnd.Images.ImageCatalogue>().ImportAsync();
if (config[OperatorAccount.PasswordSetting] is { Length: > 0 } operatorPassword)
    await OperatorAccount.SetPasswordAsync(database, operatorPassword);

// A bad request is the client's mistake, answered with its problem, not a server error to log with a stack trace (issue 20).
app.UseExceptionHandler(new ExceptionHandlerOptions
{
    StatusCodeSelector = e => e is BadHttpRequestException b ? b.StatusCode : 500,
    SuppressDiagnosticsCallback = c => c.Exception is BadHttpRequestException,
});
Virtuoso.FrontEnd.Http.TrustedProxies.UseTrustedProxies(app); // the client's address behind the balancer (issue 19)
Virtuoso.FrontEnd.Http.JsonCharset.UseJsonCharsetCheck(app);
app.UseSecurityHeaders();
app.UseWebStatusPages();
app.UseNoVnc();
app.UseWebSockets(); // the console (design §7)
app.UseRouting(); // after the status pages, so that re-executing a web error page routes again
app.UseAuthentication();
app.UseApiKeyScopes(); // a read key only looks, whatever the endpoint (issue 20)
app.UseAuthorization();
app.UseRateLimiter();

app.MapOpenApi("/openapi/{documentName}.json");
app.MapGet("/healthz", () => Results.Ok(new Health("ok"))).WithName("health").WithTags("Operations")
    .WithSummary("Liveness: answers {\"status\":\"ok\"} while the front-end runs").Produces<Health>();
Virtuoso.FrontEnd.Telemetry.TelemetrySetup.MapMetrics(app);
Api.Map(app);
app.MapWeb();
app.MapConsole();
app.MapTunnel();
Virtuoso.FrontEnd.Images.BlobEndpoints.Map(app);
InstallEndpoints.Map(app);

app.Run();

/// <summary>The answer of <c>GET /healthz</c>.</summary>
internal sealed record Health(string Status);

/// <summary>Entry point, visible to the in-process API tests.</summary>
public partial class Program;
