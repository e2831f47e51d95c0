using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Http;
using Virtuoso.FrontEnd.Images;

namespace Virtuoso.FrontEnd.Hosts;

/// <summary>
/// Issue 19 point 2: what a provider's host downloads to install the agent, without logging in (nothing here is secret: the
/// join token is): the install script, with this marketplace's address filled in, and the self-contained agent build
/// (<see cref="MarketOptions.AgentPackage"/>). And the join itself (<see cref="HostJoins"/>), which the script calls, and (issue 20) the
/// enrollment of an agent added with a secret, which <c>virtuoso-agent enroll</c> calls.
/// </summary>
internal static class InstallEndpoints
{
    public const string ScriptPath = "/install/agent.sh";
    public const string PackagePath = "/install/virtuoso-agent-linux-x64.tar.gz";
    private const string Placeholder = "__VIRTUOSO_MARKET_URL__";

    private static readonly Lazy<string> Script = new(() =>
    {
        using var stream = typeof(InstallEndpoints).Assembly.GetManifestResourceStream("Virtuoso.FrontEnd.Hosts.install-agent.sh")
            ?? throw new InvalidOperationException("install-agent.sh is not embedded");
        return new StreamReader(stream).ReadToEnd();
    });

    public static void Map(WebApplication app)
    {
        app.MapGet(ScriptPath, (ImageCatalogue catalogue) =>
            Results.Text(Script.Value.Replace(Placeholder, catalogue.AgentFacingUrl()), "text/x-shellscript; charset=utf-8")).ExcludeFromDescription();
        app.MapGet(PackagePath, (IOptions<MarketOptions> options) =>
            options.Value.AgentPackage is { Length: > 0 } path && File.Exists(path)
                ? Results.File(Path.GetFullPath(path), "application/gzip", "virtuoso-agent-linux-x64.tar.gz", enableRangeProcessing: true)
                : new Failure(ErrorCodes.AgentPackageMissing, "this marketplace serves no agent build: build the agent from source (Set up a host, by hand)").ToResult())
            .ExcludeFromDescription();
        app.MapPost("/api/v1/agents/join", async (JoinRequest r, HostJoins joins) => (await joins.JoinAsync(r)).ToResult())
            .AllowAnonymous().WithTags("Hosts")
            .WithSummary("An agent joins with its host's one-time token and the secret it made (the install script calls this)")
            .WithName("joinHost").Produces<JoinResponse>()
            .Refuses(ErrorCodes.Validation, ErrorCodes.InvalidCertificateRequest, ErrorCodes.InvalidJoinToken, ErrorCodes.ExpiredJoinToken);
        app.MapPost("/api/v1/agents/certificate", async (EnrollRequest r, HostJoins joins) => (await joins.EnrollAsync(r)).ToResult())
            .AllowAnonymous().WithTags("Hosts")
            .WithSummary("An agent gets its host's certificate (or renews it) with the host's secret; the previous certificate is refused from then on")
            .WithName("enrollHost").Produces<JoinResponse>().Refuses(ErrorCodes.Validation, ErrorCodes.InvalidCertificateRequest, ErrorCodes.InvalidHostSecret);
    }
}
