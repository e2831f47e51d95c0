namespace Virtuoso.Contracts.Agent;

/// <summary>
/// <c>GET /v1/events?after=N[&amp;limit=M][&amp;log=ID]</c> (host secret): the agent's own events (design §8) after a cursor, oldest
/// first, for the front-end to gather into its event log (issue 19 point 3).
/// </summary>
/// <param name="Log">The identity of this host's event log (a random id made with <c>events.log</c>): a cursor is a place in one
/// log. A request naming another log (the agent's data directory was replaced) is answered from the beginning of this one.</param>
/// <param name="Events">At most <c>limit</c> (1..1000, default 100) events and about 256 KiB of them (always at least one when
/// there is one), in the order the agent wrote them.</param>
/// <param name="Next">The cursor to ask with next (<c>after=Next</c>): the position of the last event given, or <c>after</c> when
/// there is none.</param>
/// <param name="More">Whether events after <paramref name="Next"/> were left for the next call.</param>
public sealed record AgentEventPage(string Log, IReadOnlyList<AgentEventEntry> Events, long Next, bool More)
{
    public const string Route = "/v1/events";
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;
    /// <summary>About how many bytes of <c>events.log</c> one answer carries at most.</summary>
    public const int MaxBytes = 256 * 1024;

    public static string Query(string? log, long after, int limit) =>
        $"{Route}?after={after}&limit={limit}" + (log is null ? "" : $"&log={Uri.EscapeDataString(log)}");
}

/// <summary>One event of an agent's <c>events.log</c>.</summary>
/// <param name="Position">Where the event's line ends in <c>events.log</c> (bytes): it only grows, survives restarts, and asking
/// with <c>after=Position</c> gives the events after this one.</param>
/// <param name="Kind">created, started, stopped, suspended, resumed, deleted, recovered, failed, accelerator, tunnel-opened;
/// migration: vmmp (each VMMP message), exported, unexported, retired, migration (phases of an incoming one), migrated.</param>
public sealed record AgentEventEntry(long Position, DateTimeOffset Time, string Kind, Guid? Machine, string? State, long? Version, string? Detail);
