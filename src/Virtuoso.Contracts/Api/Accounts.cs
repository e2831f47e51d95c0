namespace Virtuoso.Contracts.Api;

/// <summary>POST /api/v1/accounts. <paramref name="Type"/> is "buyer" or "provider".</summary>
public sealed record SignupRequest(string Username, string Password, string Email, string Type);

/// <summary>POST /api/v1/sessions: log in; the answer carries a bearer token.</summary>
public sealed record LoginRequest(string Username, string Password);

/// <summary>A session: send <c>Authorization: Bearer {Token}</c> on every later call.</summary>
public sealed record SessionResponse(string Token, string Username, string Type);

/// <summary>GET /api/v1/account: balance and, per machine, its prices and billing times.</summary>
public sealed record AccountResponse(
    string Username, string Email, string Type, decimal Balance,
    IReadOnlyList<AccountMachine> Machines,
    IReadOnlyList<AccountHost> Hosts);

/// <summary>A buyer's machine on the account page (report Figures 22–23).</summary>
/// <param name="NextStorageDebitSeconds">Seconds until the next storage charge; null when not on a host.</param>
/// <param name="PrepaidRunningSeconds">Prepaid running time left on the current host.</param>
/// <param name="NextRunningDebitSeconds">Seconds until the next running charge; null when not running.</param>
public sealed record AccountMachine(
    Guid Id, string Name, string State, string? Host,
    decimal? StoragePrice, long? StoragePeriodDays, decimal? RunningPrice, long? RunningPeriodSeconds,
    decimal? NextStorageDebitSeconds, decimal? PrepaidRunningSeconds, decimal? NextRunningDebitSeconds);

/// <summary>A provider's host on the account page with the income it has made (report Figures 30, 32).</summary>
public sealed record AccountHost(string Name, decimal Income, IReadOnlyList<AccountHostMachine> Machines);

/// <summary>A machine stored on a provider's host, as the provider sees it (Figure 32: when its owner is next billed).</summary>
/// <param name="NextStorageDebitSeconds">Seconds until the owner's next storage charge.</param>
/// <param name="NextRunningDebitSeconds">Seconds until the owner's next running charge; null when not running.</param>
public sealed record AccountHostMachine(Guid Id, string Owner, string State, long Speed, long Memory, long Disk,
    decimal StoragePrice, long StoragePeriodDays, decimal RunningPrice, long RunningPeriodSeconds, decimal Income,
    decimal? NextStorageDebitSeconds = null, decimal? NextRunningDebitSeconds = null, string? Name = null);
