using Virtuoso.Agent.Machines;

namespace Virtuoso.Agent.Tests.Machines;

public class AgentTransitionsTests
{
    /// <summary>Every cell of the table: state × verb → next state, or "refused".</summary>
    public static TheoryData<string, string, string> Cells() => new()
    {
        { "Stopped", "Start", "Running" },
        { "Stopped", "Stop", "refused" },
        { "Stopped", "Suspend", "refused" },
        { "Stopped", "Resume", "refused" },
        { "Running", "Start", "refused" },
        { "Running", "Stop", "Stopped" },
        { "Running", "Suspend", "Suspended" },
        { "Running", "Resume", "refused" },
        { "Suspended", "Start", "refused" },
        { "Suspended", "Stop", "refused" },
        { "Suspended", "Suspend", "refused" },
        { "Suspended", "Resume", "Running" },
    };

    [Theory]
    [MemberData(nameof(Cells))]
    public void Decide_FollowsTheTable(string state, string verb, string next) =>
        Assert.Equal(next, AgentTransitions.Decide(Enum.Parse<AgentState>(state), Enum.Parse<MachineVerb>(verb))?.ToString() ?? "refused");

    [Fact]
    public void Cells_CoverEveryStateAndVerb() =>
        Assert.Equal(Enum.GetValues<AgentState>().Length * Enum.GetValues<MachineVerb>().Length, Cells().Count());

    [Theory]
    [InlineData("Stopped", true)]
    [InlineData("Suspended", true)]
    [InlineData("Running", false)]
    public void CanDelete_OnlyWhenNotRunning(string state, bool allowed) =>
        Assert.Equal(allowed, AgentTransitions.CanDelete(Enum.Parse<AgentState>(state)));
}
