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
        var machine = Opt.Text("--machine", "Only this machine's events (id, id prefix or name)", "ID");
        var command = new Command("events", "Show the event log of your machines, newest first, a page at a time") { machine };
        var pages = new Pages();
        pages.AddTo(command);
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            string? filter = null;
            if (parse.GetValue(machine) is { } reference)
            {
                if ((await MachineRef.ResolveAsync(session.Api, reference, ct)).Failed(out var notFound, out var machineId))
                {
                    return notFound;
                }

                filter = $"machine={machineId}";
            }

            return (await session.Api.GetAsync<EventResponse[]>(pages.Path("events", filter, parse), ct)).Failed(out var failure, out var events)
                ? failure
                : session.Show(events, (output, value) =>
                {
                    Write(output, value);
                    Pages.Next(output, value.Length, parse.GetValue(pages.Limit), value.Length > 0 ? value[^1].Seq : 0,
                        "events" + (parse.GetValue(machine) is { } m ? $" --machine {m}" : ""));
                });
        });
        yield return command;
    }

    private static void Write(TextWriter output, EventResponse[] events)
    {
        if (events.Length == 0)
        {
            output.WriteLine("No events yet.");
            return;
        }

        var table = new Table("SEQ", "TIME", "ORIGIN", "KIND", "MACHINE", "MESSAGE");
        foreach (var e in events)
        {
            table.Add(Text.Number(e.Seq), Text.Time(e.At), e.Origin, e.Kind, e.Machine is { } id ? Text.ShortId(id) : "-", e.Message);
        }

        table.WriteTo(output);
    }
}
