using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Migration.Methods.Dedup;

/// <summary>
/// Moves this machine's own cached copy of each file (<see cref="FetchContext.CachedCopies"/>[0]) into staging by
/// rename, so that a re-migration patches the old file in place instead of copying gigabytes (used by DEDUP and
/// RSYNC). If the fetch fails, <see cref="Restore"/> puts the files back so that the cache survives a failed try.
/// </summary>
internal sealed class CacheSeed
{
    private readonly List<(string Cached, string Staged)> _moved = [];

    private CacheSeed() { }

    /// <summary>Names of the files moved into staging.</summary>
    public IReadOnlyList<string> Moved => _moved.Select(m => Path.GetFileName(m.Staged)).ToList();

    public bool WasMoved(string name) => _moved.Any(m => Path.GetFileName(m.Staged) == name);

    /// <summary>Moves each manifest file that <paramref name="movable"/> accepts (all when null) and that the first cached copy holds.</summary>
    public static CacheSeed Move(IReadOnlyList<string> cachedCopies, ExportManifest manifest, string staging, Func<string, bool>? movable = null)
    {
        var seed = new CacheSeed();
        if (cachedCopies.Count == 0 || !Directory.Exists(cachedCopies[0]))
            return seed;
        foreach (var file in manifest.Files)
        {
            var cached = Path.Combine(cachedCopies[0], file.Name);
            var staged = Path.Combine(staging, file.Name);
            if ((movable is not null && !movable(file.Name)) || NativeFile.Identify(cached) is null || File.Exists(staged))
                continue;
            try
            {
                File.Move(cached, staged);
            }
            catch (IOException)
            {
                continue; // another file system (EXDEV): the copy stays where it is and is read as a source instead
            }
            seed._moved.Add((cached, staged));
        }
        return seed;
    }

    /// <summary>Moves the files back to the cache after a failed fetch (best effort: a cache is only a cache).</summary>
    public void Restore()
    {
        foreach (var (cached, staged) in _moved)
        {
            try
            {
                if (File.Exists(staged) && !File.Exists(cached) && Directory.Exists(Path.GetDirectoryName(cached)))
                    File.Move(staged, cached);
            }
            catch (IOException)
            {
                // Losing a cached copy costs a slower next migration, never the machine: the origin still holds it.
            }
        }
        _moved.Clear();
    }
}
