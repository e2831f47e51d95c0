using Virtuoso.Cli.Tests.Support;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Tests.Billing;

/// <summary>ledger, statement and deposit (issue 5) against the fake API.</summary>
public sealed class BillingCommandsTests : IAsyncLifetime
{
    private Harness h = null!;

    public async Task InitializeAsync() => h = (await Harness.StartAsync()).LogIn();

    public async Task DisposeAsync() => await h.DisposeAsync();

    private static readonly DateTimeOffset T = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    private static LedgerEntry[] Ledger() =>
    [
        new("account:alice:opening-credit", "opening-credit", 1000m, "deposits", "alice", null, null, T),
        new($"machine:{Samples.WebId:N}:stay:1:storage:1", "storage", 30.000m, "alice", "paul", Samples.WebId, "virt13", T.AddMinutes(1)),
        new($"machine:{Samples.WebId:N}:stay:1:running:1", "running", 0.00000003m, "alice", "paul", Samples.WebId, "virt13", T.AddMinutes(2)),
    ];

    // ---- ledger

    [Fact]
    public async Task Ledger_AsATable_InTheServersOrder_WithTheSignedEffectOnMyBalanceAndEachKey()
    {
        h.Api.Json("GET /api/v1/ledger", Ledger());

        var lines = (await h.RunAsync("ledger")).Succeeded().Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(4, lines.Length);
        Assert.StartsWith("SEQ", lines[0]);
        Assert.Contains("EFFECT", lines[0]);
        Assert.Matches(@"^0\s+2026-11-21 10:00:00Z\s+opening-credit\s+\$1000\s+\+\$1000\s+deposits\s+alice\s+-\s+-\s+account:alice:opening-credit$", lines[1]);
        Assert.Matches($@"storage\s+\$30\s+-\$30\s+alice\s+paul\s+3f2a1b4c\s+virt13\s+machine:{Samples.WebId:N}:stay:1:storage:1$", lines[2]);
        Assert.Contains("$0.00000003", lines[3]); // unrounded
        Assert.Contains("-$0.00000003", lines[3]);
        Assert.Equal("", Assert.Single(h.Api.Requests).Query);
    }

    [Fact]
    public async Task Ledger_APageAtATime_AsksForTheLimitAndCursor_AndAFullPageSaysHowToSeeOlder()
    {
        var page = Ledger().Select((e, i) => e with { Seq = 30 - i }).ToArray();
        h.Api.Json("GET /api/v1/ledger", page);

        var run = (await h.RunAsync("ledger", "--limit", "3", "--before", "31")).Succeeded();

        Assert.Equal("?limit=3&before=31", Assert.Single(h.Api.Requests).Query);
        Assert.EndsWith("Older: virtuoso ledger --before 28 --limit 3\n", run.Out);
    }

    [Fact]
    public async Task Ledger_APageNotFull_IsTheLast_NoHint()
    {
        h.Api.Json("GET /api/v1/ledger", Ledger());

        var run = (await h.RunAsync("ledger", "--limit", "10")).Succeeded();

        Assert.DoesNotContain("Older:", run.Out);
    }

    [Theory]
    [InlineData("--limit", "0")]
    [InlineData("--before", "-3")]
    [InlineData("--limit", "many")]
    public async Task Ledger_BadPaging_IsRefusedBeforeAnyRequest(string option, string value)
    {
        (await h.RunAsync("ledger", option, value)).Failed(2, Failure.UsageCode);
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task Ledger_OfAProvider_ShowsWhatItIsPaidAsPositive()
    {
        h.LogIn("paul", "provider", "token-paul").Api.Json("GET /api/v1/ledger", Ledger()[1..2]);

        var lines = (await h.RunAsync("ledger")).Succeeded().Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Matches(@"storage\s+\$30\s+\+\$30\s+alice\s+paul", lines[1]);
        Assert.Equal("Bearer token-paul", Assert.Single(h.Api.Requests).Authorization);
    }

    [Fact]
    public async Task Ledger_Json_IsAnArrayWithKeyKindAmountFromToMachineAt()
    {
        h.Api.Json("GET /api/v1/ledger", Ledger());

        var json = (await h.RunAsync("ledger", "--json")).Succeeded().Json;

        Assert.Equal(3, json.GetArrayLength());
        var storage = json[1];
        Assert.Equal($"machine:{Samples.WebId:N}:stay:1:storage:1", storage.GetProperty("key").GetString());
        Assert.Equal("storage", storage.GetProperty("kind").GetString());
        Assert.Equal("30", storage.GetProperty("amount").GetRawText());
        Assert.Equal(("alice", "paul"), (storage.GetProperty("from").GetString(), storage.GetProperty("to").GetString()));
        Assert.Equal(Samples.WebId.ToString(), storage.GetProperty("machine").GetString());
        Assert.Equal(T.AddMinutes(1), storage.GetProperty("at").GetDateTimeOffset());
        Assert.Equal("0.00000003", json[2].GetProperty("amount").GetRawText());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, json[0].GetProperty("machine").ValueKind);
    }

    [Fact]
    public async Task Ledger_ForAMachine_ResolvesItsNameAndFilters()
    {
        h.Api.Json("GET /api/v1/machines", new[] { Samples.Machine(), Samples.Machine(Samples.DbId, "db-1") })
            .Json($"GET /api/v1/ledger?machine={Samples.WebId}", Ledger()[1..]);

        var run = (await h.RunAsync("ledger", "--machine", "web-1", "--json")).Succeeded();

        Assert.Equal($"?machine={Samples.WebId}", h.Api.Requests[1].Query);
        Assert.Equal(2, run.Json.GetArrayLength());
    }

    [Fact]
    public async Task Ledger_ForAFullMachineId_AsksTheServerDirectly_AndReportsItsNotFound()
    {
        h.Api.Problem($"GET /api/v1/ledger?machine={Samples.DbId}", 404, ErrorCodes.NotFound, "Not found", "machine not found");

        var line = (await h.RunAsync("ledger", "--machine", Samples.DbId.ToString())).Failed(1, ErrorCodes.NotFound);

        Assert.Equal("error: machine not found (not-found)", line);
        Assert.Single(h.Api.Requests);
    }

    [Fact]
    public async Task Ledger_Empty_SaysSo()
    {
        h.Api.Json("GET /api/v1/ledger", Array.Empty<LedgerEntry>());
        Assert.Equal("No transfers yet.\n", (await h.RunAsync("ledger")).Succeeded().Out);
    }

    [Fact]
    public async Task Ledger_NotLoggedIn_IsRefusedWithoutACall()
    {
        File.Delete(h.CredentialsFile);
        (await h.RunAsync("ledger")).Failed(1, ErrorCodes.Unauthenticated);
        Assert.Empty(h.Api.Requests);
    }

    // ---- statement

    private const string Csv =
        "# account alice; month 2026-11 (UTC); opening balance 1000; closing balance 970\n" +
        "at,key,kind,machine,host,from,to,amount,balance_effect\n" +
        "2026-11-21T10:01:00.000Z,machine:x:stay:1:storage:1,storage,3f2a1b4c-9d8e-4f70-a1b2-c3d4e5f60718,virt13,alice,paul,30,-30\n";

    [Fact]
    public async Task Statement_PrintsTheServersCsvAsIs()
    {
        h.Api.Raw("GET /api/v1/statements/2026-11", 200, "text/csv", Csv);

        Assert.Equal(Csv, (await h.RunAsync("statement", "2026-11")).Succeeded().Out);
        Assert.Equal("/api/v1/statements/2026-11", Assert.Single(h.Api.Requests).Path);
    }

    [Fact]
    public async Task Statement_Output_WritesTheFile_AndSaysWhere()
    {
        h.Api.Raw("GET /api/v1/statements/2026-11", 200, "text/csv", Csv);
        var file = Path.Combine(h.Root, "alice-2026-11.csv");
        File.WriteAllText(file, "an older download");

        var run = (await h.RunAsync("statement", "2026-11", "--output", file)).Succeeded();

        Assert.Equal(Csv, File.ReadAllText(file));
        Assert.Equal($"Wrote the statement of 2026-11 to {file}.\n", run.Out);
        Assert.False(File.Exists(file + ".part"));
    }

    [Fact]
    public async Task Statement_Json_WrapsTheCsv()
    {
        h.Api.Raw("GET /api/v1/statements/2026-11", 200, "text/csv", Csv);

        var json = (await h.RunAsync("statement", "2026-11", "--json")).Succeeded().Json;

        Assert.Equal(("2026-11", Csv), (json.GetProperty("month").GetString(), json.GetProperty("csv").GetString()));
    }

    [Theory]
    [InlineData("2026-13")]
    [InlineData("2026-1")]
    [InlineData("11-2026")]
    [InlineData("2026-11-01")]
    [InlineData("november")]
    public async Task Statement_BadMonth_IsAUsageErrorWithoutACall(string month)
    {
        var line = (await h.RunAsync("statement", month)).Failed(2, "usage");
        Assert.Contains("YYYY-MM", line);
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task Statement_ToAnUnwritablePlace_IsALocalFilesError()
    {
        h.Api.Raw("GET /api/v1/statements/2026-11", 200, "text/csv", Csv);
        var file = Path.Combine(h.Root, "no-such-directory", "s.csv");

        var line = (await h.RunAsync("statement", "2026-11", "--output", file)).Failed(1, "local-files");

        Assert.Contains(file, line);
    }

    [Fact]
    public async Task Statement_RefusedByTheServer_IsOneLineWithItsCode()
    {
        h.Api.Problem("GET /api/v1/statements/1969-12", 400, ErrorCodes.Validation, "Invalid input", "the month must be YYYY-MM between 1970-01 and 9998-12");
        (await h.RunAsync("statement", "1969-12")).Failed(1, ErrorCodes.Validation);
    }

    // ---- deposit

    [Fact]
    public async Task Deposit_PostsAccountAmountAndReference_AndSaysWhatMoved()
    {
        h.LogIn("operator", "operator", "token-op").Api.Json("POST /api/v1/deposits",
            new DepositResponse("deposit:bank-42", "alice", 25.5m, "bank-42", T, Repeated: false, 1025.5m), 201);

        var run = (await h.RunAsync("deposit", "alice", "25.50", "--reference", "bank-42")).Succeeded();

        var request = Assert.Single(h.Api.Requests);
        Assert.Equal(new DepositRequest("alice", 25.50m, "bank-42"), request.BodyAs<DepositRequest>());
        Assert.Equal("Bearer token-op", request.Authorization);
        Assert.Equal("Deposited $25.5 to alice (reference bank-42).\nBalance of alice: $1025.5\n", run.Out);
    }

    [Fact]
    public async Task Deposit_Repeated_SaysNothingMoved()
    {
        h.Api.Json("POST /api/v1/deposits", new DepositResponse("deposit:bank-42", "alice", 25.5m, "bank-42", T, Repeated: true, 1025.5m));

        var run = (await h.RunAsync("deposit", "alice", "25.5", "--reference", "bank-42")).Succeeded();

        Assert.StartsWith("Already deposited: reference bank-42 credited $25.5 to alice at 2026-11-21 10:00:00Z; nothing moved this time.\n", run.Out);
    }

    [Fact]
    public async Task Deposit_Json_PrintsTheServersAnswer()
    {
        h.Api.Json("POST /api/v1/deposits", new DepositResponse("deposit:r", "alice", 1m, "r", T, Repeated: false, 1001m), 201);

        var json = (await h.RunAsync("deposit", "alice", "1", "--reference", "r", "--json")).Succeeded().Json;

        Assert.Equal(("deposit:r", false), (json.GetProperty("key").GetString(), json.GetProperty("repeated").GetBoolean()));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("1e3")]
    [InlineData("ten")]
    [InlineData("1000000000.01")]
    [InlineData("1,5")]
    public async Task Deposit_BadAmount_IsAUsageErrorWithoutACall(string amount)
    {
        var line = (await h.RunAsync("deposit", "alice", amount, "--reference", "r")).Failed(2, "usage");
        Assert.Contains("AMOUNT", line);
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task Deposit_WithoutAReference_IsAUsageErrorWithoutACall()
    {
        (await h.RunAsync("deposit", "alice", "5")).Failed(2, "usage");
        (await h.RunAsync("deposit", "alice", "5", "--reference", " ")).Failed(2, "usage");
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task Deposit_ByABuyer_IsTheServersWrongRole()
    {
        h.Api.Problem("POST /api/v1/deposits", 403, ErrorCodes.WrongRole, "Not allowed", "this action is not available to your kind of account");
        (await h.RunAsync("deposit", "bob", "5", "--reference", "r")).Failed(1, ErrorCodes.WrongRole);
    }
}
