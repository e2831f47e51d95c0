namespace Virtuoso.Agent;

/// <summary>
/// Holds <c>&lt;data&gt;/agent.lock</c> for the agent's lifetime, so two agents can never manage the same machines
/// (each would "recover" the other's commands). .NET takes an exclusive flock for <see cref="FileShare.None"/>;
/// the descriptor is close-on-exec, so QEMU children never inherit it.
/// </summary>
internal sealed class DataDirectoryLock : IDisposable
{
    private readonly FileStream _file;

    private DataDirectoryLock(FileStream file) => _file = file;

    public static (DataDirectoryLock? Lock, string? Error) Acquire(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, "agent.lock");
        try
        {
            Directory.CreateDirectory(dataDirectory);
            return (new DataDirectoryLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None)), null);
        }
        catch (IOException e)
        {
            return (null, $"another agent is using --data {dataDirectory} ({path}: {e.Message})");
        }
        catch (UnauthorizedAccessException e)
        {
            return (null, $"cannot use --data {dataDirectory}: {e.Message}");
        }
    }

    public void Dispose() => _file.Dispose();
}
