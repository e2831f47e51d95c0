using Microsoft.Extensions.Logging;

namespace Virtuoso.Agent.Migration.Methods.Dedup;

/// <summary>Log messages of the DEDUP method (event ids 400-419).</summary>
internal static partial class DedupLog
{
    [LoggerMessage(400, LogLevel.Information, "DEDUP origin: block list of {Path} ({Blocks} blocks, {DataBytes} data bytes) served")]
    public static partial void ListServed(ILogger logger, string path, int blocks, long dataBytes);

    [LoggerMessage(401, LogLevel.Information,
        "DEDUP fetch of {Machine}: {Files} files, {InPlace} bytes in place, {Copied} copied locally, {Fetched} fetched ({Wire} on the wire), {Hashed} bytes hashed here, {Seconds:0.000} s")]
    public static partial void Fetched(ILogger logger, Guid machine, int files, long inPlace, long copied, long fetched, long wire, long hashed, double seconds);

    [LoggerMessage(402, LogLevel.Warning, "DEDUP fetch of {Machine}: local block at {Path}+{Offset} no longer matches its index; fetching it instead")]
    public static partial void StaleLocalBlock(ILogger logger, Guid machine, string path, long offset);

    [LoggerMessage(403, LogLevel.Warning, "DEDUP fetch of {Machine} failed; cached files moved back: {Message}")]
    public static partial void FetchFailed(ILogger logger, Guid machine, string message);
}
