using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Virtuoso.Agent.Machines;

/// <summary>
/// The machines of this host on disk: <c>&lt;data&gt;/machines/&lt;id&gt;/machine.json</c>, kept in memory too.
/// A machine is created in <c>.creating-&lt;id&gt;</c> and renamed into place once complete, and deleted by renaming
/// it to <c>.deleting-&lt;id&gt;</c> first, so a crash never leaves a half-made or half-deleted machine behind.
/// </summary>
internal sealed class MachineStore
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private readonly ConcurrentDictionary<Guid, MachineRecord> _records = new();
    private readonly string _root;

    /// <param name="held">Proof that this agent alone manages the data directory.</param>
    public MachineStore(AgentOptions options, DataDirectoryLock held)
    {
        ArgumentNullException.ThrowIfNull(held);
        _root = Path.Combine(options.DataDirectory, "machines");
        Directory.CreateDirectory(_root);
        Load();
    }

    public IReadOnlyList<MachineRecord> All => _records.Values.OrderBy(r => r.Id).ToList();

    public int Count => _records.Count;

    public MachineRecord? Find(Guid id) => _records.GetValueOrDefault(id);

    public MachineDirectory DirectoryOf(Guid id) => new(Path.Combine(_root, id.ToString("D")));

    /// <summary>A fresh, empty staging directory for a machine being created.</summary>
    public MachineDirectory BeginCreate(Guid id)
    {
        var staging = new MachineDirectory(Path.Combine(_root, $".creating-{id:D}"));
        if (Directory.Exists(staging.Root))
            Directory.Delete(staging.Root, recursive: true);
        Directory.CreateDirectory(staging.Root);
        return staging;
    }

    /// <summary>Writes the record into the staging directory and renames the directory into place: the commit point of a create.</summary>
    public void CompleteCreate(MachineDirectory staging, MachineRecord record)
    {
        AtomicFile.Write(staging.RecordFile, JsonSerializer.SerializeToUtf8Bytes(record, Json));
        AtomicFile.Rename(staging.Root, DirectoryOf(record.Id).Root);
        _records[record.Id] = record;
    }

    public void AbandonCreate(MachineDirectory staging)
    {
        if (Directory.Exists(staging.Root))
            Directory.Delete(staging.Root, recursive: true);
    }

    public void Save(MachineRecord record)
    {
        AtomicFile.Write(DirectoryOf(record.Id).RecordFile, JsonSerializer.SerializeToUtf8Bytes(record, Json));
        _records[record.Id] = record;
    }

    public void Delete(Guid id)
    {
        var doomed = Path.Combine(_root, $".deleting-{id:D}");
        AtomicFile.Rename(DirectoryOf(id).Root, doomed);
        _records.TryRemove(id, out _);
        Directory.Delete(doomed, recursive: true);
    }

    /// <summary>
    /// Takes a machine off this host's list by renaming its directory to <paramref name="destination"/> (on the same
    /// file system), replacing whatever was there: retirement into the migration cache (design §6.2 step 4).
    /// </summary>
    public void MoveOut(Guid id, string destination)
    {
        var parent = Path.GetDirectoryName(destination)!;
        Directory.CreateDirectory(parent);
        var older = Path.Combine(parent, $".replaced-{id:D}-{Guid.NewGuid():N}");
        if (Directory.Exists(destination))
            AtomicFile.Rename(destination, older);
        AtomicFile.Rename(DirectoryOf(id).Root, destination);
        _records.TryRemove(id, out _);
        if (Directory.Exists(older))
            Directory.Delete(older, recursive: true);
    }

    private void Load()
    {
        foreach (var dir in Directory.EnumerateDirectories(_root))
        {
            var name = Path.GetFileName(dir);
            if (name.StartsWith(".creating-", StringComparison.Ordinal) || name.StartsWith(".deleting-", StringComparison.Ordinal))
            {
                // Left by a crash: a create that never completed, or a delete that did.
                Directory.Delete(dir, recursive: true);
                continue;
            }
            if (!Guid.TryParseExact(name, "D", out var id))
                continue;
            var file = new MachineDirectory(dir).RecordFile;
            if (!File.Exists(file))
                continue;
            var record = JsonSerializer.Deserialize<MachineRecord>(File.ReadAllBytes(file), Json)
                ?? throw new InvalidDataException($"{file} holds no machine");
            if (record.Id != id)
                throw new InvalidDataException($"{file} describes machine {record.Id:D}, not {id:D}");
            _records[id] = record;
        }
    }
}
