using System.Reflection;
using System.Security.Claims;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Http;
using E = Virtuoso.Contracts.Api.ErrorCodes;

namespace Virtuoso.FrontEnd.Console;

/// <summary>
/// The console in the browser (design §7): the ticket call of the API, the same-origin WebSocket the page opens with
/// the ticket, the console page's script (the page is <c>Web/Machines/Console.cshtml</c>), and noVNC from Debian's <c>novnc</c> package at <c>/novnc/</c> (no CDN).
/// </summary>
internal static partial class ConsoleEndpoints
{
    public const string WebSocketPath = "/console/ws";
    public const string NoVncPath = "/novnc";

    /// <summary>Serves noVNC's files. Before routing, so that they need no endpoint; logs clearly when they are missing.</summary>
    public static void UseNoVnc(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ConsoleOptions>>().Value;
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Virtuoso.FrontEnd.Console");
        var root = Path.GetFullPath(options.NoVncPath);
        if (!File.Exists(Path.Combine(root, "core", "rfb.js")))
        {
            NoVncMissing(log, root);
            return;
        }
        NoVncServed(log, root);
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new PhysicalFileProvider(root),
            RequestPath = NoVncPath,
            ServeUnknownFileTypes = false,
        });
    }

    public static void MapConsole(this WebApplication app)
    {
        app.MapPost("/api/v1/machines/{id:guid}/console", async (Guid id, ClaimsPrincipal user, ConsoleService consoles) =>
                (await consoles.TicketAsync(user.Name(), id)).ToResult())
            .RequireAuthorization(Roles.Buyer).WithTags("Machines")
            .WithSummary("Open the console of a running machine: a one-time ticket for the console WebSocket, valid for seconds, and the session's VNC password")
            .WithName("openConsole").Produces<ConsoleTicketResponse>().Refuses(E.NotFound, E.InvalidState, E.AgentFailed);

        app.MapGet(WebSocketPath, ConnectAsync).ExcludeFromDescription();

        app.MapGet("/console/console.js", (HttpContext context) =>
        {
            context.Response.Headers.XContentTypeOptions = "nosniff";
            return Results.Text(Page("console.js"), "text/javascript; charset=utf-8");
        }).ExcludeFromDescription();
    }

    private static async Task<IResult> ConnectAsync(HttpContext context, ConsoleService consoles, ILoggerFactory logs)
    {
        if (!context.WebSockets.IsWebSocketRequest)
            return Failure.Validation($"{WebSocketPath} is a WebSocket: open it with the webSocketPath of a console ticket").ToResult();
        // A page of another site may open WebSockets here with the user's cookies; only our own pages may (CSWSH).
        // Browsers always send Origin on a WebSocket; other clients (the CLI, tests) need not.
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length > 0 && !SameOrigin(origin, context.Request))
            return new Failure(ErrorCodes.ForbiddenOrigin, $"the console WebSocket may be opened only from this site's pages, not from {origin}").ToResult();

        var link = await consoles.ConnectAsync(context.Request.Query["ticket"].ToString(), context.RequestAborted);
        if (link.Value is not { } l)
            return link.Failure!.ToResult();
        var log = logs.CreateLogger("Virtuoso.FrontEnd.Console");
        ProxyStarted(log, l.Grant.Machine, l.Grant.Owner, l.Host.Name);
        try
        {
            using var browser = await context.WebSockets.AcceptWebSocketAsync();
            await ConsoleProxy.RunAsync(browser, l.Agent);
        }
        finally
        {
            l.Agent.Dispose();
            // Closing the page ends the session (design §7): its connection closes and its password is spent.
            await consoles.EndAsync(l);
            ProxyEnded(log, l.Grant.Machine);
        }
        return Results.Empty;
    }

    /// <summary>Whether a page of <paramref name="origin"/> is one of this site's (the tunnel's WebSocket checks it too).</summary>
    internal static bool SameOrigin(string origin, HttpRequest request) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri)
        && string.Equals(uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}", request.Host.Value, StringComparison.OrdinalIgnoreCase);

    /// <summary>The console page's policy: scripts only from this site (its own and noVNC's modules), the WebSocket only to this site.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

    private static readonly Dictionary<string, string> Pages = new();

    private static string Page(string name)
    {
        lock (Pages)
        {
            if (Pages.TryGetValue(name, out var text)) return text;
            using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"Virtuoso.FrontEnd.Console.Page.{name}")
                ?? throw new InvalidOperationException($"console page file {name} is not embedded");
            using var reader = new StreamReader(stream);
            return Pages[name] = reader.ReadToEnd();
        }
    }

    [LoggerMessage(6001, LogLevel.Information, "noVNC served at /novnc/ from {Root}")]
    private static partial void NoVncServed(ILogger logger, string root);

    [LoggerMessage(6002, LogLevel.Warning, "noVNC is missing: no {Root}/core/rfb.js, so the console page cannot show machines' screens. Install Debian's novnc package (apt-get install novnc), or set Virtuoso:Console:NoVncPath")]
    private static partial void NoVncMissing(ILogger logger, string root);

    [LoggerMessage(6003, LogLevel.Information, "Console of machine {Machine} for {Owner}: proxying to host {Host}")]
    private static partial void ProxyStarted(ILogger logger, Guid machine, string owner, string host);

    [LoggerMessage(6004, LogLevel.Information, "Console of machine {Machine}: connection closed, session ended")]
    private static partial void ProxyEnded(ILogger logger, Guid machine);
}
