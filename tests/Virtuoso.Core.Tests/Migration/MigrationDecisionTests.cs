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

    [Fact]
    public void RespFail_Reverts_EvenIfTheDestinationLooksPending()
    {
        var step = Open((false, V), false, Pending, V + 1);
        Assert.Equal(Revert, step.Next);
        Assert.Contains("RESP FAIL", step.Reason);
    }

    [Theory]
    [InlineData(V)]
    [InlineData(V + 2)]
    public void RespSuccessAtAnotherVersion_Reverts(long version) =>
        Assert.Equal(Revert, Open((true, version), false, Pending, V + 1).Next);

    [Theory]
    [InlineData(Copying)]
    [InlineData(Verifying)]
    [InlineData(Expected)]
    [InlineData(Missing)]
    [InlineData(Failed)]
    public void RespSuccessTheDestinationDoesNotConfirm_Reverts(DestinationReport destination)
    {
        var step = Open((true, V + 1), false, destination);
        Assert.Equal(Revert, step.Next);
        Assert.Contains("reported success", step.Reason);
    }

    [Fact]
    public void RespSuccess_DestinationUnreachable_Reverts() =>
        Assert.Equal(Revert, Open((true, V + 1), false, Unknown).Next);

    [Fact]
    public void RespSuccess_DestinationPendingAtTheWrongVersion_Reverts() =>
        Assert.Equal(Revert, Open((true, V + 1), false, Pending, V).Next);

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
