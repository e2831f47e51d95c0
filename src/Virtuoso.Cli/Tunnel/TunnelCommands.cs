using System.CommandLine;
using System.ComponentModel;
using System.Diagnostics;
using System.Reflection;
using Virtuoso.Cli.Machines;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Tunnel;

/// <summary>
/// Reaching a machine through the front-end (design §10, issue 14): <c>tunnel ID PORT</c> relays standard input and
/// output to a TCP port of the machine's guest; <c>ssh ID</c> logs in as root with the system's ssh through that tunnel.
/// Both work whether or not the host's ports can be reached.
/// </summary>
internal static class TunnelCommands
{
    public static IEnumerable<Command> Build(Runner run)
    {
        yield return Tunnel(run);
        yield return Ssh(run);
    }

    private static Argument<string> MachineArgument() =>
        new("ID") { Description = "The machine: its id, a unique prefix of it (8+ hex digits), or its unique name" };

    private static Command Tunnel(Runner run)
    {
        var id = MachineArgument();
        var port = new Argument<int>("PORT") { Description = "The TCP port of the guest, 1 to 65535 (22: its SSH server)" };
        port.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && !(int.TryParse(result.Tokens[0].Value, out var p) && p is >= 1 and <= 65535))
            {
                result.AddError($"PORT must be a TCP port, 1 to 65535, not '{result.Tokens[0].Value}'");
            }
        });
        var command = new Command("tunnel",
            "Relay standard input and output to a TCP port of your running machine's guest, through the front-end (for ssh's ProxyCommand, nc-like uses)")
        {
            id, port,
        };
        run.BindExit(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            if (session.Settings.Stdio is not { } stdio)
            {
                return Failure.Usage("tunnel relays standard input and output: run it as a program");
            }

            if ((await MachineRef.ResolveAsync(session.Api, parse.GetValue(id)!, ct)).Failed(out var notFound, out var machineId))
            {
                return notFound;
            }

            if ((await session.Api.SendAsync<TunnelTicketResponse>(HttpMethod.Post, $"machines/{machineId}/tunnel", new TunnelRequest(parse.GetValue(port)), ct))
                .Failed(out var refused, out var ticket))
            {
                return refused;
            }

            return await TunnelRelay.RunAsync(WebSocketUri(session.Server, ticket.WebSocketPath), stdio.In, stdio.Out, ct);
        });
        return command;
    }

    private static Command Ssh(Runner run)
    {
        var id = MachineArgument();
        var identity = Opt.Text("--identity", "Log in with this private key (ssh -i); by default ssh's own (its agent, ~/.ssh/id_*)", "KEY");
        identity.Aliases.Add("-i");
        var remote = new Argument<string[]>("COMMAND") { Description = "A command to run instead of a shell; put it after --", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("ssh",
            "Log in to your running machine as root with the system's ssh, through the front-end (works whether or not the host's ports are reachable)")
        {
            id, identity, remote,
        };
        run.BindExit(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            if ((await MachineRef.ResolveAsync(session.Api, parse.GetValue(id)!, ct)).Failed(out var notFound, out var machineId))
            {
                return notFound;
            }

            // Refused here in one line, rather than by ssh after a tunnel that could not open.
            if ((await session.Api.GetAsync<MachineResponse>($"machines/{machineId}", ct)).Failed(out var failure, out var machine))
            {
                return failure;
            }

            if (machine.State != "running")
            {
                return new Failure(ExitCode.Refused, $"machine {MachineRef.Label(machine)} is {machine.State}: start it first", ErrorCodes.InvalidState);
            }

            var key = parse.GetValue(identity);
            if (key is not null && !File.Exists(key))
            {
                return new Failure(ExitCode.Usage, $"no key file {key}", Failure.LocalFilesCode);
            }

            Directory.CreateDirectory(session.Settings.Home);
            var args = SshCommandLine.Build(Self(session.Settings), session.ServerText, machineId, Path.Combine(session.Settings.Home, "known_hosts"),
                key, parse.GetValue(remote) ?? []);
            return await RunSshAsync(session, args, ct);
        });
        return command;
    }

    /// <summary>Runs ssh to its end; its exit code is ours (255: ssh itself failed, else the remote command's).</summary>
    private static async Task<Result<int>> RunSshAsync(Session session, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var settings = session.Settings;
        var inherit = settings.Stdio is { Inherited: true };
        var psi = new ProcessStartInfo(settings.Ssh)
        {
            UseShellExecute = false,
            RedirectStandardInput = !inherit,
            RedirectStandardOutput = !inherit,
            RedirectStandardError = !inherit,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        // The ProxyCommand is this CLI again: the same login (the server is on its command line).
        psi.Environment["VIRTUOSO_HOME"] = settings.Home;
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new Win32Exception($"{settings.Ssh} did not start");
        }
        catch (Win32Exception e)
        {
            return new Failure(ExitCode.Refused, $"cannot run {settings.Ssh} (OpenSSH's client; Debian: apt-get install openssh-client): {e.Message}", "no-ssh");
        }

        using (process)
        {
            if (inherit)
            {
                await process.WaitForExitAsync(cancellationToken);
                return process.ExitCode;
            }

            // In-process (tests): ssh's output goes to the command's writers, its input from the given stream or nowhere.
            var input = Task.Run(async () =>
            {
                if (settings.Stdio is { } stdio)
                {
                    await stdio.In.CopyToAsync(process.StandardInput.BaseStream, cancellationToken);
                }

                process.StandardInput.Close();
            }, cancellationToken);
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var errors = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            await session.Out.WriteAsync(await output);
            await session.LiveErrors.WriteAsync(await errors);
            await input;
            return process.ExitCode;
        }
    }

    /// <summary>How ssh's ProxyCommand runs this CLI: <c>$VIRTUOSO_CLI</c>, else this very program.</summary>
    private static IReadOnlyList<string> Self(CliSettings settings)
    {
        if (settings.Self is { } self)
        {
            return [self];
        }

        var program = Environment.ProcessPath ?? "virtuoso";
        // Run as `dotnet virtuoso.dll` (the ./virtuoso script): the host needs the assembly too.
        return Path.GetFileNameWithoutExtension(program) == "dotnet" && Assembly.GetEntryAssembly()?.Location is { Length: > 0 } dll
            ? [program, dll]
            : [program];
    }

    /// <summary>The WebSocket address of a path on the front-end: ws:// for http://, wss:// for https://.</summary>
    internal static Uri WebSocketUri(Uri server, string path)
    {
        var uri = new UriBuilder(new Uri(server, path)) { Scheme = server.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" };
        return uri.Uri;
    }
}
