using Virtuoso.Cli.Output;

namespace Virtuoso.Cli.Tests.Output;

public sealed class TableTests
{
    [Fact]
    public void Columns_AreAligned_AndLinesHaveNoTrailingSpaces()
    {
        var output = new StringWriter();
        new Table("NAME", "STATE", "ACTIONS").Add("web-1", "running", "stop").Add("a-longer-name", "", "").WriteTo(output);

        Assert.Equal(
            "NAME           STATE    ACTIONS\n" +
            "web-1          running  stop\n" +
            "a-longer-name\n",
            output.ToString());
    }

    [Fact]
    public void MultiLineCells_StayOnOneLine()
    {
        var output = new StringWriter();
        new Table("A", "B").Add("x\ny", "z").WriteTo(output);
        Assert.Equal("A    B\nx y  z\n", output.ToString());
    }

    [Fact]
    public void WrongNumberOfCells_IsABug()
    {
        Assert.Throws<ArgumentException>(() => new Table("A", "B").Add("only one"));
    }

    [Fact]
    public void Fields_AlignValues_AndSkipEmptyOnes()
    {
        var output = new StringWriter();
        Fields.Write(output, ("id", "1"), ("missing", null), ("balance", "$3"));
        Assert.Equal("id:       1\nbalance:  $3\n", output.ToString());
    }
}
