using Virtuoso.Agent.Health;

namespace Virtuoso.Agent.Tests.Health;

public sealed class BogomipsTests
{
    // Two processors of an x86_64 host as /proc/cpuinfo prints them (abridged), tabs and all.
    private const string TwoCores = """
        processor	: 0
        vendor_id	: GenuineIntel
        model name	: Intel(R) Xeon(R) CPU @ 2.20GHz
        cpu MHz		: 2199.998
        flags		: fpu vme de pse tsc msr pae mce cx8
        bogomips	: 4399.99
        clflush size	: 64

        processor	: 1
        vendor_id	: GenuineIntel
        model name	: Intel(R) Xeon(R) CPU @ 2.20GHz
        bogomips	: 4400.01
        clflush size	: 64

        """;

    [Fact]
    public void Parse_SumsTheBogomipsLinesOfEveryCore() => Assert.Equal(8800, Bogomips.Parse(TwoCores, cores: 2));

    [Fact]
    public void Parse_FewerCoresThanListed_SumsOnlyThatMany_RoundedDown() => Assert.Equal(4399, Bogomips.Parse(TwoCores, cores: 1));

    [Fact]
    public void Parse_MoreCoresThanListed_SumsWhatIsThere() => Assert.Equal(8800, Bogomips.Parse(TwoCores, cores: 8));

    [Fact]
    public void Parse_Arm64UpperCaseBogoMIPS_IsRead() => Assert.Equal(100, Bogomips.Parse("processor\t: 0\nBogoMIPS\t: 50.00\n\nprocessor\t: 1\nBogoMIPS\t: 50.00\n", 2));

    [Theory]
    [InlineData("processor\t: 0\nmodel name\t: something\n")]
    [InlineData("bogomips\t: fast\n")]
    [InlineData("bogomips\t: -1\n")]
    [InlineData("")]
    public void Parse_NoUsableFigure_IsNull(string text) => Assert.Null(Bogomips.Parse(text, 1));

    [Fact]
    public void Measure_UnreadableFile_IsNull() => Assert.Null(Bogomips.Measure(1, "/nonexistent/cpuinfo"));

    [Fact]
    public void Measure_ThisHost_AgreesWithItsOwnCpuinfo() =>
        Assert.Equal(Bogomips.Parse(File.ReadAllText(Bogomips.CpuInfoPath), Environment.ProcessorCount), Bogomips.Measure(Environment.ProcessorCount));
}
