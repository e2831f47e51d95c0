using Virtuoso.EndToEnd.Tests.Support;

namespace Virtuoso.EndToEnd.Tests;

/// <summary>
/// Issue 5's "Done when" on real parts: a host whose running period is a few seconds, the real billing daemon
/// passing every second, a real QEMU machine started for a while. The ledger then holds one running charge per
/// period used, each under its own key, and the buyer's debits equal the provider's credits.
/// </summary>
[Collection(RealQemu.Name)]
public sealed class BillingJourneyTests
{
    private const int RunningPeriod = 3;

    [Fact]
    public async Task MachineRunningForAWhile_IsChargedOncePerRunningPeriodUsed_UnderDistinctKeys()
    {
        await using var m = await Marketplace.StartAsync(1, "gamma");
        var a = m.Agents["gamma"];
        (await m.CliAsync("p", "signup", "bill-provider", "--password", "provider-pass", "--email", "p@example.com", "--provider")).Ok();
        (await m.CliAsync("p", "login", "bill-provider", "--password", "provider-pass")).Ok();
        (await m.CliAsync("p", "host", "add", "gamma", "--address", "127.0.0.1", "--port", a.Port.ToString(), "--processor", "x86_64",
            "--speed", "10000", "--speed-unit", "1000", "--speed-price", "0.00001", "--memory", "4096", "--memory-unit", "4",
            "--memory-price", "0.000001", "--running-period", RunningPeriod.ToString(), "--storage", "20000", "--storage-unit", "100",
            "--storage-price", "0.1", "--storage-period", "30", "--connect-speed", "1Gbps", "--secret", a.Secret)).Ok();
        (await m.CliAsync("b", "signup", "bill-buyer", "--password", "buyer-pass-1", "--email", "b@example.com", "--buyer")).Ok();
        (await m.CliAsync("b", "login", "bill-buyer", "--password", "buyer-pass-1")).Ok();
        var id = (await m.CliAsync("b", "--json", "register", "--config", "Configuration1", "--storage-bid", "3", "--running-bid", "1")).Ok().Json.GetProperty("id").GetGuid().ToString();
        (await m.CliAsync("b", "store", id, "--host", "gamma")).Ok();

        var started = DateTimeOffset.UtcNow;
        (await m.CliAsync("b", "start", id)).Ok();
        await Task.Delay(TimeSpan.FromSeconds(10));
        (await m.CliAsync("b", "suspend", id)).Ok();
        var ran = (DateTimeOffset.UtcNow - started).TotalSeconds;

        var ledger = (await m.CliAsync("b", "--json", "ledger", "--machine", id)).Ok().Json.EnumerateArray().ToList();
        var running = ledger.Where(t => t.GetProperty("kind").GetString() == "running").ToList();
        // (4000/1000)·0.00001 + (64/4)·0.000001 = 0.000056 $/s, × 3 s
        Assert.All(running, t => Assert.Equal(0.000168m, t.GetProperty("amount").GetDecimal()));
        Assert.Equal(running.Count, running.Select(t => t.GetProperty("key").GetString()).Distinct().Count());
        // Periods begun while it ran: at least the ones fully inside the measured run, at most one per begun period.
        Assert.InRange(running.Count, (int)Math.Floor((ran - 2) / RunningPeriod), (int)Math.Ceiling(ran / RunningPeriod) + 1);
        Assert.True(running.Count >= 3, $"expected several running charges in {ran:F1} s, got {running.Count}");

        var buyerDebits = ledger.Where(t => t.GetProperty("from").GetString() == "bill-buyer" && t.GetProperty("to").GetString() == "bill-provider").Sum(t => t.GetProperty("amount").GetDecimal());
        var providerLedger = (await m.CliAsync("p", "--json", "ledger", "--machine", id)).Ok().Json.EnumerateArray().ToList();
        var providerCredits = providerLedger.Where(t => t.GetProperty("to").GetString() == "bill-provider").Sum(t => t.GetProperty("amount").GetDecimal());
        Assert.Equal(buyerDebits, providerCredits);
        Assert.Equal(3m + running.Count * 0.000168m, buyerDebits);
        (await m.CliAsync("b", "delete", id)).Ok();
    }
}
