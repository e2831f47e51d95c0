using System.CommandLine;
using Virtuoso.Cli.Machines;
using Virtuoso.Cli.Output;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Events;

/// <summary>The event log (design §8): your machines' events, newest first, a page at a time.</summary>
internal static class EventCommands
{
    public static IEnumerable<Command> Build(Runner run)
    {
        var machine = Opt.Text("--machine", "Only this machine's events (id, id prefix or name; with --all, its full id)", "ID");
        var all = new Option<bool>("--all") { Description = "Operator: every event, the front-end's and the hosts' agents', newest first by time" };
        var host = Opt.Text("--host", "Operator: only the events this host's agent wrote (implies --all)", "HOST");
        var kind = Opt.Text("--kind", "Operator: only events of this kind, e.g. failed or vmmp (implies --all)", "KIND");
        var command = new Command("events", "Show the event log of your machines, newest first, a page at a time") { machine, all, host, kind };
        var pages = new Pages();
        pages.AddTo(command);
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            // Issue 19: the operator's view of all events; the server checks the role and the filters.
            var everyone = parse.GetValue(all) || parse.GetValue(host) is not null || parse.GetValue(kind) is not null;
            string? filter = null;
            if (everyone)
            {
                string?[] filters = [Query("host", parse.GetValue(host)), Query("machine", parse.GetValue(machine)), Query("kind", parse.GetValue(kind))];
                filter = filters.OfType<string>().ToList() is { Count: > 0 } given ? string.Join('&', given) : null;
            }
            else if (parse.GetValue(machine) is { } reference)
            {
                if ((await MachineRef.ResolveAsync(session.Api, reference, ct)).Failed(out var notFound, out var machineId))
                {
                    return notFound;
                }

                filter = $"machine={machineId}";
            }

            return (await session.Api.GetAsync<EventResponse[]>(pages.Path(everyone ? "events/all" : "events", filter, parse), ct)).Failed(out var failure, out var events)
                ? failure
                : session.Show(events, (output, value) =>
                {
                    Write(output, value, everyone);
                    Pages.Next(output, value.Length, parse.GetValue(pages.Limit), value.Length > 0 ? value[^1].Seq : 0,
                        "events" + (everyone ? " --all" : "") + string.Concat(new[] { ("host", parse.GetValue(host)), ("machine", parse.GetValue(machine)), ("kind", parse.GetValue(kind)) }
                            .Where(o => o.Item2 is not null).Select(o => $" --{o.Item1} {o.Item2}")));
                });
        });
        yield return command;
    }

    private static string? Query(string name, string? value) => value is null ? null : $"{name}={Uri.EscapeDataString(value)}";

    private static void Write(TextWriter output, EventResponse[] events, bool everyone = false)
    {
        if (events.Length == 0)
        {
            output.WriteLine(everyone ? "No events match." : "No events yet.");
            return;
        }

        var table = new Table("SEQ", "TIME", "ORIGIN", "KIND", "MACHINE", "MESSAGE");
        foreach (var e in events)
        {
            // An agent's event (issue 19) names its host.
            table.Add(Text.Number(e.Seq), Text.Time(e.At), e.Host is { } h ? $"agent:{h}" : e.Origin, e.Kind, e.Machine is { } id ? Text.ShortId(id) : "-", e.Message);
        }

        table.WriteTo(output);
    }
}
