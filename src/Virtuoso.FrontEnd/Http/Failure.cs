using Virtuoso.Contracts.Api;

namespace Virtuoso.FrontEnd.Http;

/// <summary>
/// An expected failure (style.md "Errors"): not found, not allowed in this state, no room, … returned as a
/// value carrying a stable <c>code</c>, and mapped once, here, to an HTTP problem details answer: the status and the
/// title of every code come from one table (<see cref="Table"/>), never from the place that refuses.
/// </summary>
internal sealed record Failure(string Code, string Message)
{
    /// <summary>An agent call that got no answer (timeout, refused connection): the agent may or may not have acted.</summary>
    public bool Unanswered { get; init; }
    /// <summary>The HTTP status an agent answered a refused call with (404: it holds no such machine).</summary>
    public int? AgentStatus { get; init; }
    /// <summary>The stable code an agent refused a call with (<see cref="ErrorCodes.PortBusy"/>, say), whatever <see cref="Code"/> the caller is told.</summary>
    public string? AgentCode { get; init; }

    /// <summary>The HTTP status of this failure's code.</summary>
    public int Status => Table.TryGetValue(Code, out var row) ? row.Status : throw new InvalidOperationException($"error code '{Code}' has no row in Failure.Table");

    public static Failure Validation(string message) => new(ErrorCodes.Validation, message);
    public static Failure NotFound(string what) => new(ErrorCodes.NotFound, $"{what} not found");
    public static Failure MachineNotFound => NotFound("machine");

    public IResult ToResult() => Results.Problem(
        title: TitleOf(Code),
        detail: Message, statusCode: Status,
        extensions: new Dictionary<string, object?> { ["code"] = Code });

    /// <summary>The human title of a code, as problem details carry it.</summary>
    public static string TitleOf(string code) => Table.TryGetValue(code, out var row) ? row.Title : "Request refused";

    /// <summary>Every code the front-end answers with: its HTTP status and its title (docs/api.md lists the same).</summary>
    internal static readonly IReadOnlyDictionary<string, (int Status, string Title)> Table = new Dictionary<string, (int, string)>
    {
        [ErrorCodes.Validation] = (400, "Invalid input"),
        [ErrorCodes.BelowImageMinimum] = (400, "Below the image's minimum"),
        [ErrorCodes.InvalidKey] = (400, "Not an accepted SSH public key"),
        [ErrorCodes.InvalidPort] = (400, "Not a TCP port"),
        [ErrorCodes.InvalidHours] = (400, "Not a number of hours a month"),
        [ErrorCodes.InvalidLimit] = (400, "Not a number of hosts to show"),
        [ErrorCodes.NotAnIso] = (400, "Not a bootable ISO image"),
        [ErrorCodes.IncompleteUpload] = (400, "Upload incomplete"),
        [ErrorCodes.InvalidSubnet] = (400, "Not an acceptable subnet"),
        [ErrorCodes.InvalidScope] = (400, "Not a key scope"),
        [ErrorCodes.InvalidExpiry] = (400, "Not a key lifetime"),
        [ErrorCodes.InvalidCursor] = (400, "Not a place in the event list"),
        [ErrorCodes.InvalidFilter] = (400, "Not an events filter"),
        [ErrorCodes.InvalidCertificateRequest] = (400, "Not a usable certificate request"),
        [ErrorCodes.Unauthenticated] = (401, "Not logged in"),
        [ErrorCodes.InvalidCredentials] = (401, "Wrong username or password"),
        [ErrorCodes.InvalidApiKey] = (401, "Unknown or revoked API key"),
        [ErrorCodes.ExpiredApiKey] = (401, "Expired API key"),
        [ErrorCodes.InvalidJoinToken] = (401, "Unknown or used join token"),
        [ErrorCodes.ExpiredJoinToken] = (401, "Expired join token"),
        [ErrorCodes.InvalidHostSecret] = (401, "Unknown host or wrong secret"),
        [ErrorCodes.InsufficientFunds] = (402, "Insufficient funds"),
        [ErrorCodes.NegativeBalance] = (402, "Negative balance"),
        [ErrorCodes.WrongRole] = (403, "Not allowed for this kind of account"),
        [ErrorCodes.InvalidTicket] = (403, "Invalid ticket"),
        [ErrorCodes.ExpiredTicket] = (403, "Expired ticket"),
        [ErrorCodes.ForbiddenOrigin] = (403, "Forbidden origin"),
        [ErrorCodes.ReadOnlyKey] = (403, "Read-only API key"),
        [ErrorCodes.SessionRequired] = (403, "Log in with a password for this"),
        [ErrorCodes.NotFound] = (404, "Not found"),
        [ErrorCodes.UnknownConfiguration] = (404, "Unknown configuration"),
        [ErrorCodes.AgentPackageMissing] = (404, "No agent build served here"),
        [ErrorCodes.InvalidState] = (409, "Not allowed in the machine's state"),
        [ErrorCodes.NoRoom] = (409, "No room on the host"),
        [ErrorCodes.OverBid] = (409, "Host is over the bid"),
        [ErrorCodes.HostOffline] = (409, "Host offline"),
        [ErrorCodes.HostNameTaken] = (409, "Host name taken"),
        [ErrorCodes.UsernameTaken] = (409, "Username taken"),
        [ErrorCodes.Conflict] = (409, "Changed meanwhile"),
        [ErrorCodes.KeyNameTaken] = (409, "Key name taken"),
        [ErrorCodes.KeyExists] = (409, "Key already on the account"),
        [ErrorCodes.TooManyKeys] = (409, "Too many keys"),
        [ErrorCodes.ApiKeyNameTaken] = (409, "API key name taken"),
        [ErrorCodes.NoPorts] = (409, "No free port on the host"),
        [ErrorCodes.PortBusy] = (409, "A forwarded port is held by another program on the host"),
        [ErrorCodes.TooManyPorts] = (409, "Too many forwarded ports"),
        [ErrorCodes.Busy] = (409, "Another action is in progress"),
        [ErrorCodes.VersionMismatch] = (409, "Versions disagree"),
        [ErrorCodes.MethodUnsupported] = (409, "Method not offered by the destination"),
        [ErrorCodes.SameHost] = (409, "Already on that host"),
        [ErrorCodes.MigrationInProgress] = (409, "A migration is in progress"),
        [ErrorCodes.IsoNameTaken] = (409, "ISO name taken"),
        [ErrorCodes.InUse] = (409, "In use"),
        [ErrorCodes.NetworkNameTaken] = (409, "Network name taken"),
        [ErrorCodes.NetworkInUse] = (409, "Network in use"),
        [ErrorCodes.SubnetFull] = (409, "Subnet full"),
        [ErrorCodes.LengthRequired] = (411, "Length required"),
        [ErrorCodes.OverQuota] = (413, "Over the ISO quota"),
        [ErrorCodes.RateLimited] = (429, "Too many attempts"),
        [ErrorCodes.AgentFailed] = (502, "The provider's agent failed"),
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
