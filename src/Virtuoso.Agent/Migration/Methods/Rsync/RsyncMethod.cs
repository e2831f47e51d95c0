using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Virtuoso.Agent.Migration.Methods.Dedup;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.Agent.Migration.Methods.Rsync;

/// <summary>
/// RSYNC (design §6.3): the real <c>rsync</c> program between agents. The origin starts an authenticated, read-only
/// rsync daemon for the export on loopback (<see cref="RsyncDaemons"/>), reached only through <see cref="RsyncTunnel"/>
/// over the origin's transfer port (issue 20: HTTPS between agents with TLS); the destination moves this machine's own cached copy
/// into staging and runs <c>rsync --inplace</c> against it, so that only the delta travels (other cached machines
/// serve as <c>--copy-dest</c> basis files). rsync checks each file with its own whole-file checksum, but the
/// migration server still verifies by SHA-256 against the manifest, so <see cref="FetchAsync"/> returns false.
/// </summary>
internal sealed class RsyncMethod(RsyncDaemons daemons, ILogger<RsyncMethod> log) : ITransferMethod
{
    /// <summary>Route that starts (or reuses) the export's daemon, under /v1/transfer/{id}/rsync/.</summary>
    public const string SessionRoute = "session";
    /// <summary>rsync gives up on a connection that is silent for this long, and on a connect that takes longer than <see cref="ConnectTimeoutSeconds"/>.</summary>
    public const int IoTimeoutSeconds = 60;
    public const int ConnectTimeoutSeconds = 15;

    public string Name => VmmpMethods.Rsync;

    /// <summary>The rsync program.</summary>
    public string Program { get; init; } = "rsync";
    /// <summary>More arguments for the destination's rsync (tests slow it down with --bwlimit).</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    public static string SessionPath(Guid machine) => $"{TransferRoutes.Method(machine, VmmpMethods.Rsync)}/session";

    // ---- origin ----

    public void MapOriginRoutes(IEndpointRouteBuilder transfer)
    {
        Delegate start = ServeSessionAsync; // a Delegate, so that minimal APIs bind its parameters and write its IResult
        transfer.MapPost(SessionRoute, start);
        transfer.MapGet(RsyncTunnel.Route, (Delegate)((HttpContext http) => RsyncTunnel.ServeAsync(http, daemons)));
    }

    private async Task<IResult> ServeSessionAsync(HttpContext http, CancellationToken ct)
    {
        if (http.Items[ExportContext.ItemKey] is not ExportContext export
            || (http.Request.RouteValues["id"] is string id && !(Guid.TryParse(id, out var routed) && routed == export.MachineId)))
            return Problem(ErrorCodes.NotFound, "no such export", StatusCodes.Status404NotFound);
        // The migration server already checked this token; it becomes the rsync password of the session.
        var header = http.Request.Headers.Authorization.ToString();
        var token = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : "";
        if (token.Length == 0 || token.Any(c => c is < '!' or > '~'))
            return Problem(ErrorCodes.Validation, "the migration token must be printable ASCII without spaces to serve as an rsync password", StatusCodes.Status400BadRequest);
        var names = export.Manifest.Files.Select(f => f.Name).ToList();
        if (names.FirstOrDefault(n => !IsSafeName(n)) is { } bad)
            return Problem(ErrorCodes.Validation, $"file name '{bad}' cannot be served by rsync", StatusCodes.Status400BadRequest);
        // Issue 20: on loopback only; the destination's connections arrive through the tunnel route.
        var session = await daemons.StartAsync(export.MachineId, export.MachineDirectory, names, IPAddress.Loopback, token, ct);
        return Results.Ok(session);
    }

    private static IResult Problem(string code, string detail, int status) =>
        Results.Problem(detail: detail, statusCode: status, extensions: new Dictionary<string, object?> { ["code"] = code });

    /// <summary>Names that can appear unquoted in rsyncd.conf include rules and rsync:// paths.</summary>
    internal static bool IsSafeName(string name) =>
        name.Length is > 0 and <= 255 && name is not "." and not ".." && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    // ---- destination ----

    public async Task<bool> FetchAsync(FetchContext context, CancellationToken ct)
    {
        if (context.Manifest.Files.FirstOrDefault(f => !IsSafeName(f.Name)) is { } bad)
            throw new InvalidDataException($"manifest file name '{bad.Name}' cannot be fetched by rsync");
        var session = await StartSessionAsync(context, ct);
        var seed = CacheSeed.Move(context.CachedCopies, context.Manifest, context.StagingDirectory);
        try
        {
            await using var tunnel = RsyncTunnel.Open(context, log);
            await RunAsync(context, session with { Port = tunnel.Port }, ct);
            return false;
        }
        catch (Exception e)
        {
            seed.Restore();
            RsyncLog.FetchFailed(log, context.MachineId, e.Message);
            throw;
        }
    }

    private static async Task<RsyncSession> StartSessionAsync(FetchContext context, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(context.Origin, SessionPath(context.MachineId)));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", context.Token);
        HttpResponseMessage response;
        try
        {
            response = await context.Http.SendAsync(request, timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"the origin's rsync session did not start within 30 s");
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var detail = await response.Content.ReadAsStringAsync(ct);
                throw new HttpRequestException(
                    $"POST {request.RequestUri} answered {(int)response.StatusCode}: {detail[..Math.Min(detail.Length, 300)]}", null, response.StatusCode);
            }
            var session = await response.Content.ReadFromJsonAsync<RsyncSession>(timeout.Token)
                ?? throw new InvalidDataException("the origin answered an empty rsync session");
            if (session.Port is < 1 or > 65535 || !IsSafeName(session.Module) || !IsSafeName(session.User))
                throw new InvalidDataException($"the origin answered a malformed rsync session: {session}");
            return session;
        }
    }

    /// <summary>
    /// The rsync command line of a fetch (pure, for tests): sources on the origin's daemon, reached at this host's loopback
    /// port <see cref="RsyncSession.Port"/> of the tunnel, staging as target.
    /// </summary>
    internal static List<string> Arguments(FetchContext context, RsyncSession session, IEnumerable<string> copyDest)
    {
        const string host = "127.0.0.1";
        var arguments = new List<string>
        {
            "--times", "--modify-window=-1", // same size and same mtime to the nanosecond: skip (rsync's quick check)
            "--inplace", "--no-whole-file",  // delta against the file already in staging, writing only what differs
            "--sparse",                       // zeros become holes in new files
            "--no-human-readable", "--info=progress2", "--stats",
            $"--timeout={IoTimeoutSeconds}", $"--contimeout={ConnectTimeoutSeconds}",
        };
        // rsync accepts up to 20 alternate directories; each gives basis files for files not already in staging.
        arguments.AddRange(copyDest.Take(20).Select(d => $"--copy-dest={Path.GetFullPath(d)}"));
        arguments.AddRange(context.Manifest.Files.Select(f =>
            $"rsync://{session.User}@{host}:{session.Port.ToString(CultureInfo.InvariantCulture)}/{session.Module}/{f.Name}"));
        arguments.Add(Path.TrimEndingDirectorySeparator(context.StagingDirectory) + "/");
        return arguments;
    }

    private async Task RunAsync(FetchContext context, RsyncSession session, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var start = new ProcessStartInfo(Program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in ExtraArguments.Concat(Arguments(context, session, context.CachedCopies.Where(Directory.Exists))))
            start.ArgumentList.Add(argument);
        start.Environment["RSYNC_PASSWORD"] = context.Token; // never on the command line, where ps would show it
        start.Environment["LC_ALL"] = "C";

        using var process = Process.Start(start) ?? throw new IOException($"cannot start {Program}");
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        var total = context.Manifest.Files.Sum(f => f.Length);
        var stats = new List<string>();
        // Kill rsync as soon as the fetch is cancelled, so that no rsync outlives it.
        await using (ct.Register(() => KillQuietly(process)))
        {
            await foreach (var line in RsyncOutput.LinesAsync(process.StandardOutput))
            {
                if (RsyncOutput.Progress(line) is { } done)
                    context.Progress.Report(new TransferProgress(Math.Min(done, total), 0));
                else
                    stats.Add(line);
            }
            await process.WaitForExitAsync(CancellationToken.None);
        }
        ct.ThrowIfCancellationRequested();
        var errors = await stderr;
        if (process.ExitCode != 0)
            throw new IOException($"rsync exited with {process.ExitCode}: {LastLines(errors)}");
        var counts = RsyncOutput.Stats(stats)
            ?? throw new InvalidDataException($"rsync printed no statistics: {LastLines(string.Join('\n', stats))}");
        context.Progress.Report(new TransferProgress(total, counts.BytesReceived));
        RsyncLog.Fetched(log, context.MachineId, counts.LiteralBytes, counts.MatchedBytes, counts.BytesReceived, counts.BytesSent, clock.Elapsed.TotalSeconds);
    }

    private static void KillQuietly(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It had exited already.
        }
    }

    private static string LastLines(string text) =>
        string.Join(" | ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(3));
}
