using System.Buffers.Binary;
using System.Text;
using Virtuoso.Core.Accounts;

namespace Virtuoso.Core.Tests.Accounts;

/// <summary>
/// Issue 14 item 1: the accepted key types, OpenSSH's fingerprints, and every kind of refusal. The keys are fixed
/// vectors made with <c>ssh-keygen -t TYPE [-b BITS]</c>; each expected fingerprint is what <c>ssh-keygen -lf</c> printed.
/// </summary>
public sealed class SshPublicKeyTests
{
    public const string Ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBZThquglklY6LYqWcuIWEd6yl4mtpPh/nPxy9M7wS4m test-ed25519@virtuoso";
    public const string Ed25519NoComment = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJz7ANTH85fQ8Uwu23gaTgYq0UqeNF6O61pXzWPV5HRd";
    public const string Ecdsa256 = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJZ35hIHj5r0636TtZnu4fnYmDzsCPOT8d97GZy3MnWNq3DPcx987ALaaCz3vcyqhM4Ve4LSrrlSFeWzowKJVf8= test-ecdsa256@virtuoso";
    public const string Ecdsa384 = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBEUMwPIct/+udCpMLHClNdCc3LVjBKWej5nwOEKZYqFVc8AClRRgm/QKA9uZ6X/vYhtFjUt0ssgTSLwFZowZhCjyYCER07AJy97euF8zVFJllv11h2faH+a0eSOLYX48Gw== test-ecdsa384@virtuoso";
    public const string Ecdsa521 = "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAAX+GsPFLKfAMioR4KzYKwkmQ+lbPmCr+lJpyubomXozMO/hZ4enWUVgEUUSj1/1zCj6JEamT3UOmwMRmP6GqHncwEVbUA5zg5wY8uMMdL8BwAgwn7ADhcMNqVVPG57iUDfaYekGW90EJIHmdh0Qmd/i+eNYMqcJHDimtmHMJkUFFc2ZQ== test-ecdsa521@virtuoso";
    public const string Rsa2048 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCZjgjI9tdKzMrtPdq5IVmHeQNND5rCUzYXVX5tie6gwGN/uJOjN3IDqXA2EbUTQR5WAIA0oNlWvzygfh0SD5zcsQTTBPP0f9IN/Ti15aThoOxDcYeJUzaIezaCQ7zeRVO8AijVuNQFbUxr/Lx2nMpnUVrkCkm1U/ZMLlerIwKXPnqKiUyuYta1rGVi2I0Kz3xvuy0Yw9mS8o4jQeLKW5HQtZadXNboo9sgSzBES3KK0RG6r5ucVs98cJJD1EdYdSuomLgxGgaXPzGK2WlswFKWO/GOZDX3YDgP7JRPaM/+AQOQESH0cP3HbLyhrLG4KAftCycIcPqVwsHF3P4Vyt8J test-rsa2048@virtuoso";
    public const string Rsa1024 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCiVWQXaDL+MoaXBhxzAUk2OeS/icsFfZbm6WSniYxAU2RL6mWqmXpxYHdjCd7g+UzondtAK2FUJ6CrRZJ50MET4j/2MNnKrxAgIdMNqPNpdaEOoHBJSjT1UWjhn4QmHN01XYDVMy0aJlFuOEAI7pnDSEmmc6rfrC2dGjXvfCtELw== test-rsa1024@virtuoso";
    public const string Dsa1024 = "ssh-dss AAAAB3NzaC1kc3MAAACBAMRA23qgczbIqDKpJY+Pc05C1cNg+X+IUKahS8DJYtyDL0IlEOFzSqM9Xdf7lLwirML/X/ljXwZUzj+W866ktOQ7n1lH3DQDK53CF/79ybiFvJFMYrBzJlfeA3RDgDGHgVO5kxK9d0D8LSxC/QLO1/gBQt5DPsQ3MOsKBCNN6xjvAAAAFQDA2em78twY98EJfud9BTFYD0tZCwAAAIEAgvhvhJ4DkxM/bsxm+wV5jEit3RFGt8EYFYvNbxROa9Lvh1AR3g8l7IXoiFuGseN16oV0OgM+EX0RfgILTkufhZPsgf9T9ybXfGD5l1mdhNMihzU/G/cxygqCMG0JCjnyKAFZOZ7S4bMdqfnh0S3UufRy17rNNf9Av9nBVb/7gUIAAACAeMH4s3XVqScLPBzvNTcfr5AY/oHYJhpn35m73PLSA9+cZxfrHZxJuouIEkGR5GXctQn3XX4lvNKVmi9ToSkK05ES+WP0PD0Dkpr9OZLHTuoQmykxUyBRmZuvj4LFofe/MM31r+ESW3+RmQGLcuQJZgpZ8gM+ghZe8ADdusUNNBE= test-dsa1024@virtuoso";

    [Theory]
    [InlineData(Ed25519, "ssh-ed25519", 256, "SHA256:1/jtc+zl9hjXo6jIvd4Thwyk+GtxjiSfN3VmcnoGX1w", "test-ed25519@virtuoso")]
    [InlineData(Ed25519NoComment, "ssh-ed25519", 256, "SHA256:zu1+RkjWzSaByhT43cX5mdFjLCKWuBG5GnjWJMRdhsk", "")]
    [InlineData(Ecdsa256, "ecdsa-sha2-nistp256", 256, "SHA256:LdpFfthmY7Itwh7SHwP1NBmo+pSgAkcAhempZDN+XZI", "test-ecdsa256@virtuoso")]
    [InlineData(Ecdsa384, "ecdsa-sha2-nistp384", 384, "SHA256:VcZolsJ993nGxuHilyKsBcY2caHPlPb2nH1j3YQERSU", "test-ecdsa384@virtuoso")]
    [InlineData(Ecdsa521, "ecdsa-sha2-nistp521", 521, "SHA256:TdRd1E9q4Df00tsut5eFqCb+ArR+piouVhxycCa9jHo", "test-ecdsa521@virtuoso")]
    [InlineData(Rsa2048, "ssh-rsa", 2048, "SHA256:MAOn6iFeHDL4BhjjvtKFrB6YfVA9lw/IVL0SEN2UOK0", "test-rsa2048@virtuoso")]
    public void Parse_AcceptedKey_HasSshKeygensFingerprintTypeAndBits(string line, string type, int bits, string fingerprint, string comment)
    {
        var key = Parse(line);

        Assert.Equal(type, key.Type);
        Assert.Equal(bits, key.Bits);
        Assert.Equal(fingerprint, key.Fingerprint);
        Assert.Equal(comment, key.Comment);
        Assert.Equal(line, key.Line); // ssh-keygen's own line is already normal
    }

    [Fact]
    public void Parse_FileContentWithNewlineAndExtraBlanks_IsNormalisedToSingleSpaces()
    {
        var key = Parse("  ssh-ed25519\tAAAAC3NzaC1lZDI1NTE5AAAAIBZThquglklY6LYqWcuIWEd6yl4mtpPh/nPxy9M7wS4m   alice  on\tlaptop \n");

        Assert.Equal("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBZThquglklY6LYqWcuIWEd6yl4mtpPh/nPxy9M7wS4m alice on laptop", key.Line);
        Assert.Equal("SHA256:1/jtc+zl9hjXo6jIvd4Thwyk+GtxjiSfN3VmcnoGX1w", key.Fingerprint);
    }

    [Fact]
    public void AcceptedTypes_AreEd25519TheThreeNistCurvesAndRsa() =>
        Assert.Equal(["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"], SshPublicKey.AcceptedTypes);

    public static TheoryData<string, string, string> Refused() => new()
    {
        { "empty", "", "empty" },
        { "blank", " \n\t\n", "empty" },
        { "garbage", "hello, this is not a key", "not an OpenSSH public key" },
        { "base64 alone", "AAAAC3NzaC1lZDI1NTE5AAAAIBZThquglklY6LYqWcuIWEd6yl4mtpPh/nPxy9M7wS4m", "not an OpenSSH public key" },
        { "openssh private key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n", "this is a private key; give the .pub file" },
        { "pem private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----", "this is a private key; give the .pub file" },
        { "putty private key", "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none", "this is a private key" },
        { "rfc 4716", "---- BEGIN SSH2 PUBLIC KEY ----\nAAAAC3NzaC1lZDI1NTE5\n---- END SSH2 PUBLIC KEY ----", "ssh-keygen -i" },
        { "two keys", Ed25519 + "\n" + Ecdsa256, "exactly one key" },
        { "dsa", Dsa1024, "DSA keys (ssh-dss) are not accepted" },
        { "rsa 1024", Rsa1024, "the RSA key has 1024 bits; at least 2048" },
        { "security key", "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t", "key type 'sk-ssh-ed25519@openssh.com' is not accepted" },
        { "type only", "ssh-ed25519", "no key data" },
        { "bad base64", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBZThquglklY6LYqWcuIWEd6yl4mtpPh/nPxy9M7wS4", "not valid base64" },
        { "truncated blob", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBZThquglklY6LYqWcuIWEd6yl4mtpPh", "exactly 32 bytes" },
        { "truncated rsa", Rsa2048[..200], "truncated" },
        { "truncated ecdsa", Ecdsa384[..124], "point is not an uncompressed nistp384 point" },
        { "type says rsa, blob ed25519", "ssh-rsa " + Ed25519.Split(' ')[1], "does not match the type ssh-rsa" },
        { "type says p384, blob p256", "ecdsa-sha2-nistp384 " + Ecdsa256.Split(' ')[1], "does not match the type ecdsa-sha2-nistp384" },
        { "100 KB", new string('A', 100 * 1024), "too long" },
        { "control character", Ed25519 + "\0", "control characters" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Parse_Refused_SaysWhy(string what, string text, string reason)
    {
        Assert.False(SshPublicKey.TryParse(text, out var key, out var error), what);
        Assert.Null(key);
        Assert.Contains(reason, error);
    }

    // ---- blobs built by hand: structures ssh-keygen never writes ----

    [Fact]
    public void Parse_BytesAfterTheKey_IsRefused()
    {
        var blob = Blob(Ed25519);
        Assert.Contains("extra bytes after the key", Refuse("ssh-ed25519", [.. blob, 0, 0, 0, 0]));
    }

    [Fact]
    public void Parse_Ed25519Of31Bytes_IsRefused() =>
        Assert.Contains("exactly 32 bytes", Refuse("ssh-ed25519", Wire("ssh-ed25519"u8, new byte[31])));

    [Fact]
    public void Parse_EcdsaWithAnotherCurvesName_IsRefused()
    {
        var point = Strings(Blob(Ecdsa256))[2];
        Assert.Contains("curve is not nistp256", Refuse("ecdsa-sha2-nistp256", Wire("ecdsa-sha2-nistp256"u8, "nistp384"u8, point)));
    }

    [Fact]
    public void Parse_EcdsaCompressedPoint_IsRefused()
    {
        var point = Strings(Blob(Ecdsa256))[2];
        var compressed = new byte[33];
        compressed[0] = 0x02;
        point.AsSpan(1, 32).CopyTo(compressed.AsSpan(1));
        Assert.Contains("not an uncompressed nistp256 point", Refuse("ecdsa-sha2-nistp256", Wire("ecdsa-sha2-nistp256"u8, "nistp256"u8, compressed)));
        var wrongPrefix = point.ToArray();
        wrongPrefix[0] = 0x03;
        Assert.Contains("not an uncompressed nistp256 point", Refuse("ecdsa-sha2-nistp256", Wire("ecdsa-sha2-nistp256"u8, "nistp256"u8, wrongPrefix)));
    }

    [Fact]
    public void Parse_RsaWithNegativeOrPaddedModulus_IsRefused()
    {
        var parts = Strings(Blob(Rsa2048));
        var (e, n) = (parts[1], parts[2]);
        Assert.Equal(0, n[0]); // the 2048-bit modulus needs a zero byte before its top bit
        Assert.Contains("not a positive integer", Refuse("ssh-rsa", Wire("ssh-rsa"u8, e, n[1..])));          // sign bit set: negative
        Assert.Contains("not a positive integer", Refuse("ssh-rsa", Wire("ssh-rsa"u8, e, [0, .. n])));       // a needless leading zero
        Assert.Contains("not a positive integer", Refuse("ssh-rsa", Wire("ssh-rsa"u8, [], n)));              // zero exponent
        Assert.Contains("exponent is not an odd number", Refuse("ssh-rsa", Wire("ssh-rsa"u8, [0x01, 0x00, 0x00], n)));
    }

    [Fact]
    public void Parse_Rsa2047Bits_IsRefused_And2048Accepted()
    {
        var parts = Strings(Blob(Rsa2048));
        var n2047 = new byte[256];
        n2047[0] = 0x7f; // top bit of 2048 clear: 2047 bits, no padding byte needed
        n2047[^1] = 0x01;
        Assert.Contains("has 2047 bits", Refuse("ssh-rsa", Wire("ssh-rsa"u8, parts[1], n2047)));
        Assert.True(SshPublicKey.TryParse("ssh-rsa " + Convert.ToBase64String(Wire("ssh-rsa"u8, parts[1], parts[2])), out _, out var error), error);
    }

    private static SshPublicKey Parse(string line)
    {
        Assert.True(SshPublicKey.TryParse(line, out var key, out var error), error);
        return key;
    }

    private static string Refuse(string type, byte[] blob)
    {
        Assert.False(SshPublicKey.TryParse($"{type} {Convert.ToBase64String(blob)} hand-made", out _, out var error));
        return error;
    }

    private static byte[] Blob(string line) => Convert.FromBase64String(line.Split(' ')[1]);

    /// <summary>The SSH wire strings a blob is made of.</summary>
    private static List<byte[]> Strings(byte[] blob)
    {
        var parts = new List<byte[]>();
        for (var at = 0; at < blob.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(blob.AsSpan(at));
            parts.Add(blob[(at + 4)..(at + 4 + length)]);
            at += 4 + length;
        }
        return parts;
    }

    private static byte[] Wire(params ReadOnlySpan<byte[]> strings)
    {
        var blob = new List<byte>();
        foreach (var s in strings)
        {
            var length = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)s.Length);
            blob.AddRange(length);
            blob.AddRange(s);
        }
        return [.. blob];
    }

    private static byte[] Wire(ReadOnlySpan<byte> type, params ReadOnlySpan<byte[]> rest) => Wire([type.ToArray(), .. rest]);

    private static byte[] Wire(ReadOnlySpan<byte> type, ReadOnlySpan<byte> curve, byte[] point) => Wire([type.ToArray(), curve.ToArray(), point]);
}
