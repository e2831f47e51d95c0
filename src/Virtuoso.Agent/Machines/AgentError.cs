using Microsoft.AspNetCore.Http;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Agent.Machines;

/// <summary>
/// An expected failure, returned as a value and turned into HTTP problem details once, by
/// <see cref="MachineEndpoints"/>, with a stable <see cref="ErrorCodes"/> code.
/// </summary>
internal sealed record AgentError(string Code, string Message, int Status)
{
    public static AgentError Validation(string message) => new(ErrorCodes.Validation, message, StatusCodes.Status400BadRequest);
    public static AgentError NotFound(Guid id) => new(ErrorCodes.NotFound, $"no machine {id:D} on this host", StatusCodes.Status404NotFound);
    public static AgentError InvalidState(string message) => new(ErrorCodes.InvalidState, message, StatusCodes.Status409Conflict);
    public static AgentError VersionMismatch(long expected, long actual) =>
        new(ErrorCodes.VersionMismatch, $"expected version {expected}, this host holds version {actual}", StatusCodes.Status409Conflict);
    public static AgentError Conflict(string message) => new(ErrorCodes.Conflict, message, StatusCodes.Status409Conflict);
    /// <summary>A host port the command forwards is held by another program (<see cref="HostPorts"/>); nothing changed.</summary>
    public static AgentError PortBusy(string message) => new(ErrorCodes.PortBusy, message, StatusCodes.Status409Conflict);
    /// <summary>The VMM (QEMU, qemu-img) failed.</summary>
    public static AgentError Failed(string message) => new(ErrorCodes.AgentFailed, message, StatusCodes.Status502BadGateway);
    /// <summary>The agent's own storage failed (disk full, permissions).</summary>
    public static AgentError LocalFailure(string message) => new(ErrorCodes.AgentFailed, message, StatusCodes.Status500InternalServerError);
}

/// <summary>Either a value or an <see cref="AgentError"/>.</summary>
internal readonly record struct Outcome<T>
{
    public T? Value { get; }
    public AgentError? Error { get; }

    private Outcome(T? value, AgentError? error) => (Value, Error) = (value, error);

    public static implicit operator Outcome<T>(T value) => new(value, null);
    public static implicit operator Outcome<T>(AgentError error) => new(default, error);
}
