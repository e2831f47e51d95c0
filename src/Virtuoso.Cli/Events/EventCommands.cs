using System.CommandLine;
using Virtuoso.Cli.Machines;
using Virtuoso.Cli.Output;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Events;

/// <summary>The event log (design §8): your machines' events, oldest first.</summary>
internal static class EventCommands
{
    public static IEnumerable<Command> Build(Runner run)
    {
        var machine = Opt.Text("--machine", "Only this machine's events (id, id prefix or name)", "ID");
        var command = new Command("events", "Show the event log of your machines") { machine };
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            var path = "events";
            if (parse.GetValue(machine) is { } reference)
            {
                if ((await MachineRef.ResolveAsync(session.Api, reference, ct)).Failed(out var notFound, out var machineId))
                {
                    return notFound;
                }

                path += $"?machine={machineId}";
            }

            return (await session.Api.GetAsync<EventResponse[]>(path, ct)).Failed(out var failure, out var events)
                ? failure
                : session.Show(events, Write);
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
