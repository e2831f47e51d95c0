using Virtuoso.Agent.Network;

namespace Virtuoso.Agent.Tests.Network;

public class NetworkNamesTests
{
    [Fact]
    public void Names_FitInIfnamsiz()
    {
        var tap = NetworkNames.Tap(Guid.Parse("0a1b2c3d-4e5f-4a5b-8c7d-0123456789ab"));

        Assert.Equal("vt-0a1b2c3d4e5f", tap);
        Assert.Equal(15, tap.Length);
        Assert.Equal("vbr-2a", NetworkNames.Bridge(42));
        Assert.Equal("vbr-ffffff", NetworkNames.Bridge(16_777_215));
        Assert.Equal("vx-ffffff", NetworkNames.Vxlan(16_777_215));
    }

    [Theory]
    [InlineData("02:1a:2b:3c:4d:5e", "06:1a:2b:3c:4d:5e")]
    [InlineData("52:54:00:12:34:56", "56:54:00:12:34:56")]
    [InlineData("06:00:00:00:00:01", "06:00:00:00:00:01")]
    public void UserNicMac_SetsBit04OfTheFirstOctet(string mac, string derived)
    {
        Assert.Equal(derived, NetworkNames.UserNicMac(mac));
    }
}
