using Dapper;
using Virtuoso.Core.Machines;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Hosts;
using Virtuoso.FrontEnd.Machines;
using Virtuoso.FrontEnd.Tests.Accounting;

namespace Virtuoso.FrontEnd.Tests.Machines;

/// <summary>
/// The one writer (issue 13) when two drivers hold the same intent (a slow request and a replica's reconciler): one
/// begins undoing it, the other must not commit it; one commits it, the other must not undo it.
/// </summary>
public sealed class MachineWriterTests : IAsyncLifetime
{
    private ClockedMarket _market = null!;
    private MachineWriter _writer = null!;
    private HostRow _host = null!;
    private MachineRow _stored = null!;

    public async Task InitializeAsync()
    {
        _market = await ClockedMarket.StartAsync();
        var host = await _market.AddHostAsync();
        var buyer = await _market.SignupAsync(Roles.Buyer, "writer-buyer");
        var machine = await buyer.RegisterAsync("Configuration1", 3m, 1m);
        await buyer.StoreAsync(machine.Id, host.Name);
        _writer = _market.Service<MachineWriter>();
        var db = _market.Database.Database;
        _host = (await db.ReadAsync(c => HostQueries.ByNameAsync(c, host.Name)))!;
        _stored = await RowAsync(machine.Id);
    }

    public async Task DisposeAsync() => await _market.DisposeAsync();

    private Task<MachineRow> RowAsync(MachineId id) =>
        _market.Database.Database.ReadAsync(c => c.QuerySingleAsync<MachineRow>($"SELECT {MachineRow.Columns} FROM machines WHERE id = @id", new { id }));

    private Task<long> RunningChargesAsync() =>
        _market.Database.CountAsync("SELECT COUNT(*) FROM transfers WHERE machine = @m AND kind = 'running'", ("m", _stored.Id));

    [Fact]
    public async Task Commit_OfAnIntentAnotherDriverBeganUndoing_IsRefused_AndChargesNothing()
    {
        var intent = (await _writer.ClaimAsync(_stored, IntentAction.Start, _host.Name)).Value!;
        var other = (await _market.Database.Database.ReadAsync(c => c.QuerySingleAsync<IntentRow>($"SELECT {IntentRow.Columns} FROM machine_intents WHERE id = @Id", new { intent.Id })));

        Assert.True(await _writer.MarkUndoingAsync(intent, "your balance no longer covers a running period"));
        var late = await _writer.CommitAsync(other, _host); // the other driver's copy does not know it is being undone

        Assert.True(late.Gone);
        Assert.Equal(("stored", intent.Id), ((await RowAsync(_stored.Id)).StoredState, (await RowAsync(_stored.Id)).Intent));
        Assert.Equal(0L, await RunningChargesAsync());
    }

    [Fact]
    public async Task UndoMark_OfAnIntentAnotherDriverCommitted_IsRefused()
    {
        var intent = (await _writer.ClaimAsync(_stored, IntentAction.Start, _host.Name)).Value!;

        var committed = await _writer.CommitAsync(intent, _host);
        var undo = await _writer.MarkUndoingAsync(intent, "too late");

        Assert.Equal("running", committed.Row!.StoredState);
        Assert.False(undo);
        Assert.Equal(1L, await RunningChargesAsync());
    }

    [Fact]
    public async Task Commit_Twice_CommitsOnce()
    {
        var intent = (await _writer.ClaimAsync(_stored, IntentAction.Start, _host.Name)).Value!;

        var first = await _writer.CommitAsync(intent, _host);
        var second = await _writer.CommitAsync(intent, _host);

        Assert.Equal(("running", false, true), (first.Row!.StoredState, first.Gone, second.Gone));
        Assert.Equal(1L, await RunningChargesAsync());
    }
}
