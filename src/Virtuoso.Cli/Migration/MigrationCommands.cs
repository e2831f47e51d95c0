using System.CommandLine;
using Virtuoso.Cli.Machines;
using Virtuoso.Cli.Output;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Migration;

/// <summary>
/// <c>virtuoso migrate ID</c> lists where the machine can go (report Figure 20); <c>virtuoso migrate ID --host HOST --method
/// METHOD</c> moves it there (report §5.1.5, design §6.2) and follows the migration to its end: a progress bar on a terminal,
/// plain lines otherwise, one JSON object with --json. Exit 0 when it is done, 1 with one line on stderr when it was reverted.
/// </summary>
internal static class MigrationCommands
{
    public const string RevertedCode = "migration-reverted";

    public static IEnumerable<Command> Build(Runner run)
    {
        yield return Migrate(run);
    }

    private static Command Migrate(Runner run)
    {
        var id = new Argument<string>("ID") { Description = "The machine: its id, a unique prefix of it (8+ hex digits), or its unique name" };
        var host = Opt.Text("--host", "The destination host; without it, list the hosts the machine can go to", "HOST");
        var method = Opt.Text("--method", "Transfer method the destination offers: SCP (full copy), RSYNC (delta), DEDUP (block hashes); default SCP", "METHOD");
        var command = new Command("migrate", "Move a stored, stopped or suspended machine to another host, or list where it can go") { id, host, method };
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            if ((await MachineRef.ResolveAsync(session.Api, parse.GetValue(id)!, ct)).Failed(out var notFound, out var machineId))
            {
                return notFound;
            }

            var destination = parse.GetValue(host);
            if (destination is null)
            {
                if (parse.GetResult(method) is not null)
                {
                    return Failure.Usage("--method goes with --host HOST");
                }

                return (await session.Api.GetAsync<MigrationTargetsResponse>($"machines/{machineId}/migration-targets", ct)).Failed(out var failure, out var targets)
                    ? failure
                    : session.Show(targets, MigrationText.Targets);
            }

            // What leaving the origin gives up, read just before the move (issue 18): said in one line once it is done.
            if ((await session.Api.GetAsync<MigrationTargetsResponse>($"machines/{machineId}/migration-targets", ct)).Failed(out var unknown, out var before))
            {
                return unknown;
            }

            var request = new MigrateRequest(destination, (parse.GetValue(method) ?? "SCP").ToUpperInvariant());
            if ((await session.Api.SendAsync<MigrationResponse>(HttpMethod.Post, $"machines/{machineId}/migrate", request, ct)).Failed(out var refused, out var migration))
            {
                return refused;
            }

            return await FollowAsync(session, machineId, migration, before.Forfeit, ct);
        });
        return command;
    }

    /// <summary>Polls the migration until it is done or reverted, drawing progress as it goes.</summary>
    private static async Task<Failure?> FollowAsync(Session session, Guid machineId, MigrationResponse migration, ForfeitResponse? forfeit, CancellationToken ct)
    {
        var progress = new LiveLine(session.Json ? TextWriter.Null : session.Live, session.Settings.Terminal);
        progress.Show(MigrationText.ProgressLine(migration, progress.Terminal));
        // A re-migration of a cached machine ends in well under a second, a first one in seconds: look every 25 ms
        // for the first two seconds, every 100 ms for the first minute (a cheap read, 1-5 ms on the front-end), then
        // every Poll, so that the end is not reported late by a good part of the time it took.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (migration.Phase is MigrationStates.Open or MigrationStates.Committed)
        {
            await Task.Delay(watch.Elapsed.TotalSeconds switch
            {
                < 2 => TimeSpan.FromMilliseconds(25),
                < 60 => TimeSpan.FromMilliseconds(Math.Min(100, session.Settings.Poll.TotalMilliseconds)),
                _ => session.Settings.Poll,
            }, ct);
            if ((await session.Api.GetAsync<MigrationResponse>($"machines/{machineId}/migration", ct)).Failed(out var failure, out var next))
            {
                progress.End();
                return failure;
            }

            migration = next;
            progress.Show(MigrationText.ProgressLine(migration, progress.Terminal));
        }

        progress.End();
        if (migration.Phase == MigrationStates.Reverted)
        {
            return new Failure(ExitCode.Refused,
                $"migration to {migration.To} failed and was undone: {migration.Error}; the machine stays on {migration.From}, {migration.PreviousState}, version {migration.Version}",
                RevertedCode);
        }

        return session.Show(migration, (output, m) => MigrationText.Done(output, m, forfeit));
    }
}
