using Virtuoso.Agent.Machines;

namespace Virtuoso.Agent.Tests.Machines;

public class RecoveryTests
{
    // Theory data names internal enums by string: xunit test methods must be public.
    private const string Stopped = nameof(AgentState.Stopped);
    private const string Running = nameof(AgentState.Running);
    private const string Suspended = nameof(AgentState.Suspended);

    [Theory]
    // QEMU gone: report what the files show; a complete saved state means suspended.
    [InlineData(Running, false, nameof(GuestStatus.Unknown), false, Stopped, false, nameof(RecoveryStep.None))]
    [InlineData(Running, false, nameof(GuestStatus.Unknown), true, Suspended, false, nameof(RecoveryStep.None))]
    [InlineData(Suspended, false, nameof(GuestStatus.Unknown), true, Suspended, false, nameof(RecoveryStep.None))]
    [InlineData(Stopped, false, nameof(GuestStatus.Unknown), false, Stopped, false, nameof(RecoveryStep.None))]
    // QEMU runs the guest: it is running, whatever was recorded, and a saved state is stale.
    [InlineData(Running, true, nameof(GuestStatus.Running), false, Running, false, nameof(RecoveryStep.None))]
    [InlineData(Stopped, true, nameof(GuestStatus.Running), false, Running, false, nameof(RecoveryStep.None))]
    [InlineData(Running, true, nameof(GuestStatus.Running), true, Running, true, nameof(RecoveryStep.None))]
    // Suspend committed, QEMU not yet quit; or resume loaded, not committed: the saved state wins.
    [InlineData(Suspended, true, nameof(GuestStatus.Paused), true, Suspended, false, nameof(RecoveryStep.Kill))]
    [InlineData(Suspended, true, nameof(GuestStatus.Loading), true, Suspended, false, nameof(RecoveryStep.Kill))]
    // Suspend not committed (§6.3.4: the machine stays running); resume committed, not continued.
    [InlineData(Running, true, nameof(GuestStatus.Paused), true, Running, true, nameof(RecoveryStep.Continue))]
    [InlineData(Running, true, nameof(GuestStatus.Paused), false, Running, false, nameof(RecoveryStep.Continue))]
    [InlineData(Stopped, true, nameof(GuestStatus.Paused), false, Running, false, nameof(RecoveryStep.Continue))]
    [InlineData(Suspended, true, nameof(GuestStatus.Paused), false, Running, false, nameof(RecoveryStep.Continue))]
    // QEMU does not answer, or loads without a committed suspend: leave it alone, it is there.
    [InlineData(Running, true, nameof(GuestStatus.Unknown), false, Running, false, nameof(RecoveryStep.None))]
    [InlineData(Running, true, nameof(GuestStatus.Loading), true, Running, false, nameof(RecoveryStep.None))]
    public void Decide(string intent, bool alive, string status, bool saved, string expectedIntent, bool discard, string step) =>
        Assert.Equal(
            new RecoveryPlan(Enum.Parse<AgentState>(expectedIntent), discard, Enum.Parse<RecoveryStep>(step)),
            Recovery.Decide(Enum.Parse<AgentState>(intent), new Observation(alive, Enum.Parse<GuestStatus>(status), saved)));

    [Theory]
    [InlineData(true, false, Running)]
    [InlineData(true, true, Running)]
    [InlineData(false, true, Suspended)]
    [InlineData(false, false, Stopped)]
    public void Observation_State_IsTheTruthOfTheProcessAndFiles(bool alive, bool saved, string state) =>
        Assert.Equal(Enum.Parse<AgentState>(state), new Observation(alive, GuestStatus.Unknown, saved).State);

    [Fact]
    public void Decide_NeverKeepsAStateFileForAGuestThatWillRun()
    {
        foreach (var intent in Enum.GetValues<AgentState>())
        foreach (var status in Enum.GetValues<GuestStatus>())
        {
            var plan = Recovery.Decide(intent, new Observation(true, status, true));
            var guestRuns = status == GuestStatus.Running || plan.Step == RecoveryStep.Continue;
            Assert.True(!guestRuns || plan.DiscardSavedState, $"{intent}/{status}: {plan}");
        }
    }
}
