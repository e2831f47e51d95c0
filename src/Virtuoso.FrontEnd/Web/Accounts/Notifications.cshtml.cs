using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Events;

namespace Virtuoso.FrontEnd.Web.Accounts;

/// <summary>
/// My notifications (issue 18): machines stopped or suspended by the system, hosts offline, migrations finished or failed, a
/// balance under the threshold set here. Viewing the page marks what it shows read (those newer than the marker are
/// highlighted this once); the same <see cref="Notifications"/> as /api/v1/notifications.
/// </summary>
internal sealed class NotificationsModel(Notifications notifications, TimeProvider clock) : WebPage
{
    public const int PageRows = 50;

    public IReadOnlyList<NotificationResponse> Items { get; private set; } = [];
    public decimal? Threshold { get; private set; }
    public long? OlderBefore => Items.Count == PageRows ? Items[^1].Seq : null;
    public DateTimeOffset Now => clock.GetUtcNow();

    public async Task OnGetAsync(long? before)
    {
        await LoadAsync(before);
        if (Items.Count > 0 && Items[0].Read is false) await notifications.MarkReadAsync(Me, Items[0].Seq);
    }

    public async Task<IActionResult> OnPostReadAsync()
    {
        await notifications.MarkReadAsync(Me, null);
        Notice = "Every notification is marked read.";
        return Redirect("/account/notifications");
    }

    public async Task<IActionResult> OnPostThresholdAsync(string? threshold)
    {
        decimal? value = null;
        if (!string.IsNullOrWhiteSpace(threshold))
        {
            if (!decimal.TryParse(threshold.Trim().TrimStart('$'), System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out var parsed))
            {
                await LoadAsync(null);
                return Invalid($"the balance threshold must be an amount of dollars such as 5 or 12.50, not '{threshold}'");
            }
            value = parsed;
        }
        var set = await notifications.SetAsync(Me, new NotificationSettings(value));
        if (set.Failure is { } f)
        {
            await LoadAsync(null);
            return Fail(f);
        }
        Notice = value is { } v ? $"You will be told when a charge takes your balance under {Show.Money(v)}." : "You will not be told about your balance.";
        return Redirect("/account/notifications");
    }

    private async Task LoadAsync(long? before)
    {
        Items = await notifications.ListAsync(Me, PageRows, before is > 0 ? before : null);
        Threshold = (await notifications.SettingsAsync(Me)).BalanceThreshold;
    }
}
