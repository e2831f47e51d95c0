using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Virtuoso.Agent.Machines;

namespace Virtuoso.Agent.Images;

/// <summary>
/// Preconfigured base images (design §5: "preconfigured machines as copy-on-write overlays of a cached base image").
/// The operator's images directory (<c>--images</c>) holds one folder per image; the first machine made from an
/// image copies that folder once into <c>&lt;data&gt;/images/&lt;name&gt;/</c>, checks every byte against the source
/// by SHA-256, and renames it into place. Cached images are never replaced, since overlays point into them.
/// </summary>
internal sealed class ImageCache(AgentOptions options, ILogger<ImageCache> log)
{
    private readonly string _cacheRoot = Path.Combine(options.DataDirectory, "images");
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new();

    /// <summary>What an image needs, from the cache if it is there, else from the images directory.</summary>
    public Outcome<ImageManifest> Describe(string name)
    {
        if (!MachineValidation.IsImageName(name))
            return AgentError.Validation($"'{name}' is not an image name");
        if (ReadManifest(CachedDirectory(name), name) is ({ } cached, _))
            return cached;
        if (SourceDirectory(name) is not { } source || !File.Exists(Path.Combine(source, ImageManifest.FileName)))
            return AgentError.Validation($"unknown image '{name}'");
        var (manifest, error) = ReadManifest(source, name);
        return manifest is not null ? manifest : AgentError.LocalFailure(error!);
    }

    /// <summary>The cached copy of an image, or null when no machine has used it on this host yet.</summary>
    public CachedImage? FindCached(string name) =>
        ReadManifest(CachedDirectory(name), name) is ({ } m, _) ? new CachedImage(CachedDirectory(name), m) : null;

    /// <summary>The cached copy of an image, copying and verifying it first if needed. Throws <see cref="IOException"/> on failure.</summary>
    public async Task<CachedImage> EnsureCachedAsync(string name)
    {
        var gate = _locks.GetOrAdd(name, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync();
        try
        {
            if (FindCached(name) is { } cached)
                return cached;
            var source = SourceDirectory(name) ?? throw new IOException($"image '{name}' is not in the images directory");
            var (manifest, error) = ReadManifest(source, name);
            if (manifest is null)
                throw new IOException(error);

            Directory.CreateDirectory(_cacheRoot);
            var staging = Path.Combine(_cacheRoot, $".copying-{name}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(staging);
            try
            {
                var hashes = new Dictionary<string, string>();
                foreach (var file in manifest.Files.Append(ImageManifest.FileName))
                {
                    var from = Path.Combine(source, file);
                    var to = Path.Combine(staging, file);
                    var sourceHash = await CopyHashingAsync(from, to);
                    var copyHash = await HashAsync(to);
                    if (sourceHash != copyHash)
                        throw new IOException($"copy of image '{name}' file {file} does not match its source (SHA-256 {copyHash} vs {sourceHash})");
                    hashes[file] = copyHash;
                    // Overlays point at these files; nothing may write them.
                    File.SetUnixFileMode(to, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
                }
                AtomicFile.Write(Path.Combine(staging, "verified.json"), JsonSerializer.SerializeToUtf8Bytes(hashes));
                AtomicFile.Rename(staging, CachedDirectory(name));
            }
            catch
            {
                Directory.Delete(staging, recursive: true);
                throw;
            }
            AgentLog.ImageCached(log, name, CachedDirectory(name));
            return FindCached(name) ?? throw new IOException($"image '{name}' vanished from the cache after copying");
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>A kernel to boot for the KVM probe: the first image in the images directory that has one.</summary>
    public string? FindAnyKernel()
    {
        if (options.ImagesDirectory is null)
            return null;
        foreach (var dir in Directory.EnumerateDirectories(options.ImagesDirectory).Order(StringComparer.Ordinal))
            if (ReadManifest(dir, Path.GetFileName(dir)) is ({ Kernel: { } kernel }, _) && File.Exists(Path.Combine(dir, kernel)))
                return Path.Combine(dir, kernel);
        return null;
    }

    private string CachedDirectory(string name) => Path.Combine(_cacheRoot, name);

    private string? SourceDirectory(string name)
    {
        if (options.ImagesDirectory is null)
            return null;
        var dir = Path.GetFullPath(Path.Combine(options.ImagesDirectory, name));
        // Defence in depth behind the name check: the folder must be a direct child of the images directory.
        return Path.GetDirectoryName(dir) == options.ImagesDirectory.TrimEnd('/') ? dir : null;
    }

    private static (ImageManifest? Manifest, string? Error) ReadManifest(string dir, string name)
    {
        var file = Path.Combine(dir, ImageManifest.FileName);
        if (!File.Exists(file))
            return (null, $"image '{name}' has no {ImageManifest.FileName} in {dir}");
        return ImageManifest.Parse(name, File.ReadAllBytes(file));
    }

    private static async Task<string> CopyHashingAsync(string from, string to)
    {
        await using var input = new FileStream(from, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        await using var output = new FileStream(to, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, useAsync: true);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        int n;
        while ((n = await input.ReadAsync(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            await output.WriteAsync(buffer.AsMemory(0, n));
        }
        output.Flush(flushToDisk: true);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static async Task<string> HashAsync(string path)
    {
        await using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(input));
    }
}
