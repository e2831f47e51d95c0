using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Tests.Support;

/// <summary>Canned contract objects, priced like the report's figures (design §3.1).</summary>
internal static class Samples
{
    public static readonly Guid WebId = Guid.Parse("3f2a1b4c-9d8e-4f70-a1b2-c3d4e5f60718");
    public static readonly Guid DbId = Guid.Parse("7c1d2e3f-4a5b-4c6d-8e9f-a0b1c2d3e4f5");

    public static MachineResponse Machine(Guid? id = null, string name = "web-1", string state = "registered", long version = 0,
        string? host = null, IReadOnlyList<string>? actions = null) =>
        new(id ?? WebId, name, "x86", 4000, 256, 1000, "linux", "linux-busybox", "52:54:00:12:34:56", state, version, host, "alice",
            30m, 1m,
            host is null ? null : 30.000m, host is null ? null : 30, host is null ? null : 0.37440000m, host is null ? null : 3600,
            host is null ? null : 30m, host is null ? null : 0.3744m,
            actions ?? ["search", "edit", "store", "delete"]);

    public static SearchResult[] Search() =>
    [
        new("virt13", "x86", "10.0.0.13", true, 30m, 0.3744m, 30m, 30, 0.3744m, 3600, [], 303.312m, 730m),
        new("virt8", "x86", "10.0.0.8", false, 3m, 2.448000m, 3m, 30, 2.448m, 3600, ["running-rate-over-bid"], 1790.04m, 730m),
        new("virt17", "x86", "10.0.0.17", false, 3m, 0.002016m, 3m, 30, 0.002016m, 3600, ["offline", "not-enough-memory"], 4.47168m, 730m),
    ];

    /// <summary>What deleting a stored machine 2.6 days into its first period, with 52 minutes of running prepaid, gives up.</summary>
    public static ForfeitResponse Forfeit(string? host = "virt13") => host is null
        ? new(WebId, null, 0m, null, 0m, 0m, 0m, 0m)
        : new(WebId, host, 27.40m, DateTimeOffset.Parse("2026-12-20T00:00:00Z"), 3120m, 0.32m, 27.72m, 0m);

    public static HostResponse Host(string name = "virt13", IReadOnlyList<HostMachine>? machines = null, string? secret = null) =>
        new(name, "paul", "10.0.0.13", 7070, "x86", 16000, 1000, 0.00001m, 4096, 4, 0.000001m, 3600,
            100000, 100, 0.1m, 30, "1 Gbit/s", true, 4000, 256, 1000, machines, secret);

    public static HostMachine HostMachine() =>
        new(WebId, "web-1", "alice", "running", 2, 4000, 256, 1000, 30m, 30, 0.3744m, 3600);

    public static AccountResponse BuyerAccount() =>
        new("alice", "alice@example.com", "buyer", 999.62560m,
            [new AccountMachine(WebId, "web-1", "running", "virt13", 30m, 30, 0.3744m, 3600, 2591000m, 1800.5m, 1800.5m)],
            []);

    public static ConfigurationResponse[] Configurations() =>
    [
        new("linux-busybox", "x86", 4000, "linux", 256, 1000, "linux-busybox", 128, 1000, 30m, 0.3744m),
        new("fig6-small", "x86", 1000, "windows", 64, 100, null, null, null, null, null),
    ];
}
