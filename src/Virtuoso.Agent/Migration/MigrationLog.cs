using Microsoft.Extensions.Logging;

namespace Virtuoso.Agent.Migration;

/// <summary>Log messages of migration (design §6), with stable event ids.</summary>
internal static partial class MigrationLog
{
    [LoggerMessage(60, LogLevel.Information, "VMMP server listening on {Address}:{Port}, methods {Methods}")]
    public static partial void VmmpListening(ILogger logger, string address, int port, string methods);

    [LoggerMessage(61, LogLevel.Information, "VMMP from {Remote}: {Line} -> {Answer}")]
    public static partial void VmmpMessage(ILogger logger, string remote, string line, string answer);

    [LoggerMessage(62, LogLevel.Warning, "VMMP connection from {Remote} closed: {Reason}")]
    public static partial void VmmpClosed(ILogger logger, string remote, string reason);

    [LoggerMessage(63, LogLevel.Information, "Machine {Machine} exported at version {Version} ({Bytes} bytes)")]
    public static partial void Exported(ILogger logger, Guid machine, long version, long bytes);

    [LoggerMessage(64, LogLevel.Information, "Machine {Machine} retired at version {Version} into the migration cache")]
    public static partial void Retired(ILogger logger, Guid machine, long version);

    [LoggerMessage(65, LogLevel.Information, "Migration of {Machine}: {Phase}")]
    public static partial void Phase(ILogger logger, Guid machine, string phase);

    [LoggerMessage(66, LogLevel.Warning, "Migration of {Machine} failed: {Reason}")]
    public static partial void Failed(ILogger logger, Guid machine, string reason);

    [LoggerMessage(67, LogLevel.Information, "Migration of {Machine} activated at version {Version}")]
    public static partial void Activated(ILogger logger, Guid machine, long version);

    [LoggerMessage(68, LogLevel.Warning, "Migration of {Machine} was {Phase} when the agent stopped; discarded")]
    public static partial void DiscardedAfterRestart(ILogger logger, Guid machine, string phase);

    [LoggerMessage(69, LogLevel.Warning, "Deleting the out-of-date cache {Directory} failed: {Reason}")]
    public static partial void DiscardFailed(ILogger logger, string directory, string reason);
}
