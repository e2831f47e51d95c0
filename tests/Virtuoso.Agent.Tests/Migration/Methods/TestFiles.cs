using System.Diagnostics;

namespace Virtuoso.Agent.Tests.Migration.Methods;

/// <summary>Makes the files that transfer tests move: seeded random data, holes, zero blocks, real qcow2 images.</summary>
internal static class TestFiles
{
    public const int Block = 64 * 1024;

    /// <summary>A file of <paramref name="length"/> bytes; <paramref name="data"/> lists the (offset, length) ranges written with seeded random bytes, the rest is a hole.</summary>
    public static void Sparse(string path, long length, int seed, params (long Offset, long Length)[] data)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        stream.SetLength(length);
        var random = new Random(seed);
        foreach (var (offset, count) in data)
            WriteRandom(stream, random, offset, count);
    }

    public static void Random(string path, long length, int seed) => Sparse(path, length, seed, (0, length));

    /// <summary>Overwrites the given blocks with new random bytes (a whole block each).</summary>
    public static void RewriteBlocks(string path, int seed, IEnumerable<int> blocks)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
        var random = new Random(seed);
        foreach (var block in blocks)
            WriteRandom(stream, random, (long)block * Block, Math.Min(Block, stream.Length - (long)block * Block));
    }

    public static void WriteZeros(string path, long offset, int length)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
        stream.Position = offset;
        stream.Write(new byte[length]);
    }

    private static void WriteRandom(FileStream stream, Random random, long offset, long count)
    {
        var buffer = new byte[1 << 20];
        stream.Position = offset;
        while (count > 0)
        {
            var n = (int)Math.Min(buffer.Length, count);
            random.NextBytes(buffer.AsSpan(0, n));
            stream.Write(buffer, 0, n);
            count -= n;
        }
    }

    /// <summary>Bytes of <paramref name="path"/> that are allocated data (not holes), by SEEK_DATA/SEEK_HOLE.</summary>
    public static long AllocatedBytes(string path)
    {
        var blocks = Run("stat", "-c", "%b %B", path).Split(' ');
        return long.Parse(blocks[0]) * long.Parse(blocks[1]);
    }

    public static string Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} did not finish within 60 s");
        }
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)} failed: {error}");
        return output.Trim();
    }
}
