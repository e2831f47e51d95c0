using System.Net;
using System.Text;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.Contracts.Tests.Vmmp;

/// <summary>VMMP 1.0 (design §6.1): every message round-trips; every malformed line is refused with a reason and never throws.</summary>
public sealed class VmmpWireTests
{
    private static readonly Guid Id = Guid.Parse("3f2504e0-4f89-41d3-9a0c-0305e82c3301");

    public static TheoryData<VmmpMessage, string> Messages => new()
    {
        { new VmmpQuery(Id), $"<VMMP 1.0 QUERY {Id} METHODS>" },
        { new VmmpResults(Id, ["DEDUP", "RSYNC", "SCP"]), $"<VMMP 1.0 RESULTS {Id} 3 DEDUP RSYNC SCP>" },
        { new VmmpResults(Id, []), $"<VMMP 1.0 RESULTS {Id} 0>" },
        { new VmmpReq(Id, 7, IPAddress.Parse("10.0.0.1"), 7001, IPAddress.Parse("10.0.0.9"), 7000, "SCP"),
          $"<VMMP 1.0 REQ {Id} 7 10.0.0.1 7001 10.0.0.9 7000 SCP>" },
        { new VmmpReq(Id, 0, IPAddress.Parse("fd00::1"), 1, IPAddress.Parse("::1"), 65535, "DEDUP"),
          $"<VMMP 1.0 REQ {Id} 0 fd00::1 1 ::1 65535 DEDUP>" },
        { new VmmpHeartbeat(Id), $"<VMMP 1.0 HEARTBEAT {Id}>" },
        { new VmmpResp(Id, 8, true), $"<VMMP 1.0 RESP {Id} 8 SUCCESS>" },
        { new VmmpResp(Id, 7, false), $"<VMMP 1.0 RESP {Id} 7 FAIL>" },
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void Format_WritesTheReportsLine(VmmpMessage message, string line) => Assert.Equal(line, VmmpWire.Format(message));

    [Theory]
    [MemberData(nameof(Messages))]
    public void Parse_OfFormat_GivesTheMessageBack(VmmpMessage message, string line)
    {
        var parsed = VmmpWire.Parse(VmmpWire.Format(message));

        Assert.Null(parsed.Error);
        Assert.Equal(message, parsed.Message);
        Assert.Equal(message, VmmpWire.Parse(line + "\r").Message);
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void Encode_IsTheAsciiLineWithANewline(VmmpMessage message, string line) =>
        Assert.Equal(Encoding.ASCII.GetBytes(line + "\n"), VmmpWire.Encode(message));

    [Theory]
    [InlineData("<VMMP 1.0 QUERY {0}>", "QUERY takes")]                                   // missing field
    [InlineData("<VMMP 1.0 HEARTBEAT>", "not a VMMP message")]                             // missing id
    [InlineData("<VMMP 1.0 REQ {0} 7 10.0.0.1 7001 10.0.0.9 7000>", "REQ takes")]          // missing method
    [InlineData("<VMMP 1.0 RESP {0} 7>", "RESP takes")]
    [InlineData("<VMMP 1.0 QUERY {0} METHODS X>", "QUERY takes")]                         // extra field
    [InlineData("<VMMP 1.0 HEARTBEAT {0} 1>", "HEARTBEAT takes")]
    [InlineData("<VMMP 1.0 RESP {0} 7 FAIL NOW>", "RESP takes")]
    [InlineData("<VMMP 1.0 REQ {0} 7 10.0.0.1 7001 10.0.0.9 7000 SCP X>", "REQ takes")]
    [InlineData("<VMMP 1.0 RESULTS {0} 2 SCP>", "announces 2 methods but lists 1")]
    [InlineData("<VMMP 1.0 RESULTS {0} 1 SCP RSYNC>", "announces 1 methods but lists 2")]
    [InlineData("<VMMP 2.0 QUERY {0} METHODS>", "unsupported VMMP version")]                // wrong version
    [InlineData("<VMMP 1 QUERY {0} METHODS>", "unsupported VMMP version")]
    [InlineData("<VMMP 1.0 REQ {0} seven 10.0.0.1 7001 10.0.0.9 7000 SCP>", "not a version")] // non-numeric version
    [InlineData("<VMMP 1.0 REQ {0} -1 10.0.0.1 7001 10.0.0.9 7000 SCP>", "not a version")]
    [InlineData("<VMMP 1.0 REQ {0} +7 10.0.0.1 7001 10.0.0.9 7000 SCP>", "not a version")]
    [InlineData("<VMMP 1.0 RESP {0} 7.0 SUCCESS>", "RESP takes")]
    [InlineData("<VMMP 1.0 RESP {0} 99999999999999999999 SUCCESS>", "RESP takes")]
    [InlineData("<VMMP 1.0 FETCH {0}>", "unknown VMMP message")]                          // unknown message
    [InlineData("<VMMP 1.0 query {0} METHODS>", "unknown VMMP message")]
    [InlineData("<VMMP 1.0 REQ {0} 7 10.0.0.1 7001 10.0.0.9 7000 scp>", "not a method name")] // lower-case method
    [InlineData("<VMMP 1.0 REQ {0} 7 10.0.0.1 7001 10.0.0.9 7000 SC_P>", "not a method name")]
    [InlineData("<VMMP 1.0 REQ {0} 7 10.0.0.1 7001 10.0.0.9 7000 ABCDEFGHIJKLMNOPQ>", "not a method name")]
    [InlineData("<VMMP 1.0 RESULTS {0} 1 scp>", "not a method name")]
    [InlineData("<VMMP  1.0 QUERY {0} METHODS>", "single spaces")]                        // double spaces
    [InlineData("<VMMP 1.0 QUERY {0}  METHODS>", "single spaces")]
    [InlineData("< VMMP 1.0 QUERY {0} METHODS>", "single spaces")]
    [InlineData("<VMMP 1.0 QUERY {0} METHODS >", "single spaces")]
    [InlineData("VMMP 1.0 QUERY {0} METHODS", "<VMMP 1.0 ...>")]                          // no brackets
    [InlineData("<VMMP 1.0 QUERY {0} METHODS", "<VMMP 1.0 ...>")]
    [InlineData("VMMP 1.0 QUERY {0} METHODS>", "<VMMP 1.0 ...>")]
    [InlineData("<VMMP 1.0 REQ {0} 7 10.0.0 7001 10.0.0.9 7000 SCP>", "not an origin address")] // bad IP
    [InlineData("<VMMP 1.0 REQ {0} 7 10.0.0.256 7001 10.0.0.9 7000 SCP>", "not an origin address")]
    [InlineData("<VMMP 1.0 REQ {0} 7 alpha 7001 10.0.0.9 7000 SCP>", "not an origin address")]
    [InlineData("<VMMP 1.0 REQ {0} 7 1 7001 10.0.0.9 7000 SCP>", "not an origin address")]
    [InlineData("<VMMP 1.0 REQ {0} 7 10.0.0.1 0 10.0.0.9 7000 SCP>", "not an origin address")]  // bad port
    [InlineData("<VMMP 1.0 REQ {0} 7 10.0.0.1 65536 10.0.0.9 7000 SCP>", "not an origin address")]
    [InlineData("<VMMP 1.0 REQ {0} 7 10.0.0.1 70x1 10.0.0.9 7000 SCP>", "not an origin address")]
    [InlineData("<VMMP 1.0 REQ {0} 7 10.0.0.1 7001 10.0.0.9 -7000 SCP>", "not a central address")]
    [InlineData("<VMMP 1.0 REQ {0} 7 10.0.0.1 7001 ::g 7000 SCP>", "not a central address")]
    [InlineData("<VMMP 1.0 QUERY 3f2504e0 METHODS>", "not a machine id")]
    [InlineData("<VMMP 1.0 QUERY {{3f2504e0-4f89-41d3-9a0c-0305e82c3301}} METHODS>", "not a machine id")]
    [InlineData("<HTTP 1.0 QUERY {0} METHODS>", "not a VMMP message")]
    [InlineData("", "<VMMP 1.0 ...>")]
    [InlineData("<>", "single spaces")]
    [InlineData("<VMMP 1.0 QUERY {0} METHODS>\t", "not printable ASCII")]
    public void Parse_Malformed_IsRefusedWithAReason(string template, string reason)
    {
        var parsed = VmmpWire.Parse(string.Format(template, Id));

        Assert.Null(parsed.Message);
        Assert.Contains(reason, parsed.Error);
    }

    [Fact]
    public void Parse_OverlongLine_IsRefused()
    {
        var line = $"<VMMP 1.0 RESULTS {Id} 32 " + string.Join(' ', Enumerable.Repeat("ABCDEFGHIJKLMNOP", 32)) + ">";

        var parsed = VmmpWire.Parse(line);

        Assert.True(line.Length > VmmpWire.MaxLineLength);
        Assert.Null(parsed.Message);
        Assert.Contains("longer than", parsed.Error);
    }

    [Theory]
    [InlineData("<VMMP 1.0 QUERY {0} MÉTHODS>")]
    [InlineData("<VMMP 1.0 QUERY {0} METHODS>\u0000")]
    [InlineData("<VMMP 1.0 HEARTBEAT {0}>\u00ff")]
    public void Parse_NonAscii_IsRefused(string template)
    {
        var parsed = VmmpWire.Parse(string.Format(template, Id));

        Assert.Null(parsed.Message);
        Assert.Contains("not printable ASCII", parsed.Error);
    }

    [Fact]
    public void Parse_RandomBytes_NeverThrows()
    {
        var random = new Random(42);
        var valid = VmmpWire.Format(new VmmpReq(Id, 7, IPAddress.Parse("10.0.0.1"), 7001, IPAddress.Parse("10.0.0.9"), 7000, "SCP"));
        for (var i = 0; i < 20_000; i++)
        {
            var chars = valid.ToCharArray();
            for (var j = random.Next(1, 4); j > 0; j--)
                chars[random.Next(chars.Length)] = (char)random.Next(0, 256);
            var parsed = VmmpWire.Parse(new string(chars));
            Assert.True(parsed.Message is not null ^ parsed.Error is not null);
        }
    }

    [Fact]
    public async Task ReadLine_ReadsLinesThenNullAtTheEnd()
    {
        using var stream = new MemoryStream(Encoding.ASCII.GetBytes($"<VMMP 1.0 HEARTBEAT {Id}>\r\n<VMMP 1.0 QUERY {Id} METHODS>\n"));

        Assert.Equal($"<VMMP 1.0 HEARTBEAT {Id}>\r", await VmmpWire.ReadLineAsync(stream, CancellationToken.None));
        Assert.Equal($"<VMMP 1.0 QUERY {Id} METHODS>", await VmmpWire.ReadLineAsync(stream, CancellationToken.None));
        Assert.Null(await VmmpWire.ReadLineAsync(stream, CancellationToken.None));
    }

    [Fact]
    public async Task ReadLine_Overlong_ThrowsInvalidData_WithoutReadingOnForever()
    {
        using var stream = new MemoryStream(Encoding.ASCII.GetBytes(new string('A', 100_000) + "\n"));

        await Assert.ThrowsAsync<InvalidDataException>(() => VmmpWire.ReadLineAsync(stream, CancellationToken.None));
        Assert.True(stream.Position <= VmmpWire.MaxLineLength + 3);
    }

    [Fact]
    public async Task ReadLine_CutOff_ThrowsInvalidData()
    {
        using var stream = new MemoryStream(Encoding.ASCII.GetBytes($"<VMMP 1.0 HEARTBEAT {Id}"));

        await Assert.ThrowsAsync<InvalidDataException>(() => VmmpWire.ReadLineAsync(stream, CancellationToken.None));
    }

    [Fact]
    public async Task ReadLine_NonAsciiBytes_ReachParse_WhichRefusesThem()
    {
        using var stream = new MemoryStream([.. Encoding.ASCII.GetBytes("<VMMP 1.0 HEARTBEAT "), 0xC3, 0xA9, (byte)'>', (byte)'\n']);

        var line = await VmmpWire.ReadLineAsync(stream, CancellationToken.None);

        Assert.Contains("not printable ASCII", VmmpWire.Parse(line!).Error);
    }
}
