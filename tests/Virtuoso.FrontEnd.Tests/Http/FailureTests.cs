using System.Reflection;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Http;

namespace Virtuoso.FrontEnd.Tests.Http;

/// <summary>Issue 13: a failure's HTTP status comes from one table of its code, not from the place that refuses.</summary>
public sealed class FailureTests
{
    [Fact]
    public void EveryStableCode_HasExactlyOneStatusAndTitle()
    {
        var codes = typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToList();

        Assert.Equal(codes.Order(), Failure.Table.Keys.Order());
        Assert.All(Failure.Table.Values, row => Assert.InRange(row.Status, 400, 599));
    }

    [Theory]
    [InlineData(ErrorCodes.Validation, 400)]
    [InlineData(ErrorCodes.InsufficientFunds, 402)]
    [InlineData(ErrorCodes.NotFound, 404)]
    [InlineData(ErrorCodes.Busy, 409)]
    [InlineData(ErrorCodes.RateLimited, 429)]
    [InlineData(ErrorCodes.AgentFailed, 502)]
    public void Status_IsTheCodesRow(string code, int status) => Assert.Equal(status, new Failure(code, "why").Status);

    [Fact]
    public void UnknownCode_IsABug_NotASilentStatus() =>
        Assert.Throws<InvalidOperationException>(() => new Failure("no-such-code", "why").Status);
}
