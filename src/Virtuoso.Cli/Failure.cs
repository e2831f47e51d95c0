namespace Virtuoso.Cli;

/// <summary>The process exit codes of the CLI; scripts branch on these.</summary>
internal enum ExitCode
{
    Success = 0,
    /// <summary>The server answered with an error (problem details), or the answer made no sense.</summary>
    Refused = 1,
    /// <summary>Bad command line: unknown command, missing or malformed option, ambiguous machine reference.</summary>
    Usage = 2,
    /// <summary>The server could not be reached or did not answer in time.</summary>
    Unreachable = 3,
}

/// <summary>
/// An expected failure: printed as exactly one line on stderr, <c>error: MESSAGE (CODE)</c>, with a non-zero exit code.
/// <paramref name="Code"/> is the server's problem code when it gave one (Contracts' <c>ErrorCodes</c>), else a CLI code.
/// </summary>
internal sealed record Failure(ExitCode Exit, string Message, string Code)
{
    public const string UsageCode = "usage";
    public const string AmbiguousCode = "ambiguous";
    public const string UnreachableCode = "unreachable";
    public const string TimeoutCode = "timeout";
    public const string BadResponseCode = "bad-response";
    public const string LocalFilesCode = "local-files";

    public static Failure Usage(string message) => new(ExitCode.Usage, message, UsageCode);

    public string Line => $"error: {OneLine(Message)} ({Code})";

    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
