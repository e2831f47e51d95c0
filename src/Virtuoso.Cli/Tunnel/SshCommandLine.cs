namespace Virtuoso.Cli.Tunnel;

/// <summary>
/// The arguments of the system's <c>ssh</c> for <c>virtuoso ssh</c>: root on the machine, through this CLI's own
/// <c>tunnel ID 22</c> as the ProxyCommand, so it works whether or not the host's ports are reachable. The host key is
/// remembered under the machine's id (it follows the machine across hosts and addresses) in the CLI's own
/// known_hosts, accepted the first time and checked ever after. Pure, so that the line is tested without ssh.
/// </summary>
internal static class SshCommandLine
{
    /// <param name="self">How to run this CLI: a program and its first arguments.</param>
    /// <param name="identity">The private key to log in with (<c>-i</c>); null: ssh's own choice (agent, ~/.ssh/id_*).</param>
    public static IReadOnlyList<string> Build(IReadOnlyList<string> self, string server, Guid machine, string knownHosts, string? identity,
        IReadOnlyList<string> command)
    {
        var proxy = string.Join(' ', self.Concat(["--server", server, "tunnel", machine.ToString("D"), "22"]).Select(Quote));
        List<string> args =
        [
            "-o", $"ProxyCommand={Escape(proxy)}",
            "-o", $"HostKeyAlias={machine:D}",
            "-o", "StrictHostKeyChecking=accept-new",
            "-o", $"UserKnownHostsFile={Escape(Quote(knownHosts))}",
        ];
        if (identity is not null)
        {
            // Only this key: keys of an agent tried first could use up the server's attempts.
            args.AddRange(["-i", identity, "-o", "IdentitiesOnly=yes"]);
        }

        args.AddRange(["-l", "root", machine.ToString("D")]);
        args.AddRange(command);
        return args;
    }

    /// <summary>One word for the shell that ssh runs the ProxyCommand with.</summary>
    internal static string Quote(string word) => "'" + word.Replace("'", @"'\''", StringComparison.Ordinal) + "'";

    /// <summary>ssh expands %-tokens in these options; a literal % is %%.</summary>
    private static string Escape(string text) => text.Replace("%", "%%", StringComparison.Ordinal);
}
