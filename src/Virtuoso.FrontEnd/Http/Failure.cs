using Virtuoso.Contracts.Api;

namespace Virtuoso.FrontEnd.Http;

/// <summary>
/// An expected failure (style.md "Errors"): not found, not allowed in this state, no room, … returned as a
/// value and mapped once, here, to an HTTP problem details answer carrying a stable <c>code</c>.
/// </summary>
internal sealed record Failure(int Status, string Code, string Message)
{
    /// <summary>An agent call that got no answer (timeout, refused connection): the agent may or may not have acted.</summary>
    public bool Unanswered { get; init; }
    /// <summary>The HTTP status an agent answered a refused call with (404: it holds no such machine).</summary>
    public int? AgentStatus { get; init; }

    public static Failure Validation(string message) => new(400, ErrorCodes.Validation, message);
    public static Failure NotFound(string what) => new(404, ErrorCodes.NotFound, $"{what} not found");
    public static Failure MachineNotFound => NotFound("machine");
    public static Failure Conflict(string code, string message) => new(409, code, message);

    public IResult ToResult() => Results.Problem(
        title: Titles.GetValueOrDefault(Code, "Request refused"),
        detail: Message, statusCode: Status,
        extensions: new Dictionary<string, object?> { ["code"] = Code });

    /// <summary>The human title of a code, as problem details carry it.</summary>
    public static string TitleOf(string code) => Titles.GetValueOrDefault(code, "Request refused");

    private static readonly Dictionary<string, string> Titles = new()
    {
        [ErrorCodes.Validation] = "Invalid input",
        [ErrorCodes.Unauthenticated] = "Not logged in",
        [ErrorCodes.InvalidCredentials] = "Wrong username or password",
        [ErrorCodes.UsernameTaken] = "Username taken",
        [ErrorCodes.WrongRole] = "Not allowed for this kind of account",
        [ErrorCodes.NotFound] = "Not found",
        [ErrorCodes.InvalidState] = "Not allowed in the machine's state",
        [ErrorCodes.NoRoom] = "No room on the host",
        [ErrorCodes.OverBid] = "Host is over the bid",
        [ErrorCodes.InsufficientFunds] = "Insufficient funds",
        [ErrorCodes.NegativeBalance] = "Negative balance",
        [ErrorCodes.AgentFailed] = "The provider's agent failed",
        [ErrorCodes.RateLimited] = "Too many attempts",
        [ErrorCodes.Conflict] = "Changed meanwhile",
        [ErrorCodes.Busy] = "Another action is in progress",
        [ErrorCodes.UnknownConfiguration] = "Unknown configuration",
        [ErrorCodes.BelowImageMinimum] = "Below the image's minimum",
        [ErrorCodes.HostOffline] = "Host offline",
        [ErrorCodes.HostNameTaken] = "Host name taken",
        [ErrorCodes.VersionMismatch] = "Versions disagree",
        [ErrorCodes.MethodUnsupported] = "Method not offered by the destination",
        [ErrorCodes.SameHost] = "Already on that host",
        [ErrorCodes.MigrationInProgress] = "A migration is in progress",
    };
}

/// <summary>Either a value or a <see cref="Failure"/>.</summary>
internal readonly struct Outcome<T>
{
    private Outcome(T? value, Failure? failure) { Value = value; Failure = failure; }
    public T? Value { get; }
    public Failure? Failure { get; }
    public bool Ok => Failure is null;
    public static implicit operator Outcome<T>(T value) => new(value, null);
    public static Outcome<T> Success(T value) => new(value, null);
    public static implicit operator Outcome<T>(Failure failure) => new(default, failure);

    /// <summary>200 with the value, or the failure's problem details.</summary>
    public IResult ToResult(Func<T, IResult>? ok = null) => Failure is { } f ? f.ToResult() : (ok ?? (v => Results.Ok(v)))(Value!);
}
