using Virtuoso.Cli.Accounts;
using Virtuoso.Cli.Http;
using Virtuoso.Cli.Output;

namespace Virtuoso.Cli;

/// <summary>What a command's handler works with: the API, where its output goes, and who is logged in.</summary>
/// <param name="Out">Buffered: it reaches stdout only when the command succeeds, so a failure prints nothing there.</param>
/// <param name="Login">The stored login for this server, when there is one.</param>
internal sealed record Session(
    ApiClient Api, TextWriter Out, bool Json, Uri Server, CredentialStore Credentials, Credentials? Login)
{
    /// <summary>Unbuffered stdout, for progress shown while a long command runs (never with --json).</summary>
    public TextWriter Live { get; init; } = TextWriter.Null;

    /// <summary>Unbuffered stderr, for what a child process (ssh) says while it runs in-process.</summary>
    public TextWriter LiveErrors { get; init; } = TextWriter.Null;

    public CliSettings Settings { get; init; } = null!;

    public string ServerText => ServerAddress.Display(Server);

    /// <summary>Prints <paramref name="value"/> as JSON with <c>--json</c>, else as <paramref name="human"/> writes it.</summary>
    public Failure? Show<T>(T value, Action<TextWriter, T> human)
    {
        if (Json)
        {
            JsonOutput.Write(Out, value);
        }
        else
        {
            human(Out, value);
        }

        return null;
    }
}
