using System.Security.Cryptography;
using System.Text;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.Contracts.Tests.Vmmp;

/// <summary>Issue 20: the AUTH line beside VMMP's grammar proves one line under one key, and nothing else.</summary>
public sealed class VmmpAuthTests
{
    private const string Key = "host-secret-0123456789";
    private static readonly Guid Id = Guid.Parse("0b5c3a52-64d4-4f7c-9d0e-5b6f2c1a9e77");

    [Fact]
    public void Encode_WritesAnAuthLineThenTheMessage_AndTheProofIsHmacSha256OverTheDomainAndTheLine()
    {
        var text = Encoding.ASCII.GetString(VmmpAuth.Encode(Key, new VmmpHeartbeat(Id)));

        var lines = text.Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Equal("", lines[2]);
        Assert.Equal($"<VMMP 1.0 HEARTBEAT {Id}>", lines[1]);
        // Written out independently of VmmpAuth, as another implementation would.
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Key), Encoding.ASCII.GetBytes("VMMP-AUTH\n" + lines[1])));
        Assert.Equal("AUTH " + expected, lines[0]);
        Assert.True(VmmpAuth.Verify(Key, lines[1], VmmpAuth.ParseProof(lines[0])!));
    }

    [Fact]
    public void Proof_DoesNotProveAnotherLine_NorUnderAnotherKey()
    {
        var line = VmmpWire.Format(new VmmpResp(Id, 8, true));
        var proof = VmmpAuth.Proof(Key, line);

        Assert.False(VmmpAuth.Verify(Key, VmmpWire.Format(new VmmpResp(Id, 8, false)), proof));
        Assert.False(VmmpAuth.Verify(Key, VmmpWire.Format(new VmmpResp(Guid.NewGuid(), 8, true)), proof));
        Assert.False(VmmpAuth.Verify("another-key", line, proof));
        Assert.False(VmmpAuth.Verify("", line, proof));
        Assert.True(VmmpAuth.Verify(Key, line + "\r", proof)); // the line as read, "\r\n" tolerated
    }

    [Theory]
    [InlineData("AUTH")]
    [InlineData("AUTH ")]
    [InlineData("AUTH 00")]
    [InlineData("AUTH zz00000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("AUTH 0000000000000000000000000000000000000000000000000000000000000000 extra")]
    [InlineData("auth 0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("<VMMP 1.0 HEARTBEAT 0b5c3a52-64d4-4f7c-9d0e-5b6f2c1a9e77>")]
    public void ParseProof_OfAnythingButAuthAnd64HexDigits_IsNull(string line)
    {
        Assert.Null(VmmpAuth.ParseProof(line));
    }

    [Fact]
    public void AnAuthLine_IsNotAVmmpMessage()
    {
        Assert.Null(VmmpWire.Parse(VmmpAuth.Line(Key, VmmpWire.Format(new VmmpQuery(Id)))).Message);
    }
}
