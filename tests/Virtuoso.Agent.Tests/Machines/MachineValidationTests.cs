using Virtuoso.Agent.Machines;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Tests.Machines;

public class MachineValidationTests
{
    private static readonly Guid Id = Guid.Parse("6f1b0a2e-6a55-4c4e-9d7a-1d2b3c4d5e6f");

    private static CreateMachineRequest Request() => new(Id, "52:54:00:12:34:56", 4000, 256, 1000, "linux-busybox", 1);

    [Fact]
    public void Create_Valid_NormalisesTheMac()
    {
        var valid = MachineValidation.Create(Id, Request() with { Mac = "52:54:00:AB:CD:EF" });

        Assert.Null(valid.Error);
        Assert.Equal(new ValidCreateRequest(Id, "52:54:00:ab:cd:ef", 4000, 256, 1000, "linux-busybox", 1), valid.Value);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(MachineValidation.MaxSpeedBogomips, MachineValidation.MaxMemoryMb, MachineValidation.MaxDiskMb)]
    public void Create_SizesAtTheLimits_AreAccepted(long speed, long memory, long disk) =>
        Assert.Null(MachineValidation.Create(Id, Request() with { SpeedBogomips = speed, MemoryMb = memory, DiskMb = disk }).Error);

    [Fact]
    public void Create_SeveralProblems_AreAllNamed()
    {
        var error = MachineValidation.Create(Id, Request() with { Mac = "x", MemoryMb = 0, DiskMb = MachineValidation.MaxDiskMb + 1 }).Error;

        Assert.NotNull(error);
        Assert.Contains("MAC", error.Message);
        Assert.Contains("memoryMb", error.Message);
        Assert.Contains("diskMb", error.Message);
    }

    [Theory]
    [InlineData("linux-busybox", true)]
    [InlineData("debian-12.5_min", true)]
    [InlineData("a", true)]
    [InlineData("", false)]
    [InlineData("..", false)]
    [InlineData("a..b", false)]
    [InlineData(".hidden", false)]
    [InlineData("-flag", false)]
    [InlineData("a/b", false)]
    [InlineData("Linux", false)]
    [InlineData("linux\n", false)]
    [InlineData("linux busybox", false)]
    public void IsImageName(string name, bool valid) => Assert.Equal(valid, MachineValidation.IsImageName(name));

    [Theory]
    [InlineData("52:54:00:12:34:56", true)]
    [InlineData("02:00:00:00:00:01", true)]
    [InlineData("52-54-00-12-34-56", false)]
    [InlineData("525400123456", false)]
    [InlineData("52:54:00:12:34:5g", false)]
    [InlineData("03:00:00:00:00:01", false)]
    [InlineData("ff:ff:ff:ff:ff:ff", false)]
    [InlineData("00:00:00:00:00:00", false)]
    [InlineData("52:54:00:12:34:56 ", false)]
    public void Create_Mac(string mac, bool valid) =>
        Assert.Equal(valid, MachineValidation.Create(Id, Request() with { Mac = mac }).Error is null);

    [Theory]
    [InlineData("6f1b0a2e-6a55-4c4e-9d7a-1d2b3c4d5e6f", true)]
    [InlineData("6F1B0A2E-6A55-4C4E-9D7A-1D2B3C4D5E6F", true)]
    [InlineData("00000000-0000-0000-0000-000000000000", false)]
    [InlineData("not-a-guid", false)]
    [InlineData("../etc", false)]
    public void ParseId(string text, bool valid) => Assert.Equal(valid, MachineValidation.ParseId(text).Error is null);

    [Theory]
    [InlineData(1, 1, true)]
    [InlineData(1, 2, true)]
    [InlineData(0, 0, true)]
    [InlineData(2, 1, false)]
    [InlineData(-1, 0, false)]
    public void Command_Versions(long expected, long next, bool valid) =>
        Assert.Equal(valid, MachineValidation.Command(new MachineCommand(expected, next)).Error is null);
}
