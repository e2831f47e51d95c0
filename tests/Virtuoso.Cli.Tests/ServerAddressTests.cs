namespace Virtuoso.Cli.Tests;

public sealed class ServerAddressTests
{
    [Theory]
    [InlineData("http://127.0.0.1:5080", "http://127.0.0.1:5080/")]
    [InlineData("http://127.0.0.1:5080/", "http://127.0.0.1:5080/")]
    [InlineData("https://market.example/virtuoso", "https://market.example/virtuoso/")]
    public void Parse_EndsThePathWithASlash(string text, string expected)
    {
        Assert.False(ServerAddress.Parse(text).Failed(out _, out var uri));
        Assert.Equal(expected, uri.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("localhost:5080")]
    [InlineData("file:///tmp/x")]
    [InlineData("http://h/?q=1")]
    public void Parse_RefusesWhatIsNotAnHttpBase(string text)
    {
        Assert.True(ServerAddress.Parse(text).Failed(out var failure, out _));
        Assert.Equal(ExitCode.Usage, failure.Exit);
    }

    [Fact]
    public void Display_DropsTheTrailingSlash()
    {
        Assert.Equal("http://127.0.0.1:5080", ServerAddress.Display(new Uri("http://127.0.0.1:5080/")));
    }
}
