using System.CommandLine;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Output;

/// <summary>
/// The paging options of the list commands (ledger, events; issue 13): newest first, <c>--limit</c> entries, <c>--before SEQ</c>
/// for older ones; a full page ends with the command that shows the next one.
/// </summary>
internal sealed class Pages
{
    public Option<long?> Limit { get; } = Opt.Whole("--limit", $"How many, newest first (at most {Paging.MaxLimit}; default {Paging.DefaultLimit})", "N");
    public Option<long?> Before { get; } = Opt.Whole("--before", "Only those older than this SEQ (the last one of the previous page)", "SEQ");

    public void AddTo(Command command)
    {
        command.Options.Add(Limit);
        command.Options.Add(Before);
    }

    /// <summary>
    /// <paramref name="path"/> with <paramref name="filter"/> (null for none) and the paging parameters as its query string;
    /// the server refuses a limit past the maximum.
    /// </summary>
    public string Path(string path, string? filter, ParseResult parse)
    {
        string?[] query = [filter, parse.GetValue(Limit) is { } limit ? $"limit={limit}" : null, parse.GetValue(Before) is { } before ? $"before={before}" : null];
        var given = query.OfType<string>().ToList();
        return given.Count == 0 ? path : $"{path}?{string.Join('&', given)}";
    }

    /// <summary>After a full page: the command line that shows the next, older one.</summary>
    public static void Next(TextWriter output, int count, long? limit, long oldestSeq, string command)
    {
        if (count > 0 && count == (limit ?? Paging.DefaultLimit))
            output.WriteLine($"Older: virtuoso {command} --before {oldestSeq}{(limit is { } l ? $" --limit {l}" : "")}");
    }
}
