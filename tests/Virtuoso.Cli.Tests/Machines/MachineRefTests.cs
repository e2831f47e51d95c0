using Virtuoso.Cli.Machines;
using Virtuoso.Cli.Tests.Support;

namespace Virtuoso.Cli.Tests.Machines;

public sealed class MachineRefTests
{
    private static readonly Guid Twin = Guid.Parse("3f2a1b4c-0000-4000-8000-000000000001");

    private static readonly IReadOnlyList<Contracts.Api.MachineResponse> Machines =
    [
        Samples.Machine(Samples.WebId, "web-1"),
        Samples.Machine(Samples.DbId, "db"),
        Samples.Machine(Twin, "twin"),
        Samples.Machine(Guid.Parse("aaaaaaaa-0000-4000-8000-000000000002"), "dup"),
        Samples.Machine(Guid.Parse("bbbbbbbb-0000-4000-8000-000000000003"), "dup"),
    ];

    [Theory]
    [InlineData("db")]
    [InlineData("7c1d2e3f")]
    [InlineData("7C1D2E3F-4A5B")]
    [InlineData("7c1d2e3f4a5b4c6d")]
    public void UniqueNameOrPrefix_PicksTheMachine(string reference)
    {
        Assert.False(MachineRef.Pick(Machines, reference).Failed(out _, out var id));
        Assert.Equal(Samples.DbId, id);
    }

    [Fact]
    public void SharedPrefix_IsAmbiguous_AndListsTheCandidates()
    {
        Assert.True(MachineRef.Pick(Machines, "3f2a1b4c").Failed(out var failure, out _));
        Assert.Equal((ExitCode.Usage, "ambiguous"), (failure.Exit, failure.Code));
        Assert.Contains(Samples.WebId.ToString(), failure.Message);
        Assert.Contains(Twin.ToString(), failure.Message);
    }

    [Fact]
    public void LongerPrefix_Disambiguates()
    {
        Assert.False(MachineRef.Pick(Machines, "3f2a1b4c-9d").Failed(out _, out var id));
        Assert.Equal(Samples.WebId, id);
    }

    [Fact]
    public void SharedName_IsAmbiguous()
    {
        Assert.True(MachineRef.Pick(Machines, "dup").Failed(out var failure, out _));
        Assert.Equal("ambiguous", failure.Code);
    }

    [Fact]
    public void NameOfOneAndPrefixOfAnother_IsAmbiguous()
    {
        IReadOnlyList<Contracts.Api.MachineResponse> machines = [Samples.Machine(Samples.WebId, "7c1d2e3f"), Samples.Machine(Samples.DbId, "db")];
        Assert.True(MachineRef.Pick(machines, "7c1d2e3f").Failed(out var failure, out _));
        Assert.Equal("ambiguous", failure.Code);
    }

    [Fact]
    public void ShortPrefix_IsNotAnId_AndTheMessageSaysHowLongOneMustBe()
    {
        Assert.True(MachineRef.Pick(Machines, "7c1d2e").Failed(out var failure, out _));
        Assert.Equal((ExitCode.Refused, "not-found"), (failure.Exit, failure.Code));
        Assert.Contains("at least 8 hex digits", failure.Message);
    }

    [Fact]
    public void Unknown_IsNotFound()
    {
        Assert.True(MachineRef.Pick(Machines, "nope").Failed(out var failure, out _));
        Assert.Equal("not-found", failure.Code);
        Assert.DoesNotContain("hex digits", failure.Message);
    }
}
