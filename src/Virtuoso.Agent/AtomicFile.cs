using System.Runtime.InteropServices;

namespace Virtuoso.Agent;

/// <summary>
/// Durable writes (design §5: "written atomically so that a crash at any moment leaves either the old or the new
/// state"): write a temporary file, fsync it, rename it over the target, fsync the directory.
/// </summary>
internal static partial class AtomicFile
{
    public static void Write(string path, ReadOnlySpan<byte> contents)
    {
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(contents);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        SyncDirectory(Path.GetDirectoryName(path)!);
    }

    /// <summary>Renames a file or directory and makes the rename durable.</summary>
    public static void Rename(string from, string to)
    {
        if (Directory.Exists(from))
            Directory.Move(from, to);
        else
            File.Move(from, to, overwrite: true);
        SyncDirectory(Path.GetDirectoryName(to)!);
    }

    public static void SyncFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>fsync(2) on a directory, so that renames and new entries in it survive a crash.</summary>
    public static void SyncDirectory(string directory)
    {
        // .NET cannot open a directory as a stream; go to libc.
        var fd = Open(directory, ORdOnly);
        if (fd < 0)
            throw new IOException($"cannot open directory {directory} to fsync it: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            if (Fsync(fd) != 0)
                throw new IOException($"fsync of directory {directory} failed: errno {Marshal.GetLastPInvokeError()}");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    private const int ORdOnly = 0;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
