using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Virtuoso.Agent.Events;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Agent.Tests.Events;

/// <summary>Issue 19 point 3: reading events.log after a cursor, as the front-end's collector does.</summary>
public sealed class EventLogReadTests : IDisposable
{
    private readonly TestDirectory _dir = new();
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));

    public void Dispose() => _dir.Dispose();

    private EventLog NewLog() => new(TestOptions.For(_dir.Path), _clock);

    [Fact]
    public void Read_PagesThroughTheLogInOrder_EachPositionWhereItsLineEnds_NeitherRepeatingNorSkipping()
    {
        var log = NewLog();
        for (var i = 0; i < 7; i++) log.Append("failed", Guid.NewGuid(), detail: $"event {i}");

        var seen = new List<AgentEventEntry>();
        long after = 0;
        AgentEventPage page;
        do
        {
            page = log.Read(after, 3)!;
            Assert.True(page.Events.Count <= 3);
            seen.AddRange(page.Events);
            after = page.Next;
        } while (page.More);

        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"event {i}"), seen.Select(e => e.Detail));
        var ends = File.ReadAllBytes(log.Path).Select((b, i) => (b, i)).Where(x => x.b == '\n').Select(x => (long)x.i + 1);
        Assert.Equal(ends, seen.Select(e => e.Position));
        Assert.Equal(new FileInfo(log.Path).Length, after);
        Assert.Empty(log.Read(after, 3)!.Events);
        Assert.False(log.Read(after, 3)!.More);
    }

    [Fact]
    public void Read_AfterARestart_ContinuesFromTheSameCursor_InTheSameLog()
    {
        var first = NewLog();
        first.Append("created", Guid.NewGuid());
        var page = first.Read(0, 100)!;

        var again = NewLog(); // the agent restarted: same data directory
        again.Append("started", Guid.NewGuid());
        var next = again.Read(page.Next, 100)!;

        Assert.Equal(first.Id, again.Id);
        Assert.Equal(["started"], next.Events.Select(e => e.Kind));
        Assert.True(next.Events[0].Position > page.Next);
    }

    [Fact]
    public void Read_LeavesALineBeingWritten_AndPassesOverALineACrashCutShort()
    {
        var log = NewLog();
        log.Append("created", Guid.NewGuid());
        var whole = new FileInfo(log.Path).Length;
        File.AppendAllText(log.Path, "{\"time\":\"2026-12-06T12:00:00+00:00\",\"host\":\"test-h"); // no newline yet

        var page = log.Read(0, 100)!;
        Assert.Equal(["created"], page.Events.Select(e => e.Kind));
        Assert.Equal(whole, page.Next);

        var restarted = NewLog(); // the crash: the torn line is ended at start-up, so the next event is not glued to it
        restarted.Append("recovered", Guid.NewGuid());
        var after = restarted.Read(page.Next, 100)!;

        Assert.Equal(["recovered"], after.Events.Select(e => e.Kind));
        Assert.Equal(new FileInfo(log.Path).Length, after.Next);
    }

    [Fact]
    public void Read_RefusesACursorThatIsNoLineEnd_OrPastTheEnd()
    {
        var log = NewLog();
        log.Append("created", Guid.NewGuid());
        var length = new FileInfo(log.Path).Length;

        Assert.Null(log.Read(5, 10));
        Assert.Null(log.Read(length + 1, 10));
        Assert.Null(log.Read(-1, 10));
        Assert.NotNull(log.Read(length, 10));
    }

    [Fact]
    public void Read_BoundsAnAnswerBySize_ButAlwaysGivesAtLeastOneEvent()
    {
        var log = NewLog();
        var big = new string('x', AgentEventPage.MaxBytes / 3);
        for (var i = 0; i < 5; i++) log.Append("failed", detail: big);
        log.Append("failed", detail: new string('y', AgentEventPage.MaxBytes * 2)); // longer than a whole answer

        var counts = new List<int>();
        long after = 0;
        AgentEventPage page;
        do { page = log.Read(after, 1000)!; counts.Add(page.Events.Count); after = page.Next; } while (page.More);

        Assert.All(counts, c => Assert.InRange(c, 1, 3));
        Assert.Equal(6, counts.Sum());
        Assert.Equal(1, counts[^1]);
    }

    [Fact]
    public void ANewLog_GetsANewId_SoThatAnOldCursorIsNotTakenForAPlaceInIt()
    {
        var old = NewLog();
        old.Append("created", Guid.NewGuid());
        File.Delete(old.Path);

        var fresh = NewLog();

        Assert.NotEqual(old.Id, fresh.Id);
    }

    [Fact]
    public async Task Endpoint_NeedsTheSecret_PagesWithLimit_AndStartsAgainForAnotherLog()
    {
        await using var agent = new AgentFactory(_dir.Path, new FakeVmm());
        var client = agent.CreateAuthenticatedClient();
        for (var i = 0; i < 3; i++) await client.CreateAsync(AgentApi.Blank(Guid.NewGuid()));

        Assert.Equal(HttpStatusCode.Unauthorized, (await agent.CreateClient().GetAsync("/v1/events")).StatusCode);
        var first = (await client.GetFromJsonAsync<AgentEventPage>("/v1/events?limit=2"))!;
        var rest = (await client.GetFromJsonAsync<AgentEventPage>(AgentEventPage.Query(first.Log, first.Next, 100)))!;
        var fromStart = (await client.GetFromJsonAsync<AgentEventPage>(AgentEventPage.Query("another-log", first.Next, 100)))!;

        Assert.Equal(2, first.Events.Count);
        Assert.True(first.More);
        var all = first.Events.Concat(rest.Events).Where(e => e.Kind == "created").ToList();
        Assert.Equal(3, all.Count);
        Assert.Equal(first.Events[0], fromStart.Events[0]);
        var bad = await client.GetAsync("/v1/events?after=3");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(ErrorCodes.InvalidCursor, (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        var badLimit = await client.GetAsync("/v1/events?limit=0");
        Assert.Equal(ErrorCodes.Validation, (await badLimit.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }
}
