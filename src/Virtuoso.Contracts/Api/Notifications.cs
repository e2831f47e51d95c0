namespace Virtuoso.Contracts.Api;

/// <summary>
/// GET /api/v1/notifications (issue 18): the events an account should not miss, newest first, paged like the event log
/// (<c>?limit=</c>, <c>?before=SEQ</c>). They are events of the log (<see cref="EventResponse"/>), not a second record:
/// <paramref name="Seq"/> is the event's; <paramref name="Text"/> says what happened in a sentence with the machine's name,
/// <paramref name="Detail"/> is the event's own message (null when the text is it).
/// </summary>
/// <param name="Kind">The event kind: suspended-unpaid, powered-off, host-offline, host-back, host-deleted, migrated,
/// migration-done, migration-reverted or balance-low.</param>
/// <param name="Read">Whether it is at or before the account's read marker.</param>
public sealed record NotificationResponse(long Seq, DateTimeOffset At, string Kind, Guid? Machine, string? MachineName, string Text, string? Detail, bool Read);

/// <summary>GET|PUT /api/v1/notifications/settings: the balance under which the account wants to be told (null: never).</summary>
public sealed record NotificationSettings(decimal? BalanceThreshold);

/// <summary>GET /api/v1/notifications/unread: how many notifications are newer than the read marker.</summary>
public sealed record UnreadNotifications(int Unread, long ReadUpTo);

/// <summary>POST /api/v1/notifications/read: marks read every notification up to <paramref name="UpTo"/> (a seq), or all when null.</summary>
public sealed record MarkNotificationsRead(long? UpTo = null);
