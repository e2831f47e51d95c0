using Microsoft.Extensions.Time.Testing;
using System.Text.Json;
using Virtuoso.Agent.Events;
using Virtuoso.Agent.Tests.Support;

namespace Virtuoso.Agent.Tests.Events;

public sealed class EventLogTests : IDisposable
{
    private readonly TestDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Append_WritesOneJsonLinePerEvent_InOrder_WithTheHostAndTheClocksTime()
    {
        var at = new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
        var log = new EventLog(TestOptions.For(_dir.Path), new FakeTimeProvider(at));
        var id = Guid.NewGuid();

        log.Append("created", id, "stopped", 1);
        Parallel.For(0, 50, i => log.Append("failed", id, detail: $"attempt {i}"));
        log.Append("deleted", id, version: 1);

        var lines = File.ReadAllLines(log.Path).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(52, lines.Count);
        Assert.Equal("created", lines[0].GetProperty("kind").GetString());
        Assert.Equal("deleted", lines[^1].GetProperty("kind").GetString());
        Assert.All(lines, e => Assert.Equal("test-host", e.GetProperty("host").GetString()));
        Assert.All(lines, e => Assert.Equal(at, e.GetProperty("time").GetDateTimeOffset()));
        Assert.Equal(id, lines[0].GetProperty("machine").GetGuid());
        Assert.False(lines[^1].TryGetProperty("state", out _));
    }
}
