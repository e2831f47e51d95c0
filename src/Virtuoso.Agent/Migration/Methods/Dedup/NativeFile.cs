using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Virtuoso.Agent.Migration.Methods.Dedup;

/// <summary>What identifies one version of a file without reading it: device, inode, size and modification time (ns).</summary>
internal readonly record struct FileIdentity(ulong Device, ulong Inode, long Size, long ModifiedNs);

/// <summary>The few Linux calls .NET does not expose: statx(2) for inode and nanosecond mtime, lseek(2) with SEEK_DATA/SEEK_HOLE to skip holes, fallocate(2) to punch them.</summary>
internal static unsafe partial class NativeFile
{
    private const int AtFdCwd = -100;
    private const uint StatxBasicStats = 0x7ff;
    private const int SeekData = 3;
    private const int SeekHole = 4;
    private const int Enxio = 6;
    private const int FallocKeepSize = 1;
    private const int FallocPunchHole = 2;

    /// <summary>The identity of the file at <paramref name="path"/>, or null when it is not a regular file.</summary>
    public static FileIdentity? Identify(string path)
    {
        // struct statx is the same on every architecture (linux/stat.h), unlike struct stat.
        var buffer = stackalloc byte[256];
        if (Statx(AtFdCwd, path, 0, StatxBasicStats, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == 2) // ENOENT
                return null;
            throw new IOException($"statx {path} failed: errno {errno}");
        }
        var mode = *(ushort*)(buffer + 28);
        if ((mode & 0xF000) != 0x8000) // S_IFREG
            return null;
        var inode = *(ulong*)(buffer + 32);
        var size = *(long*)(buffer + 40);
        var mtimeSec = *(long*)(buffer + 112);
        var mtimeNsec = *(uint*)(buffer + 120);
        var devMajor = *(uint*)(buffer + 136);
        var devMinor = *(uint*)(buffer + 140);
        return new FileIdentity(((ulong)devMajor << 32) | devMinor, inode, size, mtimeSec * 1_000_000_000 + mtimeNsec);
    }

    /// <summary>
    /// The byte ranges of <paramref name="handle"/> that hold data, skipping holes (a sparse 2 GB disk is not read in
    /// full). On a file system without SEEK_DATA the whole file is one range.
    /// </summary>
    public static List<(long Start, long End)> DataRanges(SafeFileHandle handle, long length)
    {
        var fd = (int)handle.DangerousGetHandle();
        var ranges = new List<(long, long)>();
        long at = 0;
        while (at < length)
        {
            var start = Lseek(fd, at, SeekData);
            if (start < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Enxio)
                    break; // only a hole up to the end
                return [(0, length)];
            }
            var end = Lseek(fd, start, SeekHole);
            if (end < 0)
                end = length;
            end = Math.Min(end, length);
            ranges.Add((start, end));
            at = end;
        }
        return ranges;
    }

    /// <summary>Deallocates a range (it reads as zeros afterwards); false when the file system cannot, so the caller writes zeros.</summary>
    public static bool PunchHole(SafeFileHandle handle, long offset, long length) =>
        Fallocate((int)handle.DangerousGetHandle(), FallocPunchHole | FallocKeepSize, offset, length) == 0;

    /// <summary>
    /// Starts writing the file's dirty pages to disk without waiting (sync_file_range(2), SYNC_FILE_RANGE_WRITE). A
    /// copy that calls this as it goes overlaps the disk writes with the transfer, so the fsync that makes the copy
    /// durable before RESP SUCCESS finds little left to do. Best effort: ignored where unsupported.
    /// </summary>
    public static void StartWriteback(SafeFileHandle handle) =>
        _ = SyncFileRange((int)handle.DangerousGetHandle(), 0, 0, SyncFileRangeWrite);

    private const uint SyncFileRangeWrite = 2;

    /// <summary>Calls <see cref="StartWriteback"/> each time another <see cref="Step"/> bytes were written.</summary>
    internal sealed class Writeback(SafeFileHandle handle)
    {
        public const long Step = 32L << 20;
        private long _pending;

        public void Wrote(long bytes)
        {
            if ((_pending += bytes) < Step)
                return;
            _pending = 0;
            StartWriteback(handle);
        }
    }

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int SyncFileRange(int fd, long offset, long nbytes, uint flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long Lseek(int fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    private static partial int Fallocate(int fd, int mode, long offset, long length);
}
