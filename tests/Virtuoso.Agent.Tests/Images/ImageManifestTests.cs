using System.Text;
using Virtuoso.Agent.Images;

namespace Virtuoso.Agent.Tests.Images;

public class ImageManifestTests
{
    private static (ImageManifest? Manifest, string? Error) Parse(string json, string name = "linux-busybox") =>
        ImageManifest.Parse(name, Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Parse_TheGuestImageFormat()
    {
        var (m, error) = Parse("""
            {"name":"linux-busybox","kernel":"vmlinuz","initrd":"initrd.img","disk":"disk.qcow2",
             "append":"console=tty0 console=ttyS0,115200 root=/dev/vda rw quiet","minMemoryMb":128,"minDiskMb":1000,"extra":1}
            """);

        Assert.Null(error);
        Assert.Equal(new ImageManifest("linux-busybox", "vmlinuz", "initrd.img", "disk.qcow2",
            "console=tty0 console=ttyS0,115200 root=/dev/vda rw quiet", 128, 1000), m);
        Assert.Equal(["vmlinuz", "initrd.img", "disk.qcow2"], m!.Files);
    }

    [Theory]
    [InlineData("""{"name":"linux-busybox","kernel":"../../etc/passwd","disk":"disk.qcow2"}""", "not a plain file name")]
    [InlineData("""{"name":"linux-busybox","kernel":"/boot/vmlinuz","disk":"disk.qcow2"}""", "not a plain file name")]
    [InlineData("""{"name":"linux-busybox","disk":".."}""", "not a plain file name")]
    [InlineData("""{"name":"linux-busybox","disk":"image.json"}""", "not a plain file name")]
    [InlineData("""{"name":"linux-busybox","kernel":"vmlinuz"}""", "names no disk")]
    [InlineData("""{"name":"linux-busybox","initrd":"initrd.img","disk":"d.qcow2"}""", "no kernel")]
    [InlineData("""{"name":"other","disk":"d.qcow2"}""", "names image 'other'")]
    [InlineData("""{"name":"linux-busybox","disk":"d.qcow2","minMemoryMb":-1}""", "out of range")]
    [InlineData("""not json""", "not valid")]
    [InlineData("""null""", "empty")]
    public void Parse_Unusable_SaysWhy(string json, string reason)
    {
        var (m, error) = Parse(json);

        Assert.Null(m);
        Assert.Contains(reason, error);
    }
}
