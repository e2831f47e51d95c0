using System.CommandLine;
using Virtuoso.Cli.Output;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Accounts;

/// <summary>The account's SSH public keys (issue 14): list, add from a .pub file, delete. Buyers and providers alike.</summary>
internal static class KeyCommands
{
    /// <summary>Largest file read: a public key line is at most a few KB; anything bigger is some other file.</summary>
    private const int MaxFileBytes = 64 * 1024;

    public static IEnumerable<Command> Build(Runner run)
    {
        var command = new Command("keys", "List your SSH public keys (name, type, fingerprint); add or delete one") { Add(run), Delete(run) };
        run.Bind(command, Access.LoggedIn, async (_, session, ct) =>
            (await session.Api.GetAsync<KeyResponse[]>("keys", ct)).Failed(out var failure, out var keys)
                ? failure
                : session.Show(keys, List));
        yield return command;
    }

    private static Command Add(Runner run)
    {
        var name = new Argument<string>("NAME") { Description = "A name for the key on your account, such as laptop" };
        var file = Opt.Text("--file", "The public key file, such as ~/.ssh/id_ed25519.pub (never the private key)", "PATH.pub", required: true);
        var command = new Command("add", "Add an SSH public key: your machines get it at their next start") { name, file };
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            if (Read(parse.GetValue(file)!).Failed(out var unreadable, out var text))
            {
                return unreadable;
            }

            return (await session.Api.SendAsync<KeyResponse>(HttpMethod.Post, "keys", new AddKeyRequest(parse.GetValue(name)!, text), ct))
                .Failed(out var failure, out var key)
                ? failure
                : session.Show(key, (output, k) => output.WriteLine($"Added key {k.Name}: {k.Type} {k.Fingerprint}. Machines get it from their next start."));
        });
        return command;
    }

    private static Command Delete(Runner run)
    {
        var name = new Argument<string>("NAME") { Description = "One of your keys" };
        var command = new Command("delete", "Delete one of your SSH keys: machines started from then on no longer accept it") { name };
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            var key = parse.GetValue(name)!;
            return (await session.Api.SendForAnyAsync(HttpMethod.Delete, $"keys/{Uri.EscapeDataString(key)}", null, ct)).Failed(out var failure, out _)
                ? failure
                : session.Show(new { }, (output, _) => output.WriteLine($"Deleted key {key}."));
        });
        return command;
    }

    /// <summary>
    /// The file's text, for the server to judge; but a private key is refused here, so that it never leaves the machine.
    /// </summary>
    private static Result<string> Read(string path)
    {
        string text;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxFileBytes)
            {
                return Failure.Usage($"{path} is {info.Length} bytes: not a public key file (give the .pub file, such as ~/.ssh/id_ed25519.pub)");
            }

            text = File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return new Failure(ExitCode.Usage, $"cannot read {path}: no such file", Failure.LocalFilesCode);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return new Failure(ExitCode.Usage, $"cannot read {path}: {exception.Message}", Failure.LocalFilesCode);
        }

        return text.Contains("PRIVATE KEY", StringComparison.Ordinal) || text.StartsWith("PuTTY-User-Key-File", StringComparison.Ordinal)
            ? new Failure(ExitCode.Usage, $"{path} is a private key; give the .pub file (it was not sent)", ErrorCodes.InvalidKey)
            : text;
    }

    private static void List(TextWriter output, KeyResponse[] keys)
    {
        if (keys.Length == 0)
        {
            output.WriteLine("No SSH keys yet. Add one with: virtuoso keys add NAME --file ~/.ssh/id_ed25519.pub");
            return;
        }

        var table = new Table("NAME", "TYPE", "BITS", "FINGERPRINT", "COMMENT");
        foreach (var k in keys)
        {
            table.Add(k.Name, k.Type, k.Bits.ToString(System.Globalization.CultureInfo.InvariantCulture), k.Fingerprint,
                k.PublicKey.Split(' ', 3) is [_, _, var comment] ? comment : "");
        }

        table.WriteTo(output);
    }
}
