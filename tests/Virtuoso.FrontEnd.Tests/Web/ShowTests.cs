using Virtuoso.FrontEnd.Web;

namespace Virtuoso.FrontEnd.Tests.Web;

/// <summary>How the pages say how long ago something was (issue 18: "last seen 3 min ago").</summary>
public sealed class ShowTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 9, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(0, "just now")]
    [InlineData(59, "just now")]
    [InlineData(60, "1 min ago")]
    [InlineData(179, "2 min ago")]
    [InlineData(3599, "59 min ago")]
    [InlineData(3600, "1 h ago")]
    [InlineData(47 * 3600, "47 h ago")]
    [InlineData(48 * 3600, "2 days ago")]
    public void Ago_SaysTheLargestWholeUnit(int secondsAgo, string said) => Assert.Equal(said, Show.Ago(Now.AddSeconds(-secondsAgo), Now));
}
