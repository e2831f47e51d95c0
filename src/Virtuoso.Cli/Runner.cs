using System.CommandLine;
using Virtuoso.Cli.Accounts;
using Virtuoso.Cli.Http;

namespace Virtuoso.Cli;

/// <summary>Who a command needs to be.</summary>
internal enum Access
{
    /// <summary>Never sends a token (signup, login).</summary>
    Anonymous,
    /// <summary>Sends the token when logged in to this server, else goes without (configurations, market).</summary>
    Optional,
    /// <summary>Refuses to run unless logged in to this server.</summary>
    LoggedIn,
}

/// <summary>A command's work: null on success (its output written to <see cref="Session.Out"/>), else why not.</summary>
internal delegate Task<Failure?> Handler(ParseResult parse, Session session, CancellationToken cancellationToken);

/// <summary>A command whose exit code is another program's (ssh's) or a relay's: the code, else why it could not run.</summary>
internal delegate Task<Result<int>> ExitHandler(ParseResult parse, Session session, CancellationToken cancellationToken);

/// <summary>The global options, recognised before or after any command.</summary>
internal sealed class GlobalOptions(CliSettings settings)
{
    public Option<string> Server { get; } = new("--server")
    {
        Description = "Front-end base URL (default: $VIRTUOSO_SERVER, else the local development server)",
        HelpName = "URL",
        Recursive = true,
        DefaultValueFactory = _ => settings.DefaultServer,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print machine-readable JSON on stdout",
        Recursive = true,
    };
}

/// <summary>
/// Runs every command the same way: server address and login first, then the handler, then either its
/// buffered output on stdout (exit 0) or exactly one line on stderr (non-zero exit).
/// </summary>
internal sealed class Runner(TextWriter stdout, TextWriter stderr, CliSettings settings, GlobalOptions globals)
{
    public void Bind(Command command, Access access, Handler handler) =>
        command.SetAction((parse, cancellationToken) => RunAsync(parse, access, handler, cancellationToken));

    /// <summary>As <see cref="Bind"/>, but the command's own exit code is the process's.</summary>
    public void BindExit(Command command, Access access, ExitHandler handler) =>
        command.SetAction((parse, cancellationToken) =>
        {
            var exit = (int)ExitCode.Success;
            return RunAsync(parse, access, async (p, session, ct) =>
            {
                if ((await handler(p, session, ct)).Failed(out var failure, out var code))
                {
                    return failure;
                }

                exit = code;
                return null;
            }, cancellationToken, () => exit);
        });

    private async Task<int> RunAsync(ParseResult parse, Access access, Handler handler, CancellationToken cancellationToken, Func<int>? exit = null)
    {
        var output = new StringWriter();
        var failure = await RunBufferedAsync(parse, access, handler, output, cancellationToken);
        if (failure is not null)
        {
            await stderr.WriteLineAsync(failure.Line);
            await stderr.FlushAsync(cancellationToken);
            return (int)failure.Exit;
        }

        await stdout.WriteAsync(output.ToString());
        await stdout.FlushAsync(cancellationToken);
        return exit?.Invoke() ?? (int)ExitCode.Success;
    }

    private async Task<Failure?> RunBufferedAsync(
        ParseResult parse, Access access, Handler handler, TextWriter output, CancellationToken cancellationToken)
    {
        if (ServerAddress.Parse(parse.GetValue(globals.Server) ?? settings.DefaultServer).Failed(out var badServer, out var server))
        {
            return badServer;
        }

        var store = new CredentialStore(settings.Home);
        Credentials? login = null;
        var token = access != Access.Anonymous ? settings.ApiKey : null;
        if (access != Access.Anonymous && token is null)
        {
            if (store.Load().Failed(out var unreadable, out var stored))
            {
                return unreadable;
            }

            login = stored is not null && SameServer(stored.Server, server) ? stored : null;
            if (access == Access.LoggedIn && login is null)
            {
                return NotLoggedIn(stored, server);
            }
        }

        // With VIRTUOSO_API_KEY the key is who the commands are, whatever login is stored (Session.Login stays null).
        using var api = new ApiClient(server, token ?? login?.Token, settings.Timeout);
        var session = new Session(api, output, parse.GetValue(globals.Json), server, store, login) { Live = stdout, LiveErrors = stderr, Settings = settings };
        return await handler(parse, session, cancellationToken);
    }

    private static bool SameServer(string stored, Uri server) =>
        ServerAddress.Parse(stored).Failed(out _, out var storedUri) is false && storedUri == server;

    private static Failure NotLoggedIn(Credentials? stored, Uri server)
    {
        var here = ServerAddress.Display(server);
        return stored is null
            ? new Failure(ExitCode.Refused, "not logged in; log in with: virtuoso login USER --password PASSWORD",
                Contracts.Api.ErrorCodes.Unauthenticated)
            : new Failure(ExitCode.Refused,
                $"logged in to {stored.Server}, not to {here}; use --server {stored.Server}, or log in with: virtuoso login USER --password PASSWORD --server {here}",
                Contracts.Api.ErrorCodes.Unauthenticated);
    }
}
