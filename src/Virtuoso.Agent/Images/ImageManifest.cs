using System.Text.Json;
using System.Text.Json.Serialization;
using Virtuoso.Agent.Machines;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Images;

/// <summary>
/// A preconfigured base image's <c>image.json</c> (design §3: preconfigured configurations carry an installed OS
/// image and state the minimum memory and disk it needs), e.g.
/// <c>{"name":"linux-busybox","kernel":"vmlinuz","initrd":"initrd.img","disk":"disk.qcow2","append":"...","minMemoryMb":128,"minDiskMb":1000}</c>.
/// File names are relative to the image's folder. Without a kernel the machine boots from its disk.
/// </summary>
internal sealed record ImageManifest(
    string Name,
    string? Kernel,
    string? Initrd,
    string Disk,
    string? Append,
    long MinMemoryMb,
    long MinDiskMb)
{
    public const string FileName = "image.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };

    /// <summary>The files that make up the image, besides image.json.</summary>
    public IEnumerable<string> Files => new[] { Kernel, Initrd, Disk }.OfType<string>();

    /// <summary>Parses and checks an image.json. Returns a reason when it is unusable.</summary>
    public static (ImageManifest? Manifest, string? Error) Parse(string expectedName, ReadOnlySpan<byte> json)
    {
        ImageManifest? m;
        try
        {
            m = JsonSerializer.Deserialize<ImageManifest>(json, Json);
        }
        catch (JsonException e)
        {
            return (null, $"image.json of '{expectedName}' is not valid: {e.Message}");
        }
        if (m is null)
            return (null, $"image.json of '{expectedName}' is empty");
        return Problem(m, expectedName) is { } problem ? (null, $"image.json of '{expectedName}' {problem}") : (m, null);
    }

    /// <summary>The image as the front-end's catalogue describes it (checked by <see cref="CheckSource"/> first).</summary>
    public static ImageManifest From(ImageSource s) => new(s.Name, s.Kernel, s.Initrd, s.Disk, s.Append, s.MinMemoryMb, s.MinDiskMb);

    public static byte[] Serialize(ImageManifest m) => JsonSerializer.SerializeToUtf8Bytes(m, Json);

    /// <summary>What is wrong with a catalogue's description of an image, or null (the agent's boundary check).</summary>
    public static string? CheckSource(ImageSource s)
    {
        if (!MachineValidation.IsImageName(s.Name ?? ""))
            return $"imageSource.name '{s.Name}' is not an image name";
        if (Problem(From(s), s.Name!) is { } problem)
            return $"imageSource of '{s.Name}' {problem}";
        var named = From(s).Files.ToHashSet(StringComparer.Ordinal);
        if (s.Files is null || !named.SetEquals(s.Files.Keys))
            return $"imageSource of '{s.Name}' must give a source for exactly its files ({string.Join(", ", named)})";
        foreach (var (file, blob) in s.Files)
            if (MachineValidation.BlobProblem($"imageSource file {file}", blob) is { } bad)
                return bad;
        return null;
    }

    private static string? Problem(ImageManifest m, string expectedName)
    {
        if (m.Name != expectedName)
            return $"names image '{m.Name}'";
        // The files must sit in the image's own folder: no path separators, no '..'.
        foreach (var file in new[] { m.Kernel, m.Initrd, m.Disk })
            if (file is not null && (file.Length == 0 || file != Path.GetFileName(file) || file is "." or ".." || file == FileName || file == "verified.json"))
                return $"names file '{file}', which is not a plain file name in its folder";
        if (m.Disk is null)
            return "names no disk";
        if (m.Initrd is not null && m.Kernel is null)
            return "has an initrd but no kernel";
        if (m.MinMemoryMb is < 0 or > MachineValidation.MaxMemoryMb || m.MinDiskMb is < 0 or > MachineValidation.MaxDiskMb)
            return "has minimums out of range";
        return null;
    }
}
/// <summary>An image copied into this host's cache and verified; machines boot from and overlay these files.</summary>
internal sealed record CachedImage(string Directory, ImageManifest Manifest)
{
    public string Disk => Path.Combine(Directory, Manifest.Disk);
    public string? Kernel => Manifest.Kernel is { } k ? Path.Combine(Directory, k) : null;
    public string? Initrd => Manifest.Initrd is { } i ? Path.Combine(Directory, i) : null;
}
