using System.Net;
using Virtuoso.Agent.Migration;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.Agent.Tests.Migration;

/// <summary>The pure decisions of the migration server (design §6.2).</summary>
public sealed class MigrationDecisionsTests
{
    private static readonly Guid Id = Guid.NewGuid();
    private static readonly string[] Methods = ["DEDUP", "SCP"];
    private static readonly IncomingMigration Announced =
        new(7, "SCP", "http://10.0.0.1:7001", "alpha", "0123456789abcdef-token", "52:54:00:12:34:56", 1000, 128, 100, null);
    private static readonly VmmpReq Req = new(Id, 7, IPAddress.Parse("10.0.0.1"), 7001, IPAddress.Parse("10.0.0.9"), 7000, "SCP");
    private static readonly string Sha = new('a', 64);

    [Fact]
    public void WhyRefuse_TheAnnouncedReq_IsAccepted() =>
        Assert.Null(MigrationDecisions.WhyRefuse(Req, Announced, MigrationPhases.Expected, Methods));

    public static TheoryData<VmmpReq, IncomingMigration?, string, string> Refused => new()
    {
        { Req, null, MigrationPhases.Expected, "was announced" },
        { Req, Announced, MigrationPhases.Copying, "is copying" },
        { Req, Announced, MigrationPhases.Pending, "is pending" },
        { Req, Announced, MigrationPhases.Failed, "is failed" },
        { Req with { Version = 8 }, Announced, MigrationPhases.Expected, "version" },
        { Req with { Method = "DEDUP" }, Announced, MigrationPhases.Expected, "method" },
        { Req with { Method = "RSYNC" }, Announced with { Method = "RSYNC" }, MigrationPhases.Expected, "does not support" },
        { Req with { OrigIp = IPAddress.Parse("10.0.0.2") }, Announced, MigrationPhases.Expected, "origin" },
        { Req with { OrigPort = 7002 }, Announced, MigrationPhases.Expected, "origin" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void WhyRefuse_AnythingElse_IsRefusedWithTheReason(VmmpReq req, IncomingMigration? announced, string phase, string reason) =>
        Assert.Contains(reason, MigrationDecisions.WhyRefuse(req, announced, phase, Methods));

    [Theory]
    [InlineData("http://10.0.0.1:7001", "10.0.0.1", 7001, true)]
    [InlineData("http://10.0.0.1:7001/", "10.0.0.1", 7001, true)]
    [InlineData("http://[fd00::1]:7001", "fd00::1", 7001, true)]
    [InlineData("http://10.0.0.1:7001", "10.0.0.1", 7002, false)]
    [InlineData("http://alpha:7001", "10.0.0.1", 7001, false)]
    [InlineData("not a url", "10.0.0.1", 7001, false)]
    public void SameEndpoint_ComparesAddressAndPort(string origin, string ip, int port, bool same) =>
        Assert.Equal(same, MigrationDecisions.SameEndpoint(origin, IPAddress.Parse(ip), port));

    private static ExportManifest Manifest(string state = AgentStates.Suspended, params string[] names) =>
        new(Id, 7, state, null, (names.Length == 0 ? ["disk.qcow2", "state.bin"] : names).Select(n => new ExportFile(n, 10, Sha)).ToList());

    [Fact]
    public void CheckManifest_DiskAndState_IsAccepted()
    {
        Assert.Null(MigrationDecisions.CheckManifest(Manifest(), Id, 7, null));
        Assert.Null(MigrationDecisions.CheckManifest(Manifest(AgentStates.Stopped, "disk.qcow2"), Id, 7, null));
    }

    [Theory]
    [InlineData(AgentStates.Suspended, "../../etc/passwd", "state.bin")]
    [InlineData(AgentStates.Suspended, "disk.qcow2", "machine.json")]
    [InlineData(AgentStates.Suspended, "disk.qcow2", "disk.qcow2")]
    [InlineData(AgentStates.Suspended, "disk.qcow2")]
    [InlineData(AgentStates.Stopped, "disk.qcow2", "state.bin")]
    [InlineData(AgentStates.Running, "disk.qcow2")]
    [InlineData(AgentStates.Stopped, "state.bin")]
    public void CheckManifest_UnknownNamesOrStates_AreRefused(string state, params string[] names) =>
        Assert.NotNull(MigrationDecisions.CheckManifest(Manifest(state, names), Id, 7, null));

    [Fact]
    public void CheckManifest_OtherMachineVersionImageOrBadHash_IsRefused()
    {
        Assert.NotNull(MigrationDecisions.CheckManifest(null, Id, 7, null));
        Assert.NotNull(MigrationDecisions.CheckManifest(Manifest() with { Id = Guid.NewGuid() }, Id, 7, null));
        Assert.NotNull(MigrationDecisions.CheckManifest(Manifest(), Id, 8, null));
        Assert.NotNull(MigrationDecisions.CheckManifest(Manifest() with { Image = "linux-busybox" }, Id, 7, null));
        Assert.NotNull(MigrationDecisions.CheckManifest(Manifest() with { Files = [new("disk.qcow2", 1, "ABC"), new("state.bin", 1, Sha)] }, Id, 7, null));
        Assert.NotNull(MigrationDecisions.CheckManifest(Manifest() with { Files = [new("disk.qcow2", -1, Sha), new("state.bin", 1, Sha)] }, Id, 7, null));
    }

    [Theory]
    [InlineData(MigrationPhases.Expected, MigrationPhases.Expected)]
    [InlineData(MigrationPhases.Copying, MigrationPhases.Failed)]
    [InlineData(MigrationPhases.Verifying, MigrationPhases.Failed)]
    [InlineData(MigrationPhases.Pending, MigrationPhases.Pending)]
    [InlineData(MigrationPhases.Active, MigrationPhases.Active)]
    [InlineData(MigrationPhases.Failed, MigrationPhases.Failed)]
    public void PhaseAfterRestart_KeepsPendingAndFailsCopies(string before, string after) =>
        Assert.Equal(after, MigrationDecisions.PhaseAfterRestart(before));

    [Theory]
    [InlineData(MigrationPhases.Pending, 7, 8, null)]
    [InlineData(MigrationPhases.Pending, 7, 9, "must be 8")]
    [InlineData(MigrationPhases.Pending, 7, 7, "must be 8")]
    [InlineData(MigrationPhases.Copying, 7, 8, "not pending")]
    [InlineData(MigrationPhases.Failed, 7, 8, "not pending")]
    public void WhyNotActivate_OnlyPendingAtVersionPlusOne(string phase, long version, long newVersion, string? reason)
    {
        var why = MigrationDecisions.WhyNotActivate(phase, version, newVersion);
        if (reason is null)
            Assert.Null(why);
        else
            Assert.Contains(reason, why);
    }

    [Fact]
    public void FailFor_ALineNamingAMachine_IsRespFail_WithTheBestVersionKnown()
    {
        Assert.Equal(new VmmpResp(Id, 9, false), MigrationDecisions.FailFor($"<VMMP 2.0 REQ {Id} 9 x>", _ => 3));
        Assert.Equal(new VmmpResp(Id, 3, false), MigrationDecisions.FailFor($"<VMMP 2.0 QUERY {Id} METHODS>", _ => 3));
        Assert.Equal(new VmmpResp(Id, 0, false), MigrationDecisions.FailFor($"<VMMP 2.0 QUERY {Id} METHODS>", _ => null));
        Assert.Null(MigrationDecisions.FailFor("garbage", _ => 3));
    }
}
