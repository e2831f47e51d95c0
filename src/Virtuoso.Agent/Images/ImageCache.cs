using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Virtuoso.Contracts.Agent;
using Microsoft.Extensions.Logging;
using Virtuoso.Agent.Machines;

namespace Virtuoso.Agent.Images;

/// <summary>
/// Preconfigured base images (design §5: "preconfigured machines as copy-on-write overlays of a cached base image").
/// The operator's images directory (<c>--images</c>) holds one folder per image; the first machine made from an
/// image copies that folder once into <c>&lt;data&gt;/images/&lt;name&gt;/</c>, checks every byte against the source
/// by SHA-256, and renames it into place. Cached images are never replaced while a machine uses them, since overlays point into them.
/// <para>
/// Issue 15 (images are data that travel): when the front-end's catalogue describes the image (<see cref="ImageSource"/>),
/// its files come from the front-end instead, fetched once into <see cref="Blobs"/> by SHA-256 and hard-linked into the
/// image's folder, so a host that was never given an images directory can store any preconfigured machine.
/// </para>
/// </summary>
internal sealed class ImageCache(AgentOptions options, Blobs blobs, MachineStore machines, ILogger<ImageCache> log)
{
    private readonly string _cacheRoot = Path.Combine(options.DataDirectory, "images");
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new();
    private readonly ConcurrentDictionary<string, ImageFetchProgress> _fetches = new();

    /// <summary>How far a first fetch of the image from the front-end has come, or null when none is under way.</summary>
    public ImageFetchProgress? FetchProgress(string name) => _fetches.GetValueOrDefault(name);

    /// <summary>The SHA-256 of each file of the cached image, as checked when it was cached; null when it is not cached.</summary>
    public IReadOnlyDictionary<string, string>? Hashes(string name)
    {
        var file = Path.Combine(CachedDirectory(name), "verified.json");
        return File.Exists(file) ? JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllBytes(file)) : null;
    }

    /// <summary>
    /// The cached copy of the catalogue's image, fetching what this host lacks first. A cached copy of another build of
    /// the image is replaced when no machine here uses it, and refused while one does. Throws <see cref="IOException"/>.
    /// </summary>
    public async Task<CachedImage> EnsureCachedAsync(ImageSource source, CancellationToken ct)
    {
        var manifest = ImageManifest.From(source);
        var gate = _locks.GetOrAdd(source.Name, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            if (FindCached(source.Name) is { } cached)
            {
                if (SameFiles(Hashes(source.Name), source))
                    return cached;
                var users = machines.All.Count(r => r.Image == source.Name);
                if (users > 0)
                    throw new IOException($"this host holds another build of image '{source.Name}', used by {users} machine(s) here; " +
                        "it cannot take the catalogue's until they are deleted or migrate away");
                var old = Path.Combine(_cacheRoot, $".replaced-{source.Name}-{Guid.NewGuid():N}");
                Directory.Move(CachedDirectory(source.Name), old);
                Directory.Delete(old, recursive: true);
                AgentLog.ImageReplaced(log, source.Name);
            }

            var total = source.Files.Values.Sum(f => f.Size);
            var done = 0L;
            _fetches[source.Name] = new ImageFetchProgress(source.Name, 0, total);
            var paths = new Dictionary<string, string>();
            try
            {
                foreach (var (file, blob) in source.Files.OrderBy(f => f.Key, StringComparer.Ordinal))
                {
                    var before = done;
                    paths[file] = await blobs.EnsureAsync(blob, bytes => _fetches[source.Name] = new ImageFetchProgress(source.Name, before + bytes, total), ct);
                    done += blob.Size;
                }
            }
            finally
            {
                _fetches.TryRemove(source.Name, out _);
            }

            Directory.CreateDirectory(_cacheRoot);
            var staging = Path.Combine(_cacheRoot, $".linking-{source.Name}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(staging);
            try
            {
                foreach (var (file, blob) in paths)
                    Blobs.Link(blob, Path.Combine(staging, file));
                var json = ImageManifest.Serialize(manifest);
                AtomicFile.Write(Path.Combine(staging, ImageManifest.FileName), json);
                var hashes = source.Files.ToDictionary(f => f.Key, f => f.Value.Sha256);
                hashes[ImageManifest.FileName] = Convert.ToHexStringLower(SHA256.HashData(json));
                AtomicFile.Write(Path.Combine(staging, "verified.json"), JsonSerializer.SerializeToUtf8Bytes(hashes));
                AtomicFile.Rename(staging, CachedDirectory(source.Name));
            }
            catch
            {
                Directory.Delete(staging, recursive: true);
                throw;
            }
            AgentLog.ImageFetched(log, source.Name, total);
            return FindCached(source.Name) ?? throw new IOException($"image '{source.Name}' vanished from the cache after fetching");
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Whether cached files (by name → SHA-256) are the catalogue's: every file the source names, byte for byte.</summary>
    public static bool SameFiles(IReadOnlyDictionary<string, string>? cached, ImageSource source) =>
        cached is not null && source.Files.All(f => cached.TryGetValue(f.Key, out var sha) && sha == f.Value.Sha256);

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
                    var copyHash = await Blobs.HashAsync(to);
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
}
