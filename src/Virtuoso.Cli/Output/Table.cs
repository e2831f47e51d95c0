namespace Virtuoso.Cli.Output;

/// <summary>Plain aligned columns separated by two spaces; the last column is not padded.</summary>
internal sealed class Table(params string[] headers)
{
    private readonly List<string[]> rows = [];

    public int Count => rows.Count;

    public Table Add(params string[] cells)
    {
        if (cells.Length != headers.Length)
        {
            throw new ArgumentException($"a row of {cells.Length} cells in a table of {headers.Length} columns", nameof(cells));
        }

        // A cell is one line, or the columns break.
        rows.Add(cells.Select(cell => cell.ReplaceLineEndings(" ")).ToArray());
        return this;
    }

    public void WriteTo(TextWriter output)
    {
        var widths = headers.Select((header, column) => rows.Aggregate(header.Length, (width, row) => Math.Max(width, row[column].Length))).ToArray();
        WriteRow(output, headers, widths);
        foreach (var row in rows)
        {
            WriteRow(output, row, widths);
        }
    }

    private static void WriteRow(TextWriter output, string[] cells, int[] widths)
    {
        var padded = cells.Select((cell, column) => column == cells.Length - 1 ? cell : cell.PadRight(widths[column]));
        output.WriteLine(string.Join("  ", padded).TrimEnd());
    }
}

/// <summary>Labelled values, one a line, the values aligned: a record shown on its own.</summary>
internal static class Fields
{
    public static void Write(TextWriter output, params (string Label, string? Value)[] fields)
    {
        var shown = fields.Where(field => !string.IsNullOrEmpty(field.Value)).ToList();
        var width = shown.Count == 0 ? 0 : shown.Max(field => field.Label.Length) + 1;
        foreach (var (label, value) in shown)
        {
            output.WriteLine($"{(label + ":").PadRight(width)}  {value}");
        }
    }
}
