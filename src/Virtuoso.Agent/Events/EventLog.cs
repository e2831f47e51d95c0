using System.Text.Json;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Events;

/// <summary>One state change or failure on this host (design §8), as written to <c>&lt;data&gt;/events.log</c>.</summary>
/// <param name="Kind">created, started, stopped, suspended, resumed, deleted, recovered, failed, accelerator, tunnel-opened; migration:
/// vmmp (each VMMP message), exported, unexported, retired, migration (phases of an incoming one), migrated (activated here).</param>
internal sealed record AgentEvent(DateTimeOffset Time, string Host, string Kind, Guid? Machine, string? State, long? Version, string? Detail);

/// <summary>
/// Append-only JSON lines, one event per line, in the order they happened on this host: the host's own record (report
/// §6.1.10 footnote 25), which the front-end gathers into its event log through <c>GET /v1/events</c> (issue 19). An
/// event's place is where its line ends in the file: it only grows, and survives restarts. <c>events.log.id</c> names the
/// log, so that a cursor into a log that was since replaced (a new data directory) is not taken for a place in this one.
/// </summary>
internal sealed class EventLog
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly Lock _gate = new();
    private readonly AgentOptions _options;
    private readonly TimeProvider _time;

    public EventLog(AgentOptions options, TimeProvider time)
    {
        (_options, _time) = (options, time);
        Path = System.IO.Path.Combine(options.DataDirectory, "events.log");
        var idPath = Path + ".id";
        // A log without its id (a new one, or one from before issue 19) gets a fresh id; a lost log with an old id, too.
        if (File.Exists(Path) && File.Exists(idPath) && File.ReadAllText(idPath).Trim() is { Length: > 0 } id)
            Id = id;
        else
        {
            Id = Guid.NewGuid().ToString("N");
            AtomicFile.Write(idPath, System.Text.Encoding.ASCII.GetBytes(Id + "\n"));
        }
        EndTornLine();
    }

    public string Path { get; }

    /// <summary>The log's identity (<see cref="AgentEventPage.Log"/>).</summary>
    public string Id { get; }

    public void Append(string kind, Guid? machine = null, string? state = null, long? version = null, string? detail = null)
    {
        var e = new AgentEvent(_time.GetUtcNow(), _options.Name, kind, machine, state, version, detail);
        var line = JsonSerializer.SerializeToUtf8Bytes(e, Json);
        lock (_gate)
        {
            using var stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read);
            stream.Write(line);
            stream.WriteByte((byte)'\n');
        }
    }

    /// <summary>
    /// The events whose lines end after <paramref name="after"/> (0: from the start), oldest first: at most
    /// <paramref name="limit"/>, and about <see cref="AgentEventPage.MaxBytes"/> of them (at least one). Only whole lines: one
    /// being written is left for the next call. A line that is no event (what a crash cut short, see <see cref="EndTornLine"/>)
    /// is passed over. Null when <paramref name="after"/> is not where a line ends.
    /// </summary>
    public AgentEventPage? Read(long after, int limit)
    {
        if (!File.Exists(Path)) return after == 0 ? new AgentEventPage(Id, [], 0, false) : null;
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var length = stream.Length;
        if (after < 0 || after > length) return null;
        if (after > 0)
        {
            stream.Position = after - 1;
            if (stream.ReadByte() != '\n') return null;
        }
        stream.Position = after;
        var buffer = new byte[Math.Min(AgentEventPage.MaxBytes, length - after)];
        var read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        var events = new List<AgentEventEntry>();
        var next = after;
        var start = 0;
        while (events.Count < limit)
        {
            var end = Array.IndexOf(buffer, (byte)'\n', start, read - start);
            if (end < 0)
            {
                // A line longer than the buffer, at the start of the page: read it whole so that the log never sticks on it.
                if (start == 0 && read == buffer.Length && after + read < length)
                    return ReadLongLine(stream, after, limit);
                break;
            }
            next = after + end + 1;
            if (Parse(buffer.AsSpan(start, end - start), next) is { } e) events.Add(e);
            start = end + 1;
        }
        return new AgentEventPage(Id, events, next, next < length);
    }

    private AgentEventPage ReadLongLine(FileStream stream, long after, int limit)
    {
        stream.Position = after;
        var line = new MemoryStream();
        int b;
        while ((b = stream.ReadByte()) >= 0 && b != '\n') line.WriteByte((byte)b);
        if (b < 0) return new AgentEventPage(Id, [], after, false); // still being written
        var next = after + line.Length + 1;
        var events = Parse(line.ToArray(), next) is { } e ? new List<AgentEventEntry> { e } : [];
        return new AgentEventPage(Id, events, next, next < stream.Length);
    }

    private static AgentEventEntry? Parse(ReadOnlySpan<byte> line, long position)
    {
        try
        {
            return JsonSerializer.Deserialize<AgentEvent>(line, Json) is { Kind: not null } e
                ? new AgentEventEntry(position, e.Time, e.Kind, e.Machine, e.State, e.Version, e.Detail)
                : null;
        }
        catch (JsonException)
        {
            return null; // a line cut short by a crash: not an event, and nothing after it depends on it
        }
    }

    /// <summary>
    /// A crash while appending can leave the last line without its newline; the next event would be glued to it and lost with
    /// it. End it at start-up instead: it becomes a line of its own that <see cref="Read"/> passes over.
    /// </summary>
    private void EndTornLine()
    {
        if (!File.Exists(Path)) return;
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        if (stream.Length == 0) return;
        stream.Position = stream.Length - 1;
        if (stream.ReadByte() == '\n') return;
        stream.Position = stream.Length;
        stream.WriteByte((byte)'\n');
    }
}
