using System.Collections;

namespace Virtuoso.Cli;

internal static class Program
{
    private static Task<int> Main(string[] args)
    {
        var environment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .ToDictionary(entry => (string)entry.Key, entry => (string?)entry.Value);
        return Cli.RunAsync(args, Console.Out, Console.Error, CliSettings.From(environment) with
        {
            Terminal = !Console.IsOutputRedirected,
            ErrorTerminal = !Console.IsErrorRedirected,
            Stdio = new Stdio(Console.OpenStandardInput(), Console.OpenStandardOutput(), Inherited: true),
        });
    }
}
