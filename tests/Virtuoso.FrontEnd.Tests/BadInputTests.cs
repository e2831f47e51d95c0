using System.Text;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests;

/// <summary>Bad input found by hand before a stop: each is refused with a stable code and changes nothing.</summary>
public sealed class BadInputTests(MarketFixture market) : IClassFixture<MarketFixture>
{
    [Fact]
    public async Task Store_WithoutAHost_IsAValidationError_NotAMissingHost()
    {
        var buyer = await market.SharedBuyerAsync();
        var machine = await buyer.RegisterAsync("Configuration1", 3m, 1m);

        var problem = await Problem.AssertAsync(await buyer.PostAsync($"/api/v1/machines/{machine.Id:D}/store", new { }), 400, ErrorCodes.Validation);

        Assert.Contains("host", Problem.Detail(problem));
        Assert.Equal("registered", (await buyer.MachineAsync(machine.Id)).State);
    }

    [Fact]
    public async Task Register_WithABodyThatIsNotJson_IsAValidationProblem()
    {
        var buyer = await market.SharedBuyerAsync();
        var before = (await buyer.MachinesAsync()).Count;

        var response = await buyer.Http.PostAsync("/api/v1/machines", new StringContent("config=Configuration1", Encoding.UTF8, "text/plain"));

        var problem = await Problem.AssertAsync(response, 415, ErrorCodes.Validation);
        Assert.Contains("JSON", Problem.Detail(problem));
        Assert.Equal(before, (await buyer.MachinesAsync()).Count);
    }
}
