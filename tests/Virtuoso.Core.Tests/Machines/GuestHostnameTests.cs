using Virtuoso.Core.Machines;

namespace Virtuoso.Core.Tests.Machines;

public sealed class GuestHostnameTests
{
    private static readonly MachineId Id = MachineId.Parse("0f1e2d3c-0000-4000-8000-000000000001");

    [Theory]
    [InlineData("web-1", "web-1")]
    [InlineData("My Web Server", "my-web-server")]
    [InlineData("  --db__primary.eu--  ", "db-primary-eu")]
    [InlineData("Ünïcode box", "n-code-box")]
    [InlineData("$(reboot)", "reboot")]
    [InlineData("!!!", "vm-0f1e2d3c")]
    [InlineData("", "vm-0f1e2d3c")]
    public void Name_BecomesAnRfc1123Label(string name, string expected) => Assert.Equal(expected, GuestHostname.From(name, Id));

    [Fact]
    public void ALongName_IsCutTo63_WithoutATrailingDash()
    {
        var host = GuestHostname.From(new string('a', 62) + "-bbbb", Id);
        Assert.Equal(new string('a', 62), host);
        Assert.Equal(63, GuestHostname.From(new string('x', 200), Id).Length);
    }
}
