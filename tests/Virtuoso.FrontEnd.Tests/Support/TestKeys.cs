using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Virtuoso.FrontEnd.Tests.Support;

/// <summary>
/// SSH public keys made with <c>ssh-keygen</c> (the same vectors as Virtuoso.Core.Tests' SshPublicKeyTests), each with the
/// fingerprint <c>ssh-keygen -lf</c> printed for it.
/// </summary>
internal static class TestKeys
{
    public const string Ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBZThquglklY6LYqWcuIWEd6yl4mtpPh/nPxy9M7wS4m test-ed25519@virtuoso";
    public const string Ed25519Fingerprint = "SHA256:1/jtc+zl9hjXo6jIvd4Thwyk+GtxjiSfN3VmcnoGX1w";
    public const string Ecdsa256 = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJZ35hIHj5r0636TtZnu4fnYmDzsCPOT8d97GZy3MnWNq3DPcx987ALaaCz3vcyqhM4Ve4LSrrlSFeWzowKJVf8= test-ecdsa256@virtuoso";
    public const string Ecdsa256Fingerprint = "SHA256:LdpFfthmY7Itwh7SHwP1NBmo+pSgAkcAhempZDN+XZI";
    public const string Ecdsa521 = "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAAX+GsPFLKfAMioR4KzYKwkmQ+lbPmCr+lJpyubomXozMO/hZ4enWUVgEUUSj1/1zCj6JEamT3UOmwMRmP6GqHncwEVbUA5zg5wY8uMMdL8BwAgwn7ADhcMNqVVPG57iUDfaYekGW90EJIHmdh0Qmd/i+eNYMqcJHDimtmHMJkUFFc2ZQ== test-ecdsa521@virtuoso";
    public const string Ecdsa521Fingerprint = "SHA256:TdRd1E9q4Df00tsut5eFqCb+ArR+piouVhxycCa9jHo";
    public const string Rsa2048 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCZjgjI9tdKzMrtPdq5IVmHeQNND5rCUzYXVX5tie6gwGN/uJOjN3IDqXA2EbUTQR5WAIA0oNlWvzygfh0SD5zcsQTTBPP0f9IN/Ti15aThoOxDcYeJUzaIezaCQ7zeRVO8AijVuNQFbUxr/Lx2nMpnUVrkCkm1U/ZMLlerIwKXPnqKiUyuYta1rGVi2I0Kz3xvuy0Yw9mS8o4jQeLKW5HQtZadXNboo9sgSzBES3KK0RG6r5ucVs98cJJD1EdYdSuomLgxGgaXPzGK2WlswFKWO/GOZDX3YDgP7JRPaM/+AQOQESH0cP3HbLyhrLG4KAftCycIcPqVwsHF3P4Vyt8J test-rsa2048@virtuoso";
    public const string Rsa2048Fingerprint = "SHA256:MAOn6iFeHDL4BhjjvtKFrB6YfVA9lw/IVL0SEN2UOK0";
    public const string Rsa1024 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCiVWQXaDL+MoaXBhxzAUk2OeS/icsFfZbm6WSniYxAU2RL6mWqmXpxYHdjCd7g+UzondtAK2FUJ6CrRZJ50MET4j/2MNnKrxAgIdMNqPNpdaEOoHBJSjT1UWjhn4QmHN01XYDVMy0aJlFuOEAI7pnDSEmmc6rfrC2dGjXvfCtELw== test-rsa1024@virtuoso";
    public const string Dsa1024 = "ssh-dss AAAAB3NzaC1kc3MAAACBAMRA23qgczbIqDKpJY+Pc05C1cNg+X+IUKahS8DJYtyDL0IlEOFzSqM9Xdf7lLwirML/X/ljXwZUzj+W866ktOQ7n1lH3DQDK53CF/79ybiFvJFMYrBzJlfeA3RDgDGHgVO5kxK9d0D8LSxC/QLO1/gBQt5DPsQ3MOsKBCNN6xjvAAAAFQDA2em78twY98EJfud9BTFYD0tZCwAAAIEAgvhvhJ4DkxM/bsxm+wV5jEit3RFGt8EYFYvNbxROa9Lvh1AR3g8l7IXoiFuGseN16oV0OgM+EX0RfgILTkufhZPsgf9T9ybXfGD5l1mdhNMihzU/G/cxygqCMG0JCjnyKAFZOZ7S4bMdqfnh0S3UufRy17rNNf9Av9nBVb/7gUIAAACAeMH4s3XVqScLPBzvNTcfr5AY/oHYJhpn35m73PLSA9+cZxfrHZxJuouIEkGR5GXctQn3XX4lvNKVmi9ToSkK05ES+WP0PD0Dkpr9OZLHTuoQmykxUyBRmZuvj4LFofe/MM31r+ESW3+RmQGLcuQJZgpZ8gM+ghZe8ADdusUNNBE= test-dsa1024@virtuoso";
    public const string PrivateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n";

    /// <summary>A well-formed ed25519 public key line of 32 random bytes (unlike every other; the parser does not check the curve point).</summary>
    public static string RandomEd25519(string comment = "random")
    {
        var blob = new byte[4 + 11 + 4 + 32];
        BinaryPrimitives.WriteUInt32BigEndian(blob, 11);
        "ssh-ed25519"u8.CopyTo(blob.AsSpan(4));
        BinaryPrimitives.WriteUInt32BigEndian(blob.AsSpan(15), 32);
        RandomNumberGenerator.Fill(blob.AsSpan(19));
        return $"ssh-ed25519 {Convert.ToBase64String(blob)} {comment}";
    }
}
