using Virtuoso.Core.Machines;
using static Virtuoso.Core.Machines.HostState;
using static Virtuoso.Core.Machines.IntentAction;
using static Virtuoso.Core.Machines.IntentStep;

namespace Virtuoso.Core.Tests.Machines;

/// <summary>
/// Issue 13: what the live request and the reconciler do with an open intent, for every action and every thing the agent
/// may hold. Versions: the intent goes from 5 to <c>to</c> (6 for store, stop, suspend, evict; 5 otherwise).
/// "Other" versions are 4 and 7.
/// </summary>
public sealed class IntentPlanTests
{
    private static Intent Open(IntentAction a, bool undoing = false) =>
        new(a, 5, a is Store or Stop or Suspend or Evict ? 6 : 5, undoing);

    [Theory]
    // store: absent → act; stopped at 6 → commit
    [InlineData(Store, Absent, 0, Act)]
    [InlineData(Store, Stopped, 6, Commit)]
    [InlineData(Store, Stopped, 7, Abort)]
    [InlineData(Store, Running, 6, Abort)]
    // start: stopped at 5 → act; running at 5 → commit
    [InlineData(Start, Stopped, 5, Act)]
    [InlineData(Start, Running, 5, Commit)]
    [InlineData(Start, Running, 4, Abort)]
    [InlineData(Start, Absent, 0, Abort)]
    [InlineData(Start, Suspended, 5, Abort)]
    // resume: suspended at 5 → act; running at 5 → commit
    [InlineData(Resume, Suspended, 5, Act)]
    [InlineData(Resume, Running, 5, Commit)]
    [InlineData(Resume, Stopped, 5, Abort)]
    // stop: running at 5 → act; stopped at 6 → commit; stopped at 5 (powered itself off meanwhile) → abort
    [InlineData(Stop, Running, 5, Act)]
    [InlineData(Stop, Stopped, 6, Commit)]
    [InlineData(Stop, Stopped, 5, Abort)]
    [InlineData(Stop, Suspended, 6, Abort)]
    [InlineData(Stop, Absent, 0, Abort)]
    // suspend: running at 5 → act; suspended at 6 → commit
    [InlineData(Suspend, Running, 5, Act)]
    [InlineData(Suspend, Suspended, 6, Commit)]
    [InlineData(Suspend, Stopped, 5, Abort)]
    // delete: present at rest → act; absent → commit; running (someone started it?) → abort
    [InlineData(Delete, Stopped, 5, Act)]
    [InlineData(Delete, Suspended, 5, Act)]
    [InlineData(Delete, Absent, 0, Commit)]
    [InlineData(Delete, Running, 5, Abort)]
    [InlineData(Delete, Stopped, 7, Abort)]
    // evict: anything present, at any version → act; absent → commit
    [InlineData(Evict, Running, 5, Act)]
    [InlineData(Evict, Stopped, 7, Act)]
    [InlineData(Evict, Suspended, 4, Act)]
    [InlineData(Evict, Absent, 0, Commit)]
    public void Decide_WhatTheAgentHolds_GivesTheStep(IntentAction action, HostState state, long version, IntentStep expected) =>
        Assert.Equal(expected, IntentPlan.Decide(Open(action), HostView.Holds(state, version)));

    [Theory]
    [InlineData(Store)]
    [InlineData(Start)]
    [InlineData(Resume)]
    [InlineData(Stop)]
    [InlineData(Suspend)]
    [InlineData(Delete)]
    public void Decide_AgentUnreachable_Waits(IntentAction action)
    {
        Assert.Equal(Wait, IntentPlan.Decide(Open(action), HostView.Unreachable));
        Assert.Equal(Wait, IntentPlan.Decide(Open(action, undoing: action is Store or Start or Resume), HostView.Unreachable));
    }

    [Fact]
    public void Decide_EvictionFromAHostThatIsDown_Commits_FromOneSlowToAnswer_Waits()
    {
        // The provider deletes a dead host: its machines leave it (their disks are lost with it) rather than wait forever.
        Assert.Equal(Commit, IntentPlan.Decide(Open(Evict), HostView.Down));
        // A host that answers its monitor but not this call (a graceful stop outlasting it) still holds the machine.
        Assert.Equal(Wait, IntentPlan.Decide(Open(Evict), HostView.Unreachable));
    }

    [Theory]
    // Undoing: the action's result is taken back until the agent is where it was, then the intent closes.
    [InlineData(Store, Stopped, 6, Undo)]
    [InlineData(Store, Absent, 0, Abort)]
    [InlineData(Start, Running, 5, Undo)]
    [InlineData(Start, Stopped, 5, Abort)]
    [InlineData(Resume, Running, 5, Undo)]
    [InlineData(Resume, Suspended, 5, Abort)]
    // something else entirely: close, the host monitor records the truth
    [InlineData(Start, Suspended, 5, Abort)]
    public void Decide_Undoing_TakesTheActionBack(IntentAction action, HostState state, long version, IntentStep expected) =>
        Assert.Equal(expected, IntentPlan.Decide(Open(action, undoing: true), HostView.Holds(state, version)));

    [Fact]
    public void Decide_NeverCommitsWhileUndoing()
    {
        foreach (var action in Enum.GetValues<IntentAction>().Where(IntentPlan.CanUndo))
            foreach (var state in Enum.GetValues<HostState>())
                foreach (var version in new long[] { 4, 5, 6, 7 })
                    Assert.NotEqual(Commit, IntentPlan.Decide(Open(action, undoing: true), HostView.Holds(state, version)));
    }

    [Fact]
    public void Decide_CommitsOnlyAtTheTarget()
    {
        // The invariant the simulation relies on: the front-end commits only what the agent holds.
        foreach (var action in Enum.GetValues<IntentAction>())
            foreach (var state in Enum.GetValues<HostState>())
                foreach (var version in new long[] { 4, 5, 6, 7 })
                {
                    var intent = Open(action);
                    if (IntentPlan.Decide(intent, HostView.Holds(state, version)) != Commit) continue;
                    Assert.Equal(IntentPlan.Target(action), state);
                    if (state != Absent) Assert.Equal(intent.ToVersion, version);
                }
    }

    [Fact]
    public void CanUndo_OnlyTheActionsWhoseCommitMayBeRefused() =>
        Assert.Equal([Store, Start, Resume], Enum.GetValues<IntentAction>().Where(IntentPlan.CanUndo));
}
