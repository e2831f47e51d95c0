using System.CommandLine;
using Virtuoso.Cli.Output;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Notifications;

/// <summary>Issue 18: what the account should not miss, newest first, a page at a time; mark them read; the low-balance threshold.</summary>
internal static class NotificationCommands
{
    public static IEnumerable<Command> Build(Runner run)
    {
        var markRead = new Option<bool>("--mark-read") { Description = "Then mark every notification read" };
        var threshold = Opt.Text("--balance-threshold",
            "Be told when a charge takes your balance under this many dollars ('none': never), instead of listing", "DOLLARS");
        var command = new Command("notifications", "Show your notifications (machines stopped or suspended by the system, hosts offline, migrations, low balance), newest first")
            { markRead, threshold };
        var pages = new Pages();
        pages.AddTo(command);
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            if (parse.GetValue(threshold) is { } text)
            {
                decimal? value = null;
                if (!text.Equals("none", StringComparison.OrdinalIgnoreCase))
                {
                    if (!decimal.TryParse(text, System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out var d))
                    {
                        return Failure.Usage($"--balance-threshold must be an amount of dollars or 'none', not '{text}'");
                    }

                    value = d;
                }

                return (await session.Api.SendAsync<NotificationSettings>(HttpMethod.Put, "notifications/settings", new NotificationSettings(value), ct))
                    .Failed(out var refused, out var settings)
                    ? refused
                    : session.Show(settings, (output, s) => output.WriteLine(s.BalanceThreshold is { } t
                        ? $"You will be told when a charge takes your balance under {Text.Money(t)}."
                        : "You will not be told about your balance."));
            }

            if ((await session.Api.GetAsync<NotificationResponse[]>(pages.Path("notifications", null, parse), ct)).Failed(out var failure, out var notes))
            {
                return failure;
            }

            if (parse.GetValue(markRead) && notes.Length > 0
                && (await session.Api.SendAsync<UnreadNotifications>(HttpMethod.Post, "notifications/read", new MarkNotificationsRead(), ct)).Failed(out var notMarked, out _))
            {
                return notMarked;
            }

            return session.Show(notes, (output, value) =>
            {
                Write(output, value);
                Pages.Next(output, value.Length, parse.GetValue(pages.Limit), value.Length > 0 ? value[^1].Seq : 0, "notifications");
            });
        });
        yield return command;
    }

    private static void Write(TextWriter output, NotificationResponse[] notes)
    {
        if (notes.Length == 0)
        {
            output.WriteLine("No notifications.");
            return;
        }

        foreach (var n in notes)
        {
            output.WriteLine($"{Text.Time(n.At)}{(n.Read ? "" : " [new]")} {n.Text}");
            if (n.Detail is { } detail)
            {
                output.WriteLine($"    {detail}");
            }
        }
    }
}
