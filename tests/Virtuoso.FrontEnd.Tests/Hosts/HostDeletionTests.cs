using System.Net;
using Virtuoso.Core.Billing;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Accounting;

namespace Virtuoso.FrontEnd.Tests.Hosts;

/// <summary>
/// Host deletion (§6.1.1) through evictions (issue 13): what began on the host is owed when the machine leaves it, as when
/// it leaves by migration (design §4). Configuration1 on a virt13-priced host: 0.2016 per hour running, 3 per 30 days stored.
/// </summary>
public sealed class HostDeletionTests
{
    [Fact]
    public async Task Deleting_TheHostOfARunningMachine_ChargesTheRunningPeriodBegunSinceTheLastPass_ThenRegistersItAgain()
    {
        await using var market = await ClockedMarket.StartAsync();
        var host = await market.AddHostAsync();
        var buyer = await market.SignupAsync(Roles.Buyer, "evicted-buyer");
        var id = (await buyer.RegisterAsync("Configuration1", 3m, 1m)).Id;
        await buyer.StoreAsync(id, host.Name);
        await buyer.ActAsync(id, "start"); // running period 1
        await market.AdvanceAsync(TimeSpan.FromMinutes(90)); // period 2 began; no billing pass has run

        Assert.Equal(HttpStatusCode.NoContent, (await market.Provider.DeleteAsync($"/api/v1/hosts/{host.Name}")).StatusCode);

        var after = await buyer.MachineAsync(id);
        Assert.Equal(("registered", 2L, (string?)null), (after.State, after.Version, after.Host));
        Assert.Equal(2L, await market.Database.CountAsync("SELECT COUNT(*) FROM transfers WHERE machine = @m AND kind = @k", ("m", id.ToString("D")), ("k", TransferKinds.Running)));
        Assert.Equal(1L, await market.Database.CountAsync("SELECT COUNT(*) FROM transfers WHERE machine = @m AND kind = @k", ("m", id.ToString("D")), ("k", TransferKinds.Storage)));
        Assert.Contains(await buyer.EventsAsync(id), e => e.Kind == "host-deleted" && e.Message.Contains("running period 2", StringComparison.Ordinal));
        Assert.False(market.Agent.Machines.ContainsKey(id));
        Assert.Equal(0m, (await market.Database.BalancesAsync()).Values.Sum());
    }
}
