using Dapper;
using Virtuoso.Contracts.Api;
using Virtuoso.Core;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Http;

namespace Virtuoso.FrontEnd.Events;

/// <summary>
/// Issue 18: what an account should not miss, derived from the event log rather than recorded twice: the events of a few kinds
/// (<see cref="NotificationText.Kinds"/>) about the account's machines, hosts and balance. An account stores only how far it
/// has read them (an event seq) and the balance under which it wants to be told.
/// </summary>
internal sealed class Notifications(Database db)
{
    /// <summary>The events that are notifications: their kinds, less the two that repeat another (see <see cref="NotificationText"/>).</summary>
    private static readonly string Where =
        // Only the front-end's own: an agent's event of the same kind (its "migrated", say) is the host's record, not news (issue 19).
        "e.account = @account AND e.origin = 'front-end' AND e.kind IN (" + string.Join(", ", NotificationText.Kinds.Select(k => $"'{k}'")) + ") " +
        // A buyer's "migrated" repeats their migration-done; a provider's own deletion of a host is no news to them.
        "AND (e.kind <> 'migrated' OR m.owner IS NULL OR e.account <> m.owner) AND (e.kind <> 'host-deleted' OR e.machine IS NOT NULL)";

    private const string From = "FROM events e LEFT JOIN machines m ON m.id = e.machine ";

    /// <summary>A page of <paramref name="account"/>'s notifications, newest first, older than <paramref name="before"/> when given.</summary>
    public async Task<IReadOnlyList<NotificationResponse>> ListAsync(string account, int limit = Paging.DefaultLimit, long? before = null)
    {
        var (rows, read) = await db.ReadAsync(async c =>
        {
            var read = await c.ExecuteScalarAsync<long>("SELECT notifications_read FROM accounts WHERE username = @account", new { account });
            var rows = await c.QueryAsync<(long Seq, DateTimeOffset At, string Kind, Guid? Machine, string Message, string? Name, string? Owner)>(
                "SELECT e.seq, e.at, e.kind, e.machine, e.message, m.name, m.owner " + From + "WHERE " + Where +
                (before is null ? "" : " AND e.seq < @before") + " ORDER BY e.seq DESC LIMIT @limit", new { account, before, limit });
            return (rows.ToList(), read);
        });
        return rows.Select(r =>
        {
            var (text, detail) = NotificationText.Describe(r.Kind, r.Machine, r.Name, r.Message);
            return new NotificationResponse(r.Seq, r.At, r.Kind, r.Machine, r.Name, text, detail, r.Seq <= read);
        }).ToList();
    }

    /// <summary>How many notifications are newer than the read marker (the header's count).</summary>
    public Task<UnreadNotifications> UnreadAsync(string account) => db.ReadAsync(async c =>
    {
        var read = await c.ExecuteScalarAsync<long>("SELECT notifications_read FROM accounts WHERE username = @account", new { account });
        var unread = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) " + From + "WHERE " + Where + " AND e.seq > @read", new { account, read });
        return new UnreadNotifications((int)unread, read);
    });

    /// <summary>
    /// Marks read every notification up to <paramref name="upTo"/>, or all there are now; the marker never moves back, so a
    /// page viewed before a newer one was marked cannot unread it.
    /// </summary>
    public async Task<Outcome<UnreadNotifications>> MarkReadAsync(string account, long? upTo)
    {
        if (upTo is < 0) return Failure.Validation($"upTo must be an event sequence number (0 or more), not {upTo}");
        await db.WriteAsync(async (c, tx) =>
        {
            var newest = upTo ?? await c.ExecuteScalarAsync<long?>("SELECT MAX(e.seq) " + From + "WHERE " + Where, new { account }, tx) ?? 0;
            return await c.ExecuteAsync("UPDATE accounts SET notifications_read = @newest WHERE username = @account AND notifications_read < @newest",
                new { newest, account }, tx);
        });
        return await UnreadAsync(account);
    }

    public Task<NotificationSettings> SettingsAsync(string account) => db.ReadAsync(async c =>
        new NotificationSettings(await c.ExecuteScalarAsync<string?>("SELECT balance_threshold FROM accounts WHERE username = @account", new { account }) is { } text
            ? decimal.Parse(text, System.Globalization.CultureInfo.InvariantCulture) : null));

    /// <summary>Sets (or, with null, clears) the balance under which the account is told; from 0 to 1,000,000 dollars.</summary>
    public async Task<Outcome<NotificationSettings>> SetAsync(string account, NotificationSettings settings)
    {
        if (settings.BalanceThreshold is { } t && (t < 0 || t > MaxThreshold))
            return Failure.Validation($"the balance threshold must be between 0 and {MaxThreshold} dollars (or none), not {Money.Format(t)}");
        await db.WriteAsync((c, tx) => c.ExecuteAsync("UPDATE accounts SET balance_threshold = @threshold WHERE username = @account",
            new { threshold = settings.BalanceThreshold is { } d ? TypeHandlers.DecimalText(d) : null, account }, tx));
        return await SettingsAsync(account);
    }

    public const decimal MaxThreshold = 1_000_000m;
}

/// <summary>
/// Issue 18: a notification in words, from its event. Pure. The text is a sentence of our own per kind, with the machine's
/// name; the detail is the event's message (with the machine's id replaced by its name), which says the rest. Events without a
/// machine (a provider's host, an account's balance) are written as sentences already, and are their own text.
/// </summary>
internal static class NotificationText
{
    public static readonly IReadOnlyList<string> Kinds =
        ["suspended-unpaid", "powered-off", "host-offline", "host-back", "host-deleted", "migrated", "migration-done", "migration-reverted", "balance-low"];

    public static (string Text, string? Detail) Describe(string kind, Guid? machine, string? machineName, string message)
    {
        if (machine is not { } id) return (message, null);
        var name = machineName ?? $"{id.ToString("D")[..8]} (deleted since)";
        var detail = machineName is null ? message : message.Replace(id.ToString("D"), machineName, StringComparison.OrdinalIgnoreCase);
        var text = kind switch
        {
            "suspended-unpaid" => $"Your machine {name} was suspended: your balance did not cover its next running period. Add money, then resume it.",
            "powered-off" => $"Your machine {name} stopped: it was found powered off on its host.",
            "host-offline" => $"The host of your machine {name} is offline.",
            "host-back" => $"The host of your machine {name} answers again.",
            "host-deleted" => $"Your machine {name} was removed from its host: the provider deleted the host. Store it on another host.",
            "migrated" => $"The machine {name} moved between hosts, one of them yours.",
            "migration-done" => $"Your machine {name} finished migrating.",
            "migration-reverted" => $"The migration of your machine {name} failed; it stays where it was.",
            _ => $"Your machine {name}: {kind}.",
        };
        return (text, detail);
    }
}
