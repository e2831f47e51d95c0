using Virtuoso.Cli.Output;

namespace Virtuoso.Cli.Tests.Output;

public sealed class JsonOutputTests
{
    private sealed record Prices(decimal Running, decimal? Storage, decimal? Missing, string Note);

    [Fact]
    public void Decimals_AreNumbers_WithoutTrailingZeros_CamelCase_Unescaped()
    {
        var output = new StringWriter();
        JsonOutput.Write(output, new Prices(2.448000m, 999.62560m, null, "<ok> & 'fine'"));
        Assert.Equal(
            """
            {
              "running": 2.448,
              "storage": 999.6256,
              "missing": null,
              "note": "<ok> & 'fine'"
            }

            """.ReplaceLineEndings("\n"),
            output.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Null_PrintsAnEmptyObject()
    {
        var output = new StringWriter();
        JsonOutput.Write<object?>(output, null);
        Assert.Equal("{}", output.ToString().Trim());
    }
}
