using System.CommandLine;
using System.Text;
using Virtuoso.Cli.Output;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Isos;

/// <summary>
/// A buyer's ISO images (issue 15): <c>isos</c> lists them with the quota, <c>iso upload FILE</c> streams one up with a
/// progress bar on a terminal's stderr, <c>iso delete NAME</c>. Attaching is <c>edit ID --cdrom NAME|none</c>.
/// </summary>
internal static class IsoCommands
{
    public const string UploadHint = "virtuoso iso upload FILE.iso [--name NAME]";

    public static IEnumerable<Command> Build(Runner run)
    {
        var list = new Command("isos", "List your ISO images (name, size, SHA-256, the machines they are attached to) and your quota");
        run.Bind(list, Access.LoggedIn, async (_, session, ct) =>
            (await session.Api.GetAsync<IsoListResponse>("isos", ct)).Failed(out var failure, out var isos)
                ? failure
                : session.Show(isos, List));
        yield return list;
        yield return new Command("iso", "Upload or delete an ISO image; attach one with: virtuoso edit ID --cdrom NAME") { Upload(run), Delete(run) };
    }

    private static Command Upload(Runner run)
    {
        var file = new Argument<string>("FILE") { Description = "A bootable ISO 9660 image (El Torito), such as an installer" };
        var name = Opt.Text("--name", "Its name on your account (default: the file's name without extension)", "NAME");
        var command = new Command("upload", "Upload a bootable ISO image, streamed, within your quota; prints its size and SHA-256") { file, name };
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            var path = parse.GetValue(file)!;
            var isoName = parse.GetValue(name) ?? NameOf(path);
            FileStream stream;
            try
            {
                stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
            }
            catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
            {
                return new Failure(ExitCode.Usage, $"cannot read {path}: no such file", Failure.LocalFilesCode);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                return new Failure(ExitCode.Usage, $"cannot read {path}: {exception.Message}", Failure.LocalFilesCode);
            }

            await using (stream)
            {
                var length = stream.Length;
                var live = new LiveLine(session.Json || !session.Settings.ErrorTerminal ? TextWriter.Null : session.LiveErrors, terminal: true);
                var shown = -1;
                var result = await session.Api.UploadAsync<IsoResponse>($"isos/{Uri.EscapeDataString(isoName)}", stream, length, sent =>
                {
                    var percent = length == 0 ? 100 : (int)Math.Clamp(sent * 100 / length, 0, 100);
                    if (percent == shown)
                    {
                        return;
                    }

                    shown = percent;
                    live.Show(ProgressLine(isoName, sent, length));
                }, ct);
                live.End();
                return result.Failed(out var failure, out var iso)
                    ? failure
                    : session.Show(iso, Uploaded);
            }
        });
        return command;
    }

    private static Command Delete(Runner run)
    {
        var name = new Argument<string>("NAME") { Description = "One of your ISO images" };
        var command = new Command("delete", "Delete one of your ISO images (refused while a machine has it attached: --cdrom none first)") { name };
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            var iso = parse.GetValue(name)!;
            return (await session.Api.SendForAnyAsync(HttpMethod.Delete, $"isos/{Uri.EscapeDataString(iso)}", null, ct)).Failed(out var failure, out _)
                ? failure
                : session.Show(new { }, (output, _) => output.WriteLine($"Deleted ISO {iso}."));
        });
        return command;
    }

    /// <summary>
    /// The default name of an upload: the file's name without its extension, each character the server does not take in a
    /// name made '-', at most 64 characters, starting with a letter or digit ("Debian 12 (netinst).iso" → "Debian-12--netinst-").
    /// </summary>
    public static string NameOf(string path)
    {
        var stem = Path.GetFileNameWithoutExtension(path);
        var name = new StringBuilder();
        foreach (var c in stem)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-');
        }

        var text = name.ToString().TrimStart('.', '_', '-');
        text = text.Length > 64 ? text[..64] : text;
        return text.Length == 0 || text.Equals("none", StringComparison.OrdinalIgnoreCase) ? "iso" + (text.Length == 0 ? "" : "-" + text) : text;
    }

    public static string ProgressLine(string name, long sent, long total)
    {
        var percent = total == 0 ? 100 : (int)Math.Clamp(sent * 100 / total, 0, 100);
        return $"uploading {name} {LiveLine.Bar(percent)} {percent,3}%  {Text.Size(sent)} of {Text.Size(total)}";
    }

    private static void Uploaded(TextWriter output, IsoResponse iso)
    {
        output.WriteLine($"Uploaded ISO {iso.Name}: {Text.Size(iso.Size)} ({Text.Number(iso.Size)} bytes), SHA-256 {iso.Sha256}.");
        output.WriteLine($"Attach it to a machine that is not running with: virtuoso edit ID --cdrom {iso.Name}");
    }

    private static void List(TextWriter output, IsoListResponse list)
    {
        var quota = $"{Text.Size(list.UsedBytes)} used of your {Text.Size(list.QuotaBytes)} ISO quota.";
        if (list.Isos.Count == 0)
        {
            output.WriteLine($"No ISO images yet. Upload a bootable one with: {UploadHint}");
            output.WriteLine(quota);
            return;
        }

        var table = new Table("NAME", "SIZE", "SHA256", "ATTACHED TO");
        foreach (var iso in list.Isos)
        {
            table.Add(iso.Name, Text.Size(iso.Size), iso.Sha256[..12], iso.AttachedTo.Count == 0 ? "-" : string.Join(", ", iso.AttachedTo));
        }

        table.WriteTo(output);
        output.WriteLine(quota);
    }
}
