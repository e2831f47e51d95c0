using Microsoft.Extensions.DependencyInjection.Extensions;
using Virtuoso.Agent;
using Virtuoso.Agent.Console;
using Virtuoso.Agent.Events;
using Virtuoso.Agent.Health;
using Virtuoso.Agent.Images;
using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Migration.Incoming;
using Virtuoso.Agent.Migration.Methods;
using Virtuoso.Agent.Migration.Methods.Dedup;
using Virtuoso.Agent.Migration.Methods.Rsync;
using Virtuoso.Agent.Migration.Methods.Scp;
using Virtuoso.Agent.Migration.Origin;
using Virtuoso.Agent.Migration.Vmmp;
using Virtuoso.Agent.Network;
using Virtuoso.Agent.Security;
using Virtuoso.Agent.Cgroups;
using Virtuoso.Agent.Seed;
using Virtuoso.Agent.Tunnel;
using Virtuoso.Agent.Vmm;
using Virtuoso.Agent.Vmm.Qemu;

// virtuoso-agent: one per physical host (design §2, §5). Flags: see README.md.
// Issue 20: `virtuoso-agent join ...` and `virtuoso-agent enroll ...` get this host's key and certificate, then exit.
if (Enrollment.IsCommand(args))
    return await Enrollment.RunAsync(args, Console.Out, Console.Error);
var builder = WebApplication.CreateBuilder(args);

var (options, error) = AgentOptions.Load(builder.Configuration);
if (options is null)
{
    Console.Error.WriteLine($"virtuoso-agent: {error}");
    return 2;
}
var (dataLock, lockError) = DataDirectoryLock.Acquire(options.DataDirectory);
if (dataLock is null)
{
    Console.Error.WriteLine($"virtuoso-agent: {lockError}");
    return 2;
}
if (builder.Configuration["urls"] is null)
    builder.WebHost.UseUrls(options.Tls is null ? "http://127.0.0.1:7001" : "https://127.0.0.1:7001");
builder.UseAgentTls(options); // issue 20: HTTPS with this host's certificate, client certificates asked for (Security/MarketPeer.cs)

// Issue 16: private networks need root (bridges, taps, nftables) and the tools; without them the agent still runs
// machines, without the private NIC, rather than failing every start.
var networksUnavailable = options.PrivateNetworks ? Virtuoso.Agent.Network.HostNetwork.WhyUnavailable() : null;
if (networksUnavailable is not null)
    options = options with { PrivateNetworks = false };
builder.Services.AddSingleton(options);
builder.Services.AddSingleton(_ => dataLock); // created by a factory, so the container releases it at shutdown
builder.Services.TryAddSingleton(TimeProvider.System);
builder.Services.TryAddSingleton(_ => options.CgroupParent == "off" ? MachineCgroups.Disabled : MachineCgroups.OfThisHost(options.CgroupParent));
builder.Services.AddSingleton<CpuMeter>();
builder.Services.TryAddSingleton<IVmm, QemuVmm>();
builder.Services.AddSingleton<MachineStore>();
builder.Services.AddSingleton<ImageCache>();
builder.Services.AddSingleton<Blobs>();
builder.Services.AddHttpClient(Blobs.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan); // Blobs times out stalls itself
builder.Services.AddSingleton<EventLog>();
builder.Services.AddSingleton<AcceleratorState>();
builder.Services.AddSingleton<HostFacts>();
builder.Services.AddSingleton<KvmProbe>();
builder.Services.AddSingleton<SeedDrive>();
builder.Services.AddSingleton<MachineService>();
// Private networks (issue 16): the host's commands in one runner, a DHCP responder per NIC, a sweep for QEMUs that ended.
builder.Services.TryAddSingleton<ICommandRunner>(_ => new ProcessCommandRunner());
builder.Services.TryAddSingleton<OpenDhcp>(s =>
{
    var dhcpLog = s.GetRequiredService<ILogger<DhcpResponder>>();
    return (tap, lease) => DhcpResponder.Open(tap, lease, dhcpLog);
});
builder.Services.AddSingleton<HostNetwork>();
builder.Services.AddHostedService<NetworkSweep>();
builder.Services.AddSingleton<ConsoleService>();
builder.Services.AddSingleton<TunnelService>();
builder.Services.AddHostedService<MachineRecovery>();
builder.Services.AddHostedService<AcceleratorSelection>();
builder.Services.AddSingleton<CertificateRenewal>(); // issue 20: renews this host's certificate before it ends (--renew-from)
builder.Services.AddHostedService(services => services.GetRequiredService<CertificateRenewal>());
// Migration (design §6): origin side, destination side, the VMMP listener.
builder.Services.AddSingleton<ExportRegistry>();
builder.Services.AddSingleton(_ => new BlockIndexStore(options.DataDirectory)); // block lists and manifest digests, by inode
builder.Services.AddSingleton<OriginService>();
builder.Services.AddSingleton<IncomingMigrations>();
builder.Services.AddSingleton<VmmpServer>();
builder.Services.AddHostedService(services => services.GetRequiredService<VmmpServer>());
// Transfer methods (design §6.3), one line each; RESULTS and /v1/health list them all.
builder.Services.AddSingleton<ITransferMethod, ScpMethod>();
builder.Services.AddSingleton<ITransferMethod, DedupMethod>();
builder.Services.AddSingleton<RsyncDaemons>(); // the origin's rsync daemons, stopped when their export ends
builder.Services.AddSingleton<ITransferMethod, RsyncMethod>();
builder.Services.AddProblemDetails();
Virtuoso.Agent.Telemetry.TelemetrySetup.AddTelemetry(builder); // metrics and traces (issue 19 point 3), /metrics behind the secret or the metrics token

var app = builder.Build();
var log = app.Services.GetRequiredService<ILogger<Program>>();
AgentLog.AgentStarting(log, options.Name, options.DataDirectory, options.ImagesDirectory ?? "(none)");
if (app.Services.GetRequiredService<MachineCgroups>() is { Version: not CgroupVersion.None } cgroups)
    AgentLog.CgroupsDetected(log, cgroups.Version.ToString(), cgroups.Parent);
else
    AgentLog.CgroupsMissing(log);
if (networksUnavailable is not null)
    AgentLog.PrivateNetworksUnavailable(log, networksUnavailable);
if (options.Secret.Length < 16)
    AgentLog.WeakSecret(log, options.Secret.Length);

app.UseExceptionHandler();
app.UseMiddleware<TransferAuthentication>();
app.UseMiddleware<SecretAuthentication>();
app.UseWebSockets(); // the console (design §7) and tunnels (design §10)
app.MapHealth();
Virtuoso.Agent.Telemetry.TelemetrySetup.MapMetrics(app);
app.MapMachines();
app.MapImages();
app.MapConsole();
app.MapTunnel();
app.MapNetworks();
app.MapOrigin();
app.MapIncoming();
app.MapEvents(); // issue 19: the front-end gathers this host's events.log
app.Run();
return 0;

/// <summary>The agent's entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
