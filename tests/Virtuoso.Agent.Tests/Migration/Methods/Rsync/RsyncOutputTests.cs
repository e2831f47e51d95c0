using System.Text;
using Virtuoso.Agent.Migration.Methods.Rsync;

namespace Virtuoso.Agent.Tests.Migration.Methods.Rsync;

public sealed class RsyncOutputTests
{
    [Theory]
    [InlineData("      1048576   4%  166.67MB/s    0:00:00 (xfr#1, to-chk=0/2)", 1048576L)]
    [InlineData("     12,345,678  45%   12.34MB/s    0:00:01 (xfr#1, to-chk=1/3)", 12345678L)]
    [InlineData("              0   0%    0.00kB/s    0:00:00  ", 0L)]
    public void Progress_Progress2Line_GivesTheBytesDone(string line, long bytes) =>
        Assert.Equal(bytes, RsyncOutput.Progress(line));

    [Theory]
    [InlineData("Number of files: 2 (reg: 2)")]
    [InlineData("Total bytes received: 47")]
    [InlineData("")]
    public void Progress_OtherLine_IsNull(string line) => Assert.Null(RsyncOutput.Progress(line));

    [Fact]
    public void Stats_OfARealRun_GivesTheFourCounts()
    {
        var output = """
            Number of files: 1 (reg: 1)
            Number of created files: 0
            Total file size: 20971520 bytes
            Total transferred file size: 20971520 bytes
            Literal data: 265408 bytes
            Matched data: 20706112 bytes
            File list size: 36
            Total bytes sent: 27541
            Total bytes received: 283662

            sent 27541 bytes  received 283662 bytes  622406.00 bytes/sec
            """;

        var stats = RsyncOutput.Stats(output.Split('\n'));

        Assert.Equal(new RsyncStats(265408, 20706112, 283662, 27541), stats);
    }

    [Fact]
    public void Stats_WithThousandsSeparators_AreRead()
    {
        var stats = RsyncOutput.Stats(["Literal data: 1,265,408 bytes", "Matched data: 0 bytes", "Total bytes sent: 1,000", "Total bytes received: 2,000,000"]);
        Assert.Equal(new RsyncStats(1265408, 0, 2000000, 1000), stats);
    }

    [Fact]
    public void Stats_Missing_IsNull() => Assert.Null(RsyncOutput.Stats(["rsync error: auth failed on module machine"]));

    [Fact]
    public async Task Lines_SplitAtCarriageReturnsAndNewlines()
    {
        var lines = new List<string>();
        await foreach (var line in RsyncOutput.LinesAsync(new StringReader("\r  1 0%\r  5 50%\r\nstats: 1\n\nlast")))
            lines.Add(line);

        Assert.Equal(["  1 0%", "  5 50%", "stats: 1", "last"], lines);
    }
}
