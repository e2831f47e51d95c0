using Virtuoso.Agent.Seed;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Tests.Seed;

public class SeedContentsTests
{
    private static readonly Guid Id = Guid.Parse("6f1b0a2e-6a55-4c4e-9d7a-1d2b3c4d5e6f");

    [Fact]
    public void MetaData_IsTheNoCloudInstanceIdAndHostname()
    {
        Assert.Equal("instance-id: \"6f1b0a2e-6a55-4c4e-9d7a-1d2b3c4d5e6f\"\nlocal-hostname: \"web-1\"\n",
            SeedContents.MetaData(Id, new GuestMetadata("web-1", [])));
    }

    [Fact]
    public void UserData_IsCloudConfigWithOneQuotedItemPerKey()
    {
        var keys = new[] { "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK me@laptop", "ssh-rsa AAAAB3NzaC1yc2E= " };

        Assert.Equal(
            "#cloud-config\nssh_authorized_keys:\n  - \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK me@laptop\"\n  - \"ssh-rsa AAAAB3NzaC1yc2E= \"\n",
            SeedContents.UserData(new GuestMetadata("h", keys)));
    }

    [Fact]
    public void NetworkConfig_IsVersion2_TheUserNicByDhcp_ThePrivateNicWithItsAddressAndMtu_BothByMac()
    {
        Assert.Equal(
            "version: 2\nethernets:\n" +
            "  nat:\n    match:\n      macaddress: \"06:6f:1b:0a:2e:6a\"\n    dhcp4: true\n" +
            "  private:\n    match:\n      macaddress: \"02:6f:1b:0a:2e:6a\"\n    addresses: [\"10.128.0.5/24\"]\n    mtu: 1450\n",
            SeedContents.NetworkConfig("02:6f:1b:0a:2e:6a", new PrivateNetwork(42, "10.128.0.5", 24, [])));
        Assert.Null(SeedContents.NetworkConfig("02:6f:1b:0a:2e:6a", null));
    }

    [Fact]
    public void UserData_WithoutKeys_IsAnEmptyList()
    {
        Assert.Equal("#cloud-config\nssh_authorized_keys: []\n", SeedContents.UserData(new GuestMetadata("h", [])));
    }

    [Fact]
    public void Default_IsTheMachineIdAsHostnameAndNoKeys()
    {
        var metadata = SeedContents.Default(Id);

        Assert.Equal(("6f1b0a2e-6a55-4c4e-9d7a-1d2b3c4d5e6f", 0), (metadata.Hostname, metadata.SshKeys.Count));
    }

    [Fact]
    public void Quote_AHostileComment_CannotEndTheScalarNorAddYaml()
    {
        // A comment that tries to close the quote, start a new item and a new top-level key.
        var key = "ssh-ed25519 AAAA x\" \n  - \"ssh-ed25519 EVIL\"\nruncmd: [\"rm -rf /\"] \\";

        var quoted = SeedContents.Quote(key);

        Assert.Equal("\"ssh-ed25519 AAAA x\\\" \\u000A  - \\\"ssh-ed25519 EVIL\\\"\\u000Aruncmd: [\\\"rm -rf /\\\"] \\\\\"", quoted);
        Assert.DoesNotContain('\n', quoted);
        // The only unescaped quotes are the first and the last character.
        Assert.Equal(2, UnescapedQuotes(quoted));
    }

    [Theory]
    [InlineData("a\u2028b", "\"a\\u2028b\"")] // YAML 1.1 reads a line separator as a line break
    [InlineData("a\u0085b", "\"a\\u0085b\"")] // next line (NEL), likewise
    [InlineData("a\u200Eb", "\"a\\u200Eb\"")] // an invisible format character
    [InlineData("a\tb", "\"a\\u0009b\"")]
    [InlineData("true", "\"true\"")] // a string, not a boolean
    [InlineData("me@café 😀", "\"me@café 😀\"")] // printable text stays as it is
    public void Quote_EscapesWhatIsNotPrintable(string value, string expected)
    {
        Assert.Equal(expected, SeedContents.Quote(value));
    }

    private static int UnescapedQuotes(string text)
    {
        var n = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\')
                i++;
            else if (text[i] == '"')
                n++;
        }
        return n;
    }
}
