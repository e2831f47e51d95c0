using System.Globalization;
using System.Text.RegularExpressions;

namespace Virtuoso.Agent.Migration.Methods.Rsync;

/// <summary>What <c>rsync --stats</c> printed at the end of a transfer (numbers printed with <c>--no-h</c>).</summary>
/// <param name="LiteralBytes">File data that had to be sent (the delta).</param>
/// <param name="MatchedBytes">File data rebuilt from the basis file at the destination.</param>
/// <param name="BytesReceived">Everything the receiving side read from the network (data, checksums, file list).</param>
/// <param name="BytesSent">Everything it sent (mostly block checksums of the basis).</param>
internal sealed record RsyncStats(long LiteralBytes, long MatchedBytes, long BytesReceived, long BytesSent);

/// <summary>Parses rsync's output: <c>--info=progress2</c> lines and <c>--stats</c>. Pure, so every format quirk has a test.</summary>
internal static partial class RsyncOutput
{
    // "     12,345,678  45%   12.34MB/s    0:00:01 (xfr#1, to-chk=0/3)"; separators appear unless --no-h.
    [GeneratedRegex(@"^\s*(?<bytes>[\d,.]+)\s+(?<percent>\d{1,3})%\s")]
    private static partial Regex ProgressLine();

    [GeneratedRegex(@"^(?<name>Literal data|Matched data|Total bytes received|Total bytes sent):\s+(?<value>[\d,.]+)(\s|$)")]
    private static partial Regex StatsLine();

    /// <summary>Bytes of file data processed so far, from one progress2 line; null for any other line.</summary>
    public static long? Progress(string line)
    {
        var match = ProgressLine().Match(line);
        return match.Success ? Number(match.Groups["bytes"].Value) : null;
    }

    /// <summary>The byte counts of a <c>--stats</c> block, or null when any of the four is missing (rsync failed early).</summary>
    public static RsyncStats? Stats(IEnumerable<string> lines)
    {
        var values = new Dictionary<string, long>();
        foreach (var line in lines)
        {
            var match = StatsLine().Match(line.Trim());
            if (match.Success && Number(match.Groups["value"].Value) is { } value)
                values[match.Groups["name"].Value] = value;
        }
        return values.TryGetValue("Literal data", out var literal)
               && values.TryGetValue("Matched data", out var matched)
               && values.TryGetValue("Total bytes received", out var received)
               && values.TryGetValue("Total bytes sent", out var sent)
            ? new RsyncStats(literal, matched, received, sent)
            : null;
    }

    private static long? Number(string text)
    {
        var digits = text.Replace(",", "", StringComparison.Ordinal).Replace(".", "", StringComparison.Ordinal);
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
    }

    /// <summary>Splits rsync's stdout into lines at '\n' and at '\r' (progress2 redraws its line with '\r').</summary>
    public static async IAsyncEnumerable<string> LinesAsync(TextReader reader)
    {
        var buffer = new char[4096];
        var line = new System.Text.StringBuilder();
        int n;
        while ((n = await reader.ReadAsync(buffer)) > 0)
        {
            for (var i = 0; i < n; i++)
            {
                if (buffer[i] is '\r' or '\n')
                {
                    if (line.Length > 0)
                        yield return line.ToString();
                    line.Clear();
                }
                else if (line.Length < 4096)
                    line.Append(buffer[i]);
            }
        }
        if (line.Length > 0)
            yield return line.ToString();
    }
}
