using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Virtuoso.Cli.Accounts;
using Virtuoso.Cli.Billing;
using Virtuoso.Cli.Events;
using Virtuoso.Cli.Hosts;
using Virtuoso.Cli.Isos;
using Virtuoso.Cli.Networks;
using Virtuoso.Cli.Machines;
using Virtuoso.Cli.Migration;
using Virtuoso.Cli.Tunnel;

namespace Virtuoso.Cli;

/// <summary>
/// The <c>virtuoso</c> command line, callable in-process: <see cref="Program"/> passes the console and the
/// process environment, tests pass string writers and a dictionary. Returns the exit code
/// (<see cref="ExitCode"/>): 0 done, 1 refused by the server, 2 bad usage, 3 server unreachable.
/// </summary>
public static class Cli
{
    public static Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr,
        IReadOnlyDictionary<string, string?> environment, CancellationToken cancellationToken = default) =>
        RunAsync(args, stdout, stderr, CliSettings.From(environment), cancellationToken);

    internal static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr,
        CliSettings settings, CancellationToken cancellationToken = default)
    {
        var globals = new GlobalOptions(settings);
        var run = new Runner(stdout, stderr, settings, globals);
        var root = new RootCommand("Virtuoso: rent virtual machines from providers, or sell your hosts' capacity.")
        {
            globals.Server,
            globals.Json,
        };
        foreach (var command in AccountCommands.Build(run)
                     .Concat(KeyCommands.Build(run))
                     .Concat(TokenCommands.Build(run))
                     .Concat(MachineCommands.Build(run))
                     .Concat(IsoCommands.Build(run))
                     .Concat(NetworkCommands.Build(run))
                     .Concat(TunnelCommands.Build(run))
                     .Concat(MigrationCommands.Build(run))
                     .Concat(EventCommands.Build(run))
                     .Concat(Notifications.NotificationCommands.Build(run))
                     .Concat(BillingCommands.Build(run))
                     .Concat(HostCommands.Build(run)))
        {
            root.Add(command);
        }

        // No @response-files: "@" may well begin a password.
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parse.Errors.Count > 0 && parse.Action is not HelpAction)
        {
            var failure = Failure.Usage(Describe(parse));
            await stderr.WriteLineAsync(failure.Line);
            return (int)failure.Exit;
        }

        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration
            {
                Output = stdout,
                Error = stderr,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null,
            }, cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // A bug, not an expected failure: still one line, and a code that says so.
            await stderr.WriteLineAsync(new Failure(ExitCode.Refused, $"internal error: {exception.GetType().Name}: {exception.Message}", "internal").Line);
            return (int)ExitCode.Refused;
        }
    }

    /// <summary>The one line for a command line that does not parse, pointing at the help of the command it got to.</summary>
    private static string Describe(ParseResult parse)
    {
        // "Required command was not provided" says less than the word that was not understood.
        var error = parse.UnmatchedTokens.Count > 0
            ? $"'{parse.UnmatchedTokens[0]}' is not a command or option here"
            : parse.Errors[0].Message;
        var names = new Stack<string>();
        for (var result = parse.CommandResult; result.Command is not RootCommand; result = (CommandResult)result.Parent!)
        {
            names.Push(result.Command.Name);
        }

        return $"{error.TrimEnd('.')}; see: {string.Join(' ', ["virtuoso", .. names])} --help";
    }
}
