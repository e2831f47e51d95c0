using Virtuoso.Contracts.Api;
using Virtuoso.Core.Billing;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Tests.Accounting;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Hosts;

/// <summary>
/// Issue 13, hosts that go offline: a running machine whose host has not answered the monitor for longer than the grace
/// period (10 s) is shown host offline and consumes no running time — so no running period that begins while the host
/// is unreachable is charged — until the host answers; then the guest is found running (charged again from then on) or
/// recorded stopped with its prepaid time kept. Storage is charged throughout. Configuration1 on a virt13-priced host:
/// 0.2016 per hour of running, 3 per 30 days of storage.
/// </summary>
public sealed class HostOutageTests : IAsyncLifetime
{
    private ClockedMarket _market = null!;
    private Session _buyer = null!;
    private Guid _id;
    private HostResponse _host = null!;

    public async Task InitializeAsync()
    {
        _market = await ClockedMarket.StartAsync();
        var host = _host = await _market.AddHostAsync();
        _buyer = await _market.SignupAsync(Roles.Buyer, "outage-buyer");
        _id = (await _buyer.RegisterAsync("Configuration1", 3m, 1m)).Id;
        await _buyer.StoreAsync(_id, host.Name);
        await _buyer.ActAsync(_id, "start"); // charges running period 1: the first hour
        await _market.AdvanceAsync(TimeSpan.FromMinutes(30));
    }

    public async Task DisposeAsync() => await _market.DisposeAsync();

    private Task<long> ChargesAsync(string kind) =>
        _market.Database.CountAsync("SELECT COUNT(*) FROM transfers WHERE machine = @m AND kind = @k", ("m", _id.ToString("D")), ("k", kind));

    private async Task BillAsync() => await _market.Service<BillingDaemon>().PassAsync();

    private Task<long> ForwardsAsync() => _market.Database.CountAsync("SELECT COUNT(*) FROM port_forwards WHERE machine = @m", ("m", _id.ToString("D")));

    [Fact]
    public async Task HostDownForHours_ChargesNoRunningPeriodMeanwhile_AndChargesAgainFromWhenItAnswers()
    {
        _market.Agent.Down = true;
        _market.Clock.Advance(TimeSpan.FromSeconds(5));
        await _market.SeeHostsAsync();
        Assert.False((await _buyer.MachineAsync(_id)).HostOffline, "within the grace period the host is only late");

        _market.Clock.Advance(TimeSpan.FromSeconds(10));
        await _market.SeeHostsAsync();
        var offline = await _buyer.MachineAsync(_id);
        Assert.True(offline.HostOffline);
        Assert.Equal("running", offline.State);
        Assert.Contains(await _buyer.EventsAsync(_id), e => e.Kind == "host-offline");
        // Issue 14: its forwarded port stays its own (QEMU may still hold it on the host) and is still shown.
        Assert.Equal(1L, await ForwardsAsync());
        Assert.NotNull(offline.Ssh);

        // Five hours without the host: no running period begins for the buyer.
        for (var i = 0; i < 5; i++)
        {
            _market.Clock.Advance(TimeSpan.FromHours(1));
            await _market.SeeHostsAsync();
            await BillAsync();
        }
        Assert.Equal(1L, await ChargesAsync(TransferKinds.Running));

        _market.Agent.Down = false;
        await _market.SeeHostsAsync();
        var back = await _buyer.MachineAsync(_id);
        Assert.False(back.HostOffline);
        Assert.Equal(("running", 1L), (back.State, back.Version));
        Assert.Equal(offline.Ssh, back.Ssh);
        Assert.Contains(await _buyer.EventsAsync(_id), e => e.Kind == "host-back" && e.Message.Contains("kept running", StringComparison.Ordinal));

        // 30 minutes were used before the outage: the second hour begins 30 minutes after the host answered, not before.
        await _market.AdvanceAsync(TimeSpan.FromMinutes(29));
        await BillAsync();
        Assert.Equal(1L, await ChargesAsync(TransferKinds.Running));
        await _market.AdvanceAsync(TimeSpan.FromMinutes(2));
        await BillAsync();
        Assert.Equal(2L, await ChargesAsync(TransferKinds.Running));
        Assert.Equal(0m, (await _market.Database.BalancesAsync()).Values.Sum());
    }

    [Fact]
    public async Task HostDown_StorageIsChargedAllTheSame()
    {
        _market.Agent.Down = true;
        await _market.AdvanceAsync(TimeSpan.FromSeconds(15));
        Assert.True((await _buyer.MachineAsync(_id)).HostOffline);

        _market.Clock.Advance(TimeSpan.FromDays(31));
        await BillAsync();

        Assert.Equal(2L, await ChargesAsync(TransferKinds.Storage));
        Assert.Equal(1L, await ChargesAsync(TransferKinds.Running));
    }

    [Fact]
    public async Task HostBack_WithTheGuestDead_RecordsItStoppedAtTheSameVersion_WithItsPrepaidTimeKept()
    {
        _market.Agent.Down = true;
        await _market.AdvanceAsync(TimeSpan.FromSeconds(15));
        _market.Clock.Advance(TimeSpan.FromHours(3));
        _market.Agent.PowerOff(_id); // the host rebooted: QEMU is gone

        _market.Agent.Down = false;
        await _market.SeeHostsAsync();

        var back = await _buyer.MachineAsync(_id);
        Assert.Equal(("stopped", 1L, false), (back.State, back.Version, back.HostOffline));
        var found = Assert.Single(await _buyer.EventsAsync(_id), e => e.Kind == "host-back");
        Assert.Contains("found stopped", found.Message);
        Assert.Equal((0L, null as SshEndpoint), (await ForwardsAsync(), back.Ssh)); // issue 14: found stopped, its port is free again
        // 30 minutes used of the prepaid hour (the outage is not counted): starting again charges nothing.
        var balance = await _buyer.BalanceAsync();
        await _buyer.ActAsync(_id, "start");
        Assert.Equal(balance, await _buyer.BalanceAsync());
        Assert.Equal(1L, await ChargesAsync(TransferKinds.Running));
    }

    /// <summary>
    /// Issue 18: past the grace period the host's provider is told it is offline, and so is the owner of each machine on it
    /// (a running one by the existing host-offline event, a stored one by its own), once however many checks fail; the
    /// provider is told again when it answers.
    /// </summary>
    [Fact]
    public async Task HostDown_TellsItsProviderAndEveryMachinesOwnerOnce_AndTheProviderWhenItIsBack()
    {
        var stored = await _buyer.RegisterAsync("Configuration1", 3m, 1m);
        await _buyer.StoreAsync(stored.Id, _host.Name);
        var running = await _buyer.MachineAsync(_id);

        _market.Agent.Down = true;
        await _market.AdvanceAsync(TimeSpan.FromSeconds(15));
        await _market.AdvanceAsync(TimeSpan.FromSeconds(15));
        await _market.SeeHostsAsync();

        var buyerNotes = await Session.Ok<List<NotificationResponse>>(await _buyer.GetAsync("/api/v1/notifications"));
        var storedNote = Assert.Single(buyerNotes, n => n.Kind == "host-offline" && n.Machine == stored.Id);
        Assert.Equal(($"The host of your machine {stored.Name} is offline.", stored.Name, false), (storedNote.Text, storedNote.MachineName, storedNote.Read));
        Assert.Contains($"The host {_host.Name} of your machine {stored.Name} has not answered since", storedNote.Detail);
        Assert.Single(buyerNotes, n => n.Kind == "host-offline" && n.Machine == running.Id);
        Assert.Equal(2, (await Session.Ok<UnreadNotifications>(await _buyer.GetAsync("/api/v1/notifications/unread"))).Unread);

        var providerNotes = await Session.Ok<List<NotificationResponse>>(await _market.Provider.GetAsync("/api/v1/notifications"));
        var down = Assert.Single(providerNotes, n => n.Kind == "host-offline");
        Assert.Null(down.Machine);
        Assert.StartsWith($"Your host {_host.Name} has not answered since ", down.Text);
        var host = await _market.Provider.HostAsync(_host.Name);
        Assert.Equal((false, "unreachable"), (host.Online, host.LastFailure));

        _market.Agent.Down = false;
        await _market.SeeHostsAsync();
        await _market.SeeHostsAsync();
        var back = await Session.Ok<List<NotificationResponse>>(await _market.Provider.GetAsync("/api/v1/notifications"));
        Assert.Equal($"Your host {_host.Name} answers again.", Assert.Single(back, n => n.Kind == "host-back").Text);
        Assert.Single(back, n => n.Kind == "host-offline");
    }
}
