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

    private static string Key(string comment = "me@laptop") => $"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl {comment}";

    private static string? CommandError(GuestMetadata? metadata = null, IReadOnlyList<PortForward>? forwards = null) =>
        MachineValidation.Command(new MachineCommand(1, 1, metadata, forwards)).Error?.Message;

    [Theory]
    [InlineData("web-1", true)]
    [InlineData("a", true)]
    [InlineData("Web01", true)]
    [InlineData("6f1b0a2e-6a55-4c4e-9d7a-1d2b3c4d5e6f", true)]
    [InlineData("", false)]
    [InlineData("-web", false)]
    [InlineData("web-", false)]
    [InlineData("web_1", false)]
    [InlineData("web.example", false)]
    [InlineData("web\"\nruncmd: x", false)]
    [InlineData("caf\u00e9", false)]
    public void Command_MetadataHostname_IsAnRfc1123Label(string hostname, bool valid) =>
        Assert.Equal(valid, CommandError(new GuestMetadata(hostname, [])) is null);

    [Fact]
    public void Command_MetadataHostname_OfMoreThan63Characters_IsRefused()
    {
        Assert.Null(CommandError(new GuestMetadata(new string('a', 63), [])));
        Assert.Contains("RFC 1123", CommandError(new GuestMetadata(new string('a', 64), [])));
    }

    [Theory]
    [InlineData("ssh-ed25519 AAAA me@laptop", true)]
    [InlineData("ssh-ed25519 AAAA me\"@laptop \\ \u00e9 \ud83d\ude00", true)] // quotes, backslashes and an emoji in a comment
    [InlineData("ssh-ed25519 AAAA a\nssh-ed25519 BBBB b", false)]
    [InlineData("ssh-ed25519 AAAA a\r", false)]
    [InlineData("ssh-ed25519 AAAA \u0000", false)]
    [InlineData("ssh-ed25519 AAAA \u2028x", false)]
    [InlineData("ssh-ed25519 AAAA \u202Ex", false)]
    [InlineData("", false)]
    [InlineData("   ", false)]
    public void Command_MetadataKey_IsOneLineWithoutControlCharacters(string key, bool valid) =>
        Assert.Equal(valid, CommandError(new GuestMetadata("web-1", [key])) is null);

    [Fact]
    public void Command_MetadataKey_WithALoneSurrogate_IsRefused() =>
        // Built at run time: an attribute argument cannot hold a lone surrogate.
        Assert.Contains("control or invisible", CommandError(new GuestMetadata("web-1", ["ssh-ed25519 AAAA " + (char)0xD83D + "x"])));

    [Fact]
    public void Command_MetadataKeys_AtMost20And64KiB()
    {
        Assert.Null(CommandError(new GuestMetadata("web-1", Enumerable.Repeat(Key(), 20).ToList())));
        Assert.Contains("at most 20", CommandError(new GuestMetadata("web-1", Enumerable.Repeat(Key(), 21).ToList())));
        Assert.Contains("at most 65536 are allowed", CommandError(new GuestMetadata("web-1", [Key(new string('x', 64 * 1024))])));
    }

    [Fact]
    public void Command_MetadataKeys_Missing_IsRefused() =>
        Assert.Contains("sshKeys is required", CommandError(new GuestMetadata("web-1", null!)));

    [Fact]
    public void Command_Forwards()
    {
        Assert.Null(CommandError(forwards: [new PortForward(40022, 22), new PortForward(40080, 8080)]));
        Assert.Contains("between 1 and 65535", CommandError(forwards: [new PortForward(0, 22)]));
        Assert.Contains("between 1 and 65535", CommandError(forwards: [new PortForward(40022, 65536)]));
        Assert.Contains("host port 40022 is forwarded twice", CommandError(forwards: [new PortForward(40022, 22), new PortForward(40022, 80)]));
        Assert.Contains("guest port 22 is forwarded twice", CommandError(forwards: [new PortForward(40022, 22), new PortForward(40023, 22)]));
        Assert.Contains("at most 6", CommandError(forwards: Enumerable.Range(1, 7).Select(i => new PortForward(40000 + i, i)).ToList()));
    }
}
