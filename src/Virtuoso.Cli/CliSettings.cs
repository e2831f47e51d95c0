namespace Virtuoso.Cli;

/// <summary>What the environment decides before the command line is read.</summary>
/// <param name="Home">Where credentials live: <c>$VIRTUOSO_HOME</c>, else <c>~/.virtuoso</c>.</param>
/// <param name="DefaultServer"><c>$VIRTUOSO_SERVER</c>, else the front-end's development address.</param>
/// <param name="Timeout">Per HTTP call; generous because start and stop wait for QEMU on the provider.</param>
internal sealed record CliSettings(string Home, string DefaultServer, TimeSpan Timeout)
{
    /// <summary>Whether stdout is a terminal: progress is then one bar redrawn in place, else plain lines.</summary>
    public bool Terminal { get; init; }

    /// <summary>Whether stderr is a terminal: an upload's progress bar is drawn there then, and not at all otherwise.</summary>
    public bool ErrorTerminal { get; init; }

    /// <summary>
    /// The bytes of standard input and output, for <c>tunnel</c> (which relays them) and <c>ssh</c> (whose child uses them):
    /// the process's own when run as a program; null in-process, where only the writers exist.
    /// </summary>
    public Stdio? Stdio { get; init; }

    /// <summary>The OpenSSH client <c>ssh</c> runs: <c>$VIRTUOSO_SSH</c>, else <c>ssh</c> from the PATH.</summary>
    public string Ssh { get; init; } = "ssh";

    /// <summary>
    /// How <c>ssh</c>'s ProxyCommand runs this CLI again: <c>$VIRTUOSO_CLI</c> (an executable), else this process's own
    /// program (with its assembly when that program is <c>dotnet</c>).
    /// </summary>
    public string? Self { get; init; }

    /// <summary>
    /// <c>$VIRTUOSO_API_KEY</c>: an API key (<c>virtuoso tokens create</c>) sent instead of the stored login's session token,
    /// for scripts that must not hold a password. Null: the stored login.
    /// </summary>
    public string? ApiKey { get; init; }

    /// <summary>How often a command that follows a long operation (migrate) asks the server again.</summary>
    public TimeSpan Poll { get; init; } = TimeSpan.FromMilliseconds(500);

    public const string LocalServer = "http://127.0.0.1:5080";
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(120);

    public static CliSettings From(IReadOnlyDictionary<string, string?> environment)
    {
        string? Variable(string name) => environment.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value) ? value : null;

        var userHome = Variable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return new CliSettings(
            Variable("VIRTUOSO_HOME") ?? Path.Combine(userHome, ".virtuoso"),
            Variable("VIRTUOSO_SERVER") ?? LocalServer,
            DefaultTimeout)
        {
            Ssh = Variable("VIRTUOSO_SSH") ?? "ssh",
            Self = Variable("VIRTUOSO_CLI"),
            ApiKey = Variable("VIRTUOSO_API_KEY")?.Trim(),
        };
    }
}

/// <summary>Standard input and output as byte streams.</summary>
/// <param name="Inherited">True when they are the process's own, which a child process can simply inherit.</param>
internal sealed record Stdio(Stream In, Stream Out, bool Inherited);
