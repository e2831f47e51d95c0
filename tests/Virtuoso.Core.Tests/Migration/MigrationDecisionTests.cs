using Virtuoso.Core.Migration;
using static Virtuoso.Core.Migration.DestinationReport;
using static Virtuoso.Core.Migration.MigrationNext;

namespace Virtuoso.Core.Tests.Migration;

/// <summary>Every row of the migration decision (design §6.2): given the record and what the agents report, what next.</summary>
public sealed class MigrationDecisionTests
{
    private const long V = 7;

    private static MigrationStep Open((bool, long)? resp, bool overdue, DestinationReport destination, long? newVersion = null) =>
        MigrationDecision.Decide(new MigrationFacts(MigrationPhase.Open, V, resp, overdue, destination, newVersion));

    [Theory]
    [InlineData(MigrationPhase.Done)]
    [InlineData(MigrationPhase.Reverted)]
    public void Finished_DoesNothing(MigrationPhase phase) =>
        Assert.Equal(None, MigrationDecision.Decide(new MigrationFacts(phase, V, (false, V), true, Failed, null)).Next);

    [Fact]
    public void Committed_FinishesWhateverTheDestinationSays() =>
        Assert.Equal(Finish, MigrationDecision.Decide(new MigrationFacts(MigrationPhase.Committed, V, null, true, Unknown, null)).Next);

    [Fact]
    public void RespSuccessAtVersionPlusOne_ConfirmedPending_Commits() =>
        Assert.Equal(Commit, Open((true, V + 1), false, Pending, V + 1).Next);

    [Fact]
    public void RespSuccess_ConfirmedActive_Commits() =>
        Assert.Equal(Commit, Open((true, V + 1), false, Active, V + 1).Next);

    [Fact]
    public void RespFail_TellsTheOwnerTheDestinationsReason()
    {
        var step = MigrationDecision.Decide(new MigrationFacts(MigrationPhase.Open, V, (false, V), false, Failed, null,
            "this host has 3000000 bytes free under /data/incoming, the machine needs 75000000"));
        Assert.Equal(Revert, step.Next);
        Assert.EndsWith(": this host has 3000000 bytes free under /data/incoming, the machine needs 75000000", step.Reason);
    }

    // A RESP FAIL is believed only when the destination's API does not say the copy is still going or held pending.

    [Theory]
    [InlineData(Failed)]
    [InlineData(Missing)]
    [InlineData(Unknown)]
    public void RespFail_DestinationFailedMissingOrSilent_Reverts(DestinationReport destination)
    {
        var step = Open((false, V), false, destination);
        Assert.Equal((Revert, false), (step.Next, step.IgnoreResp));
        Assert.Contains("RESP FAIL", step.Reason);
    }

    [Fact]
    public void RespFail_DestinationPendingAtTheWrongVersion_Reverts()
    {
        var step = Open((false, V), false, Pending, V + 3);
        Assert.Equal((Revert, false), (step.Next, step.IgnoreResp));
    }

    [Theory]
    [InlineData(Expected)]
    [InlineData(Copying)]
    [InlineData(Verifying)]
    public void RespFail_DestinationStillCopying_IsIgnoredAndForgotten_Waits(DestinationReport destination)
    {
        var step = Open((false, V), false, destination);
        Assert.Equal((Wait, true, null), (step.Next, step.IgnoreResp, step.Reason));
    }

    [Theory]
    [InlineData(Pending)]
    [InlineData(Active)]
    public void RespFail_DestinationHoldsTheCopyAtVersionPlusOne_IsIgnoredAndForgotten_Waits(DestinationReport destination)
    {
        var step = Open((false, V), false, destination, V + 1);
        Assert.Equal((Wait, true), (step.Next, step.IgnoreResp));
    }

    [Fact]
    public void RespFail_DestinationPendingAtVersionPlusOne_HeartbeatsStopped_IgnoresTheRespAndCommits()
    {
        var step = Open((false, V), true, Pending, V + 1);
        Assert.Equal((Commit, true), (step.Next, step.IgnoreResp));
    }

    [Fact]
    public void RespFail_DestinationStillCopying_HeartbeatsStopped_IgnoresTheRespAndRevertsForTheSilence()
    {
        var step = Open((false, V), true, Copying);
        Assert.Equal((Revert, true), (step.Next, step.IgnoreResp));
        Assert.Contains("heartbeat", step.Reason);
        Assert.DoesNotContain("RESP", step.Reason);
    }

    // A RESP SUCCESS is believed only with the destination pending at VERSION + 1; one it contradicts while it still
    // copies (an early one) is ignored, one it does not confirm otherwise reverts.

    [Theory]
    [InlineData(V)]
    [InlineData(V + 2)]
    public void RespSuccessAtAnotherVersion_DestinationHoldsTheCopyAtVersionPlusOne_IsIgnoredAndWaits(long version)
    {
        var step = Open((true, version), false, Pending, V + 1);
        Assert.Equal((Wait, true), (step.Next, step.IgnoreResp));
    }

    [Theory]
    [InlineData(V)]
    [InlineData(V + 2)]
    public void RespSuccessAtAnotherVersion_DestinationFailedOrSilent_Reverts(long version)
    {
        foreach (var destination in new[] { Failed, Missing, Unknown })
        {
            var step = Open((true, version), false, destination);
            Assert.Equal((Revert, false), (step.Next, step.IgnoreResp));
            Assert.Contains($"at version {version}, not {V + 1}", step.Reason);
        }
    }

    [Theory]
    [InlineData(Expected)]
    [InlineData(Copying)]
    [InlineData(Verifying)]
    public void EarlyRespSuccess_DestinationStillCopying_IsIgnoredAndForgotten_Waits(DestinationReport destination)
    {
        foreach (var version in new[] { V + 1, V, V + 5 })
        {
            var step = Open((true, version), false, destination);
            Assert.Equal((Wait, true), (step.Next, step.IgnoreResp));
        }
    }

    [Theory]
    [InlineData(Missing)]
    [InlineData(Failed)]
    public void RespSuccessTheDestinationDoesNotConfirm_Reverts(DestinationReport destination)
    {
        var step = Open((true, V + 1), false, destination);
        Assert.Equal((Revert, false), (step.Next, step.IgnoreResp));
        Assert.Contains("reported success", step.Reason);
    }

    [Fact]
    public void RespSuccess_DestinationUnreachable_Reverts() =>
        Assert.Equal(Revert, Open((true, V + 1), false, Unknown).Next);

    [Fact]
    public void RespSuccess_DestinationPendingAtTheWrongVersion_Reverts() =>
        Assert.Equal(Revert, Open((true, V + 1), false, Pending, V).Next);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BelievedResp_IsNotForgotten(bool overdue)
    {
        Assert.False(Open((true, V + 1), overdue, Pending, V + 1).IgnoreResp);
        Assert.False(Open(null, overdue, Copying).IgnoreResp);
    }

    [Fact]
    public void NoResp_HeartbeatsStopped_DestinationPendingAtVersionPlusOne_Commits() =>
        Assert.Equal(Commit, Open(null, true, Pending, V + 1).Next);

    [Fact]
    public void NoResp_HeartbeatsStopped_DestinationPendingAtTheWrongVersion_Reverts() =>
        Assert.Equal(Revert, Open(null, true, Pending, V + 3).Next);

    [Fact]
    public void NoResp_HeartbeatsGoing_DestinationPending_Waits() =>
        Assert.Equal(Wait, Open(null, false, Pending, V + 1).Next);

    [Theory]
    [InlineData(Expected)]
    [InlineData(Copying)]
    [InlineData(Verifying)]
    [InlineData(Unknown)]
    [InlineData(Missing)]
    public void NoResp_HeartbeatsGoing_Waits(DestinationReport destination) =>
        Assert.Equal(Wait, Open(null, false, destination).Next);

    [Fact]
    public void NoResp_DestinationFailed_Reverts() =>
        Assert.Equal(Revert, Open(null, false, Failed).Next);

    [Theory]
    [InlineData(Expected)]
    [InlineData(Copying)]
    [InlineData(Verifying)]
    [InlineData(Unknown)]
    public void NoResp_HeartbeatsStopped_NotPending_Reverts(DestinationReport destination)
    {
        var step = Open(null, true, destination);
        Assert.Equal(Revert, step.Next);
        Assert.Contains("heartbeat", step.Reason);
    }

    [Fact]
    public void NoResp_HeartbeatsStopped_DestinationForgotIt_Reverts() =>
        Assert.Contains("no longer knows", Open(null, true, Missing).Reason);
}
