namespace Virtuoso.Cli.Output;

/// <summary>
/// Progress shown as it happens, outside the buffered output (migrate on stdout, iso upload on stderr). On a terminal one
/// line redrawn in place and cleared at the end; otherwise a plain line whenever the text changes.
/// </summary>
internal sealed class LiveLine(TextWriter output, bool terminal)
{
    private string last = "";
    private int width;

    public bool Terminal => terminal;

    public void Show(string line)
    {
        if (line == last)
        {
            return;
        }

        last = line;
        if (terminal)
        {
            output.Write("\r" + line.PadRight(width));
            width = Math.Max(width, line.Length);
        }
        else
        {
            output.WriteLine(line);
        }

        output.Flush();
    }

    public void End()
    {
        if (terminal && width > 0)
        {
            output.Write("\r" + new string(' ', width) + "\r");
            output.Flush();
        }
    }

    /// <summary>A 20-character bar of <paramref name="percent"/>: <c>[#####---------------]</c>.</summary>
    public static string Bar(int percent) => $"[{new string('#', percent / 5)}{new string('-', 20 - percent / 5)}]";
}
