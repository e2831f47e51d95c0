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

    [Theory]
    [InlineData("application/json; charset=bogus", "bogus")]
    [InlineData("application/json; charset=\"latin1\"", "latin1")]
    [InlineData("application/json; charset=", "")]
    [InlineData("application/json; charset=\"\"", "")]
    public async Task Register_WithAJsonCharsetOtherThanUtf8_Is415_AndRegistersNothing(string contentType, string charset)
    {
        // Issue 20: these gave 500 on every endpoint.
        var buyer = await market.SharedBuyerAsync();
        var before = (await buyer.MachinesAsync()).Count;
        var body = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"config":"Configuration1","storageBid":3,"runningBid":1}"""));
        body.Headers.TryAddWithoutValidation("Content-Type", contentType);

        var problem = await Problem.AssertAsync(await buyer.Http.PostAsync("/api/v1/machines", body), 415, ErrorCodes.Validation);

        Assert.Contains(charset == "" ? "charset ''" : $"charset '{charset}'", Problem.Detail(problem));
        Assert.Equal(before, (await buyer.MachinesAsync()).Count);
    }

    [Theory]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json; charset=\"UTF-8\"")]
    [InlineData("application/json")]
    public async Task Register_WithUtf8OrNoCharset_IsRead(string contentType)
    {
        var buyer = await market.SharedBuyerAsync();
        var body = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"config":"Configuration1","storageBid":3,"runningBid":1}"""));
        body.Headers.TryAddWithoutValidation("Content-Type", contentType);
        Assert.Equal(System.Net.HttpStatusCode.Created, (await buyer.Http.PostAsync("/api/v1/machines", body)).StatusCode);
    }

    [Fact]
    public async Task MalformedJson_IsAnsweredAs400_AndNotLoggedAsAnError()
    {
        // Issue 20: every 400 was logged as an error with a stack trace (4.9 KB for a 14-byte request).
        var buyer = await market.SharedBuyerAsync();
        var marker = "not json " + Guid.NewGuid().ToString("N");
        var body = new StringContent("{\"config\": " + marker, Encoding.UTF8, "application/json");
        var before = market.Logs.Entries.Count(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error);

        await Problem.AssertAsync(await buyer.Http.PostAsync("/api/v1/machines", body), 400, ErrorCodes.Validation);

        Assert.Equal(before, market.Logs.Entries.Count(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error));
    }
}
