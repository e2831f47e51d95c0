using Virtuoso.Cli.Tests.Support;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Tests.Migration;

/// <summary><c>virtuoso migrate</c>: targets, following a migration to its end, progress, JSON, and failures as one line.</summary>
public sealed class MigrationCommandsTests : IAsyncLifetime
{
    private Harness h = null!;
    private static readonly Guid Id = Samples.WebId;
    private static readonly string Path = $"/api/v1/machines/{Samples.WebId}";


    public async Task DisposeAsync() => await h.DisposeAsync();

    private CliSettings Settings(bool terminal = false) =>
        CliSettings.From(h.Environment) with { Terminal = terminal, Poll = TimeSpan.FromMilliseconds(10) };

    private static MigrationResponse Migration(string phase, long? done = null, string? destinationPhase = "copying", string? error = null) =>
        new(Guid.Parse("11111111-2222-4333-8444-555555555555"), Id, phase, "SCP", "virt8", "virt13", 3, "suspended", error,
            DateTimeOffset.Parse("2026-01-01T00:00:00Z"), phase is "done" or "reverted" ? DateTimeOffset.Parse("2026-01-01T00:01:00Z") : null,
            phase == "open" ? destinationPhase : null, done is null ? null : 1_000_000, done, done / 2, done is null ? null : 250_000, done is { } d ? (1_000_000 - d) / 250_000.0 : null);

    private static MigrationTargetsResponse Targets(ForfeitResponse? forfeit = null) => new(Id, "virt8",
        [new MigrationTarget("virt13", "x86_64", 30m, 0.3744m, 30m, 30, 0.3744m, 3600, 30m, ["SCP", "DEDUP"], 7102, 303.312m)],
        "prepaid running time is not carried to another host", 730m, forfeit);

    public async Task InitializeAsync()
    {
        h = (await Harness.StartAsync()).LogIn();
        h.Api.Json($"GET {Path}/migration-targets", Targets());
    }

    [Fact]
    public async Task Migrate_FollowsToDone_PlainLinesWhenNotATerminal_Exit0()
    {
        h.Api.Json($"POST {Path}/migrate", Migration("open"), 202);
        h.Api.Sequence($"GET {Path}/migration", Migration("open", 250_000), Migration("open", 500_000), Migration("open", 1_000_000, "pending"), Migration("committed"), Migration("done"));

        var run = (await h.RunAsync(Settings(), "migrate", Id.ToString(), "--host", "virt13", "--method", "rsync")).Succeeded();

        var post = h.Api.Requests.First(r => r.Method == "POST");
        Assert.Equal(new MigrateRequest("virt13", "RSYNC"), post.BodyAs<MigrateRequest>());
        var lines = run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("copying:  25%  250 kB of 1 MB, 250 kB/s, ETA 3 s", lines);
        Assert.Contains("copying:  50%  500 kB of 1 MB, 250 kB/s, ETA 2 s", lines);
        Assert.Contains("committed: activating on virt13", lines);
        Assert.Equal($"Migrated {Id} from virt8 to virt13 with SCP: suspended, version 4.", lines[^1]);
        Assert.DoesNotContain('\r', run.Out);
    }

    [Fact]
    public async Task Migrate_SaysWhatLeavingTheOriginGaveUp_InOneLine()
    {
        h.Api.Json($"GET {Path}/migration-targets", Targets(Samples.Forfeit("virt8")));
        h.Api.Json($"POST {Path}/migrate", Migration("open"), 202);
        h.Api.Sequence($"GET {Path}/migration", Migration("done"));

        var run = (await h.RunAsync(Settings(), "migrate", Id.ToString(), "--host", "virt13")).Succeeded();

        var lines = run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"Migrated {Id} from virt8 to virt13 with SCP: suspended, version 4.", lines[^2]);
        Assert.Equal("Gave up on virt8: $27.4 of storage already paid (until 2026-12-20) and 52m 0s of prepaid running time (worth $0.32).", lines[^1]);
    }

    [Fact]
    public async Task Migrate_OnATerminal_DrawsOneBarInPlace_AndClearsIt()
    {
        h.Api.Json($"POST {Path}/migrate", Migration("open"), 202);
        h.Api.Sequence($"GET {Path}/migration", Migration("open", 500_000), Migration("done"));

        var run = (await h.RunAsync(Settings(terminal: true), "migrate", Id.ToString(), "--host", "virt13")).Succeeded();

        Assert.Contains("\rcopying [##########----------]  50%  500 kB of 1 MB, 250 kB/s, ETA 2 s", run.Out);
        Assert.EndsWith($"\rMigrated {Id} from virt8 to virt13 with SCP: suspended, version 4.\n", run.Out.Replace("\r\n", "\n"));
        Assert.Equal("SCP", h.Api.Requests.First(r => r.Method == "POST").BodyAs<MigrateRequest>().Method);
    }

    [Fact]
    public async Task Migrate_Json_PrintsOnlyTheFinalObject()
    {
        h.Api.Json($"POST {Path}/migrate", Migration("open"), 202);
        h.Api.Sequence($"GET {Path}/migration", Migration("open", 500_000), Migration("done"));

        var run = (await h.RunAsync(Settings(terminal: true), "migrate", Id.ToString(), "--host", "virt13", "--json")).Succeeded();

        Assert.Equal("done", run.Json.GetProperty("phase").GetString());
        Assert.Equal("virt13", run.Json.GetProperty("to").GetString());
    }

    [Fact]
    public async Task Migrate_Reverted_ExitsNonZeroWithOneLineOnStderr()
    {
        h.Api.Json($"POST {Path}/migrate", Migration("open"), 202);
        h.Api.Sequence($"GET {Path}/migration", Migration("open", 100_000), Migration("reverted", error: "no heartbeat from the destination in time"));

        var run = await h.RunAsync(Settings(), "migrate", Id.ToString(), "--host", "virt13", "--json");

        var line = run.Failed(1, "migration-reverted");
        Assert.Contains("no heartbeat from the destination in time", line);
        Assert.Contains("stays on virt8, suspended, version 3", line);
    }

    [Fact]
    public async Task Migrate_Refused_IsTheServersProblemOnOneLine()
    {
        h.Api.Problem($"POST {Path}/migrate", 409, "method-unsupported", "Method not offered by the destination", "host virt13 does not offer DEDUP; it offers SCP");
        var line = (await h.RunAsync(Settings(), "migrate", Id.ToString(), "--host", "virt13", "--method", "DEDUP")).Failed(1, "method-unsupported");
        Assert.Contains("does not offer DEDUP", line);
    }

    [Fact]
    public async Task Migrate_WithoutHost_ListsTheTargets()
    {
        h.Api.Json($"GET {Path}/migration-targets", Targets(Samples.Forfeit("virt8") with { ChargedNow = 30m }));

        var run = (await h.RunAsync(Settings(), "migrate", Id.ToString())).Succeeded();

        Assert.Contains("cheapest first for 730 hours a month", run.Out);
        Assert.Contains("$303.312", run.Out);
        Assert.Contains("Moving now gives up on virt8: $27.4 of storage already paid (until 2026-12-20) and 52m 0s of prepaid running time (worth $0.32); $30 for periods begun there is charged first.", run.Out);
        Assert.Contains("The machine is on virt8.", run.Out);
        Assert.Contains("virt13", run.Out);
        Assert.Contains("30 $/month, 0.3744 $/hour", run.Out);
        Assert.Contains("SCP DEDUP", run.Out);
        Assert.Contains("not carried", run.Out);
        Assert.DoesNotContain(h.Api.Requests, r => r.Method == "POST");

        var json = (await h.RunAsync(Settings(), "migrate", Id.ToString(), "--json")).Succeeded();
        Assert.Equal(30m, json.Json.GetProperty("hosts")[0].GetProperty("arrivalCharge").GetDecimal());
    }

    [Fact]
    public async Task Migrate_MethodWithoutHost_IsAUsageError() =>
        (await h.RunAsync(Settings(), "migrate", Id.ToString(), "--method", "SCP")).Failed(2, "usage");
}
