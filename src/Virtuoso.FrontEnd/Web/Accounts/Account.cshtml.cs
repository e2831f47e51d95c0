using System.Globalization;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Hosts;

namespace Virtuoso.FrontEnd.Web.Accounts;

/// <summary>
/// My account: a buyer's costs per machine with the time to each next debit (Figures 22, 23), a provider's income per host
/// and per machine with its owner's next billing times (Figures 30, 32); the ledger and the monthly statement for both.
/// </summary>
internal sealed class AccountModel(AccountService accounts, HostService hosts, LedgerView ledger, SshKeys keys, ApiKeyService apiKeys, TimeProvider clock) : WebPage
{
    public const int LedgerRows = 50;

    public AccountResponse? Account { get; private set; }
    /// <summary>How many SSH keys the account holds (the link to the keys page says it).</summary>
    public int KeyCount { get; private set; }
    /// <summary>How many API keys the account holds (the link to the API keys page says it).</summary>
    public int ApiKeyCount { get; private set; }
    public IReadOnlyDictionary<string, HostResponse> HostDetails { get; private set; } = new Dictionary<string, HostResponse>();
    public IReadOnlyList<LedgerEntry> Ledger { get; private set; } = [];
    /// <summary>The page shown is older than the newest (?before=SEQ): offer the way back to the newest.</summary>
    public bool OlderPage { get; private set; }
    /// <summary>The cursor of the next, older page, or null when this page holds the oldest transfers.</summary>
    public long? OlderBefore => Ledger.Count == LedgerRows ? Ledger[^1].Seq : null;
    public string ThisMonth => clock.GetUtcNow().ToString("yyyy-MM", CultureInfo.InvariantCulture);

    /// <summary>Storage of every stored machine, per day.</summary>
    public decimal StoragePerDay => Account!.Machines.Where(m => m.StoragePrice is not null).Sum(m => m.StoragePrice!.Value / m.StoragePeriodDays!.Value);
    /// <summary>Running of the machines running now, per second.</summary>
    public decimal RunningPerSecond => Account!.Machines.Where(m => m.State == "running" && m.RunningPrice is not null).Sum(m => m.RunningPrice!.Value / m.RunningPeriodSeconds!.Value);

    public static decimal StoragePerDayOf(AccountHost h) => h.Machines.Sum(m => m.StoragePrice / m.StoragePeriodDays);
    public static decimal RunningPerSecondOf(AccountHost h) => h.Machines.Where(m => m.State == "running").Sum(m => m.RunningPrice / m.RunningPeriodSeconds);

    public async Task OnGetAsync(long? before)
    {
        OlderPage = before is > 0;
        Account = await accounts.ViewAsync(Me);
        KeyCount = (await keys.ListAsync(Me)).Count;
        ApiKeyCount = (await apiKeys.ListAsync(Me)).Count;
        if (Account.Type == Roles.Provider) HostDetails = (await hosts.ListAsync(Me)).ToDictionary(h => h.Name);
        Ledger = (await ledger.ForAccountAsync(Me, null, LedgerRows, before is > 0 ? before : null)).Value ?? [];
    }
}
