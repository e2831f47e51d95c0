using System.Text.Json;

namespace Virtuoso.Agent.Events;

/// <summary>One state change or failure on this host (design §8), as written to <c>&lt;data&gt;/events.log</c>.</summary>
/// <param name="Kind">created, started, stopped, suspended, resumed, deleted, recovered, failed, accelerator; migration: vmmp (each VMMP message), exported, unexported, retired, migration (phases of an incoming one), migrated (activated here).</param>
internal sealed record AgentEvent(DateTimeOffset Time, string Host, string Kind, Guid? Machine, string? State, long? Version, string? Detail);

/// <summary>
/// Append-only JSON lines, one event per line, in the order they happened on this host. The front-end will collect
/// them (design §8); until then they are the host's own record (report §6.1.10 footnote 25: events are logged
/// locally when the central logger is not there).
/// </summary>
internal sealed class EventLog(AgentOptions options, TimeProvider time)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly Lock _gate = new();

    public string Path { get; } = System.IO.Path.Combine(options.DataDirectory, "events.log");

    public void Append(string kind, Guid? machine = null, string? state = null, long? version = null, string? detail = null)
    {
        var e = new AgentEvent(time.GetUtcNow(), options.Name, kind, machine, state, version, detail);
        var line = JsonSerializer.SerializeToUtf8Bytes(e, Json);
        lock (_gate)
        {
            using var stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read);
            stream.Write(line);
            stream.WriteByte((byte)'\n');
        }
    }
}
