using System.Buffers.Binary;
using System.Diagnostics;
using Virtuoso.Core.Isos;

namespace Virtuoso.Core.Tests.Isos;

/// <summary>IsoImage.Check: what makes a file a bootable CD image (issue 15 item 4), on hand-made descriptors and on genisoimage's output.</summary>
public sealed class IsoImageTests
{
    private const int Sector = 2048;

    /// <summary>Descriptors as they follow the system area: primary (volume of <paramref name="blocks"/>), boot record, terminator.</summary>
    private static byte[] Descriptors(uint blocks = 24, bool primary = true, bool boot = true, bool agree = true, string bootId = "EL TORITO SPECIFICATION")
    {
        var d = new byte[4 * Sector];
        var at = 0;
        if (primary)
        {
            Header(d, at, 1);
            BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(at + 80), blocks);
            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(at + 84), agree ? blocks : blocks + 1);
            BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(at + 128), Sector);
            BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(at + 130), Sector);
            at += Sector;
        }

        if (boot)
        {
            Header(d, at, 0);
            System.Text.Encoding.ASCII.GetBytes(bootId).CopyTo(d, at + 7);
            at += Sector;
        }

        Header(d, at, 255);
        return d;
    }

    private static void Header(byte[] d, int at, byte type)
    {
        d[at] = type;
        "CD001"u8.CopyTo(d.AsSpan(at + 1));
        d[at + 6] = 1;
    }

    [Fact]
    public void Bootable_WithItsWholeVolume_Passes() => Assert.Null(IsoImage.Check(Descriptors(24), 24 * Sector));

    [Fact]
    public void Longer_ThanItsVolume_Passes() => Assert.Null(IsoImage.Check(Descriptors(24), 24 * Sector + 4096)); // padding is common

    [Fact]
    public void Truncated_IsRefused_SayingBothSizes() =>
        Assert.Equal("the image is truncated: its volume is 49152 bytes but the file has 49151", IsoImage.Check(Descriptors(24), 24 * Sector - 1));

    [Fact]
    public void NoPrimaryDescriptor_IsNotAnIso() => Assert.Contains("no primary volume descriptor", IsoImage.Check(Descriptors(primary: false), 1 << 20));

    [Fact]
    public void NoBytes_IsNotAnIso() => Assert.Contains("no primary volume descriptor", IsoImage.Check([], 0));

    [Fact]
    public void NoBootRecord_IsNotBootable() => Assert.Contains("no El Torito boot record", IsoImage.Check(Descriptors(boot: false), 1 << 20));

    [Fact]
    public void AnotherBootSystem_IsNotElTorito() => Assert.Contains("no El Torito boot record", IsoImage.Check(Descriptors(bootId: "SOME OTHER SYSTEM"), 1 << 20));

    [Fact]
    public void BothEndianHalvesDisagreeing_IsDamaged() => Assert.Contains("damaged", IsoImage.Check(Descriptors(agree: false), 1 << 20));

    [Fact]
    public void DescriptorsAfterTheTerminator_AreNotRead()
    {
        var d = Descriptors(boot: false);
        var late = Descriptors(primary: false); // a boot record after the primary's terminator
        Assert.Contains("no El Torito", IsoImage.Check([.. d, .. late], 1 << 20));
    }

    [Fact]
    public void GenisoimageOutput_WithABootImage_Passes_AndWithoutOne_IsNotBootable()
    {
        if (!File.Exists("/usr/bin/genisoimage")) Assert.Fail("genisoimage is not installed (scripts/lib.sh installs it)");
        var dir = Directory.CreateTempSubdirectory("virtuoso-iso-").FullName;
        try
        {
            var tree = Directory.CreateDirectory(Path.Combine(dir, "tree")).FullName;
            File.WriteAllBytes(Path.Combine(tree, "boot.img"), new byte[4 * Sector]);
            File.WriteAllText(Path.Combine(tree, "README"), "an installer would be here\n");
            var bootable = Make(dir, "boot.iso", "-b", "boot.img", "-no-emul-boot", "-boot-load-size", "4", tree);
            var plain = Make(dir, "plain.iso", tree);

            Assert.Null(Judge(bootable));
            Assert.Contains("no El Torito", Judge(plain));
            Assert.Contains("truncated", Judge(bootable, File.ReadAllBytes(bootable).Length - Sector));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string? Judge(string path, long? length = null)
    {
        var bytes = File.ReadAllBytes(path);
        var descriptors = bytes.AsSpan(IsoImage.DescriptorsOffset, Math.Min(IsoImage.DescriptorsLength, bytes.Length - IsoImage.DescriptorsOffset));
        return IsoImage.Check(descriptors, length ?? bytes.Length);
    }

    private static string Make(string dir, string name, params string[] args)
    {
        var output = Path.Combine(dir, name);
        var start = new ProcessStartInfo("genisoimage") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in (string[])["-quiet", "-o", output, .. args]) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(30_000), "genisoimage took over 30 s");
        Assert.True(process.ExitCode == 0, $"genisoimage failed: {stderr.Result}");
        return output;
    }
}
