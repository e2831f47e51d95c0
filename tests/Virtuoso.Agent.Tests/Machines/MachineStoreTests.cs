using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Tests.Support;

namespace Virtuoso.Agent.Tests.Machines;

public sealed class MachineStoreTests : IDisposable
{
    private readonly TestDirectory _dir = new();
    private readonly List<IDisposable> _locks = [];

    public void Dispose()
    {
        _locks.ForEach(l => l.Dispose());
        _dir.Dispose();
    }

    private MachineStore Open()
    {
        _locks.ForEach(l => l.Dispose());
        _locks.Clear();
        var options = TestOptions.For(_dir.Path);
        var (held, error) = DataDirectoryLock.Acquire(options.DataDirectory);
        Assert.Null(error);
        _locks.Add(held!);
        return new MachineStore(options, held!);
    }

    private static MachineRecord Record(Guid id, long version = 1) =>
        new(id, "52:54:00:12:34:56", 1000, 128, 100, null, version, null, AgentState.Stopped, null);

    [Fact]
    public void Saved_Record_IsFoundAgainAfterReopening()
    {
        var id = Guid.NewGuid();
        var store = Open();
        var staging = store.BeginCreate(id);
        store.CompleteCreate(staging, Record(id));
        store.Save(Record(id, version: 2) with { Intent = AgentState.Suspended, OriginHost = "beta" });

        var reopened = Open();

        Assert.Equal(Record(id, version: 2) with { Intent = AgentState.Suspended, OriginHost = "beta" }, reopened.Find(id));
        Assert.False(File.Exists(Path.Combine(store.DirectoryOf(id).Root, "machine.json.tmp")));
    }

    [Fact]
    public void Reopening_DiscardsUnfinishedCreatesAndFinishesDeletes()
    {
        var store = Open();
        var unfinished = store.BeginCreate(Guid.NewGuid());
        File.WriteAllText(unfinished.Disk, "half a disk");
        var deleting = Path.Combine(_dir.Path, "machines", $".deleting-{Guid.NewGuid():D}");
        Directory.CreateDirectory(deleting);

        var reopened = Open();

        Assert.Equal(0, reopened.Count);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_dir.Path, "machines")));
    }

    [Fact]
    public void Delete_RemovesTheDirectory()
    {
        var id = Guid.NewGuid();
        var store = Open();
        store.CompleteCreate(store.BeginCreate(id), Record(id));

        store.Delete(id);

        Assert.Null(store.Find(id));
        Assert.False(Directory.Exists(store.DirectoryOf(id).Root));
    }

    [Fact]
    public void SecondAgent_OnTheSameDataDirectory_IsRefused()
    {
        var options = TestOptions.For(_dir.Path);
        var (first, _) = DataDirectoryLock.Acquire(options.DataDirectory);
        using var _1 = first;

        var (second, error) = DataDirectoryLock.Acquire(options.DataDirectory);

        Assert.Null(second);
        Assert.Contains("another agent", error);
    }
}
