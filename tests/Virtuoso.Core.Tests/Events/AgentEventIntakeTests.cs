using Virtuoso.Core.Events;

namespace Virtuoso.Core.Tests.Events;

public sealed class AgentEventIntakeTests
{
    [Theory]
    [InlineData("failed", true, true, AgentEventAudience.MachineOwner)]
    [InlineData("recovered", true, true, AgentEventAudience.MachineOwner)]
    [InlineData("failed", true, false, AgentEventAudience.Operator)] // a machine the front-end does not know has no owner to tell
    [InlineData("vmmp", true, true, AgentEventAudience.Operator)]   // one per VMMP message: operator only
    [InlineData("started", true, true, AgentEventAudience.Operator)] // the front-end records its own "started"
    [InlineData("migration", true, true, AgentEventAudience.Operator)]
    [InlineData("accelerator", false, false, AgentEventAudience.HostOwner)]
    [InlineData("vmmp", false, false, AgentEventAudience.Operator)]
    public void AudienceOf_ShowsOwnersOnlyWhatTheFrontEndDoesNotSee(string kind, bool aboutMachine, bool known, AgentEventAudience expected) =>
        Assert.Equal(expected, AgentEventIntake.AudienceOf(kind, aboutMachine, known));

    [Fact]
    public void ListedAt_NeverGoesBackWithinAHost()
    {
        var t = new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

        Assert.Equal(t.AddSeconds(5), AgentEventIntake.ListedAt(t.AddSeconds(5), t));
        Assert.Equal(t, AgentEventIntake.ListedAt(t.AddSeconds(-30), t));
    }
}
