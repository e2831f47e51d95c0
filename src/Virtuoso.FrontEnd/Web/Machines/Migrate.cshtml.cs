using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.Core.Market;
using Virtuoso.FrontEnd.Machines;
using Virtuoso.FrontEnd.Migration;

namespace Virtuoso.FrontEnd.Web.Machines;

/// <summary>
/// Migrate (report §5.1.5, Figure 20): every other host with room, its prices for this machine, its methods and the
/// charge on arrival; prepaid running time is not carried. Issue 18: sorted by the monthly total for the hours the buyer
/// says the machine runs (730 unsaid), with what leaving the origin gives up. The same MigrationService calls as
/// GET .../migration-targets and POST .../migrate, so the same refusals.
/// </summary>
internal sealed class MigrateModel(MachineService machines, MigrationService migrations) : WebPage
{
    private static readonly string[] Preference = ["DEDUP", "RSYNC", "SCP"];

    public MachineResponse? Machine { get; private set; }
    public MigrationTargetsResponse? Targets { get; private set; }
    public decimal? MaxStorage { get; private set; }
    public decimal? MaxRunning { get; private set; }
    /// <summary>The hours a month the totals assume.</summary>
    public decimal Hours { get; private set; } = UsageCost.DefaultHoursPerMonth;
    /// <summary>What the buyer typed in the hours field (kept when it is refused), or null when they gave none.</summary>
    public string? HoursText { get; private set; }
    /// <summary>Why the machine cannot migrate in its state (design §3.3); the targets are still shown, as the API lists them.</summary>
    public Http.Failure? NotNow { get; private set; }

    /// <summary>The targets within the optional price ceiling (design §3.2).</summary>
    public IReadOnlyList<MigrationTarget> Shown => Targets?.Hosts
        .Where(h => (MaxStorage is not { } s || h.StorageRate <= s) && (MaxRunning is not { } r || h.RunningRate <= r)).ToList() ?? [];

    /// <summary>Where each shown host after the cheapest crosses it, as a sentence, by host.</summary>
    public IReadOnlyDictionary<string, string> BreakEvens =>
        Costs.BreakEvens(Shown.Select(h => new Costs.Rates(h.Host, h.StorageRate, h.RunningRate)).ToList());

    /// <summary>The method chosen by default: the project's own when offered.</summary>
    public string Preferred(IReadOnlyList<string> methods) => Preference.FirstOrDefault(methods.Contains) ?? methods[0];

    public async Task<IActionResult> OnGetAsync(Guid id, decimal? maxStorage, decimal? maxRunning, string? hours)
    {
        (MaxStorage, MaxRunning) = (maxStorage, maxRunning);
        HoursText = string.IsNullOrWhiteSpace(hours) ? null : hours;
        var parsed = MachineService.ParseHours(hours);
        if (parsed.Failure is { } bad) return await LoadAsync(id) ?? Fail(bad);
        Hours = parsed.Value;
        return await LoadAsync(id) ?? Page();
    }

    public async Task<IActionResult> OnPostAsync(Guid id, string? host, string? method)
    {
        if (string.IsNullOrWhiteSpace(host) || string.IsNullOrWhiteSpace(method))
            return await LoadAsync(id) ?? Invalid("choose a host and a transfer method");
        var started = await migrations.StartAsync(Me, id, new MigrateRequest(host, method), HttpContext.RequestAborted);
        if (started.Failure is { } f) return await LoadAsync(id) ?? Fail(f);
        Notice = $"Migration to {host} started ({method}).";
        return Redirect(WebRoutes.Migration(id));
    }

    /// <summary>Loads the machine and its targets; a refusal (not found, wrong state) as the result, else null.</summary>
    private async Task<IActionResult?> LoadAsync(Guid id)
    {
        var found = await machines.FindAsync(Me, id);
        if (found.Failure is { } f) return Fail(f);
        var targets = await migrations.TargetsAsync(Me, id, Hours);
        if (targets.Failure is { } refused) return Fail(refused);
        (Machine, Targets) = (found.Value!.ToResponse(), targets.Value);
        NotNow = MachineService.Refuse(found.Value!, Core.Machines.MachineAction.Migrate);
        return null;
    }
}
