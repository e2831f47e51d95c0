using Microsoft.Extensions.Logging;

namespace Virtuoso.Agent.Migration.Methods.Rsync;

/// <summary>Log messages of the RSYNC method (event ids 420-439).</summary>
internal static partial class RsyncLog
{
    [LoggerMessage(420, LogLevel.Information, "rsync daemon for machine {Machine} up as pid {Pid} on {Address}:{Port}")]
    public static partial void DaemonStarted(ILogger logger, Guid machine, int pid, string address, int port);

    [LoggerMessage(421, LogLevel.Information, "rsync daemon for machine {Machine} (pid {Pid}) stopped: {Reason}")]
    public static partial void DaemonStopped(ILogger logger, Guid machine, int pid, string reason);

    [LoggerMessage(422, LogLevel.Warning, "Killed rsync daemon pid {Pid} left over from an earlier run of the agent")]
    public static partial void LeftoverKilled(ILogger logger, int pid);

    [LoggerMessage(423, LogLevel.Information,
        "RSYNC fetch of {Machine}: {Literal} literal bytes, {Matched} matched, {Received} received, {Sent} sent, {Seconds:0.000} s")]
    public static partial void Fetched(ILogger logger, Guid machine, long literal, long matched, long received, long sent, double seconds);

    [LoggerMessage(424, LogLevel.Warning, "RSYNC fetch of {Machine} failed; cached files moved back: {Message}")]
    public static partial void FetchFailed(ILogger logger, Guid machine, string message);

    [LoggerMessage(425, LogLevel.Warning, "RSYNC fetch of {Machine}: the tunnel to the origin's daemon could not be opened: {Message}")]
    public static partial void TunnelFailed(ILogger logger, Guid machine, string message);
}
