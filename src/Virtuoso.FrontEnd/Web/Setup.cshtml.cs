using Microsoft.Extensions.Options;
using Virtuoso.FrontEnd.Migration;

namespace Virtuoso.FrontEnd.Web;

/// <summary>
/// How a provider goes from a fresh Debian 12 machine to a host online (report §3.5, §5.2.2; Figure 25; issue 18), command by
/// command, with this marketplace's own addresses and version filled in. No login needed.
/// </summary>
internal sealed class SetupModel(IOptions<MarketOptions> market, IOptions<MigrationOptions> migration) : WebPage
{
    /// <summary>The agent's control port the page uses (the Add host form's default).</summary>
    public const int AgentPort = 7001;
    /// <summary>The agent's VMMP port (its <c>--vmmp-port</c> default).</summary>
    public const int VmmpPort = 7101;

    /// <summary>Where to clone the source from, when the operator said (<c>Virtuoso__SourceUrl</c>).</summary>
    public string? SourceUrl => market.Value.SourceUrl;

    /// <summary>The commit this front-end was built from (its informational version's "+hash"), for building the same agent.</summary>
    public string? Commit { get; } = typeof(SetupModel).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
        .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion is { } v && v.IndexOf('+') is var plus and > 0
        ? v[(plus + 1)..] : null;

    /// <summary>Where agents reach this front-end for images and ISOs.</summary>
    public string MarketUrl => market.Value.AgentFacingUrl ?? $"{Request.Scheme}://{Request.Host}";

    /// <summary>The port of the front-end's VMMP listener, which destination agents send HEARTBEAT and RESP to.</summary>
    public string FrontEndVmmpPort => migration.Value.VmmpListen.Split(':')[^1];

    /// <summary>Issue 19: whether this front-end serves the agent build the install command downloads.</summary>
    public bool PackageServed => market.Value.AgentPackage is { Length: > 0 } path && System.IO.File.Exists(path);

    public void OnGet() { }
}
