using System.Buffers.Binary;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace Virtuoso.FrontEnd.Tests.Support;

/// <summary>
/// Tiny CD images written by hand (ECMA-119 §8, El Torito §2), so that the tests need no tool: the 32 KB system area, a
/// primary volume descriptor declaring <c>blocks</c> sectors of 2048 bytes, an El Torito boot record, the terminator,
/// and zeros up to the declared volume size; <c>seed</c> varies the content (and so the SHA-256).
/// </summary>
internal static class TestIsos
{
    private const int Sector = 2048;

    public static byte[] Bootable(int blocks = 24, byte seed = 1, bool elTorito = true, bool primary = true)
    {
        var image = new byte[blocks * Sector];
        var next = 16;
        if (primary)
        {
            var pvd = Descriptor(image, next++, 1);
            BinaryPrimitives.WriteUInt32LittleEndian(pvd[80..], (uint)blocks);
            BinaryPrimitives.WriteUInt32BigEndian(pvd[84..], (uint)blocks);
            BinaryPrimitives.WriteUInt16LittleEndian(pvd[128..], Sector);
            BinaryPrimitives.WriteUInt16BigEndian(pvd[130..], Sector);
        }

        if (elTorito)
        {
            var boot = Descriptor(image, next++, 0);
            "EL TORITO SPECIFICATION"u8.CopyTo(boot[7..]);
            BinaryPrimitives.WriteUInt32LittleEndian(boot[71..], 19); // the boot catalogue's sector
        }

        Descriptor(image, next, 255);
        image[19 * Sector] = 1; // a validation entry's header id, enough for this check
        image[20 * Sector] = seed;
        return image;
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>The body of an upload, as the CLI sends it.</summary>
    public static HttpContent Content(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    private static Span<byte> Descriptor(byte[] image, int sector, byte type)
    {
        var d = image.AsSpan(sector * Sector, Sector);
        d[0] = type;
        "CD001"u8.CopyTo(d[1..]);
        d[6] = 1;
        return d;
    }

    /// <summary>A body that claims <paramref name="declared"/> bytes (or no length at all) and sends <paramref name="bytes"/>: a client that gave up.</summary>
    public sealed class LyingContent(byte[] bytes, long? declared) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = declared ?? 0;
            return declared is not null;
        }
    }
}
