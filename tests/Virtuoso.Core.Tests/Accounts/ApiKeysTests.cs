using Virtuoso.Core.Accounts;

namespace Virtuoso.Core.Tests.Accounts;

public sealed class ApiKeysTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("12h", 12)]
    [InlineData("1h", 1)]
    [InlineData("30d", 30 * 24)]
    [InlineData(" 90D ", 90 * 24)]
    [InlineData("365d", 365 * 24)]
    [InlineData("8760h", 365 * 24)]
    public void Lifetime_InHoursOrDays_WithinAYear_IsAccepted(string text, int hours)
    {
        Assert.True(ApiKeys.ParseLifetime(text, out var lifetime, out var error), error);
        Assert.Equal(TimeSpan.FromHours(hours), lifetime);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("never")]
    [InlineData("NEVER")]
    public void Lifetime_NeverOrNothing_IsAKeyWithoutExpiry(string? text)
    {
        Assert.True(ApiKeys.ParseLifetime(text, out var lifetime, out _));
        Assert.Null(lifetime);
    }

    [Theory]
    [InlineData("0d")]
    [InlineData("0h")]
    [InlineData("366d")]
    [InlineData("8761h")]
    [InlineData("30")]
    [InlineData("30m")]
    [InlineData("-1d")]
    [InlineData("1.5d")]
    [InlineData("30 d")]
    [InlineData("9999999d")]
    [InlineData("forever")]
    public void Lifetime_OtherwiseIsRefusedWithTheAcceptedForm(string text)
    {
        Assert.False(ApiKeys.ParseLifetime(text, out var lifetime, out var error));
        Assert.Null(lifetime);
        Assert.Contains("12h, 30d or 365d", error);
    }

    [Theory]
    [InlineData("ci")]
    [InlineData("terraform.prod-2")]
    [InlineData("A")]
    public void Name_LettersDigitsDotUnderscoreDash_IsAccepted(string name) => Assert.Null(ApiKeys.NameError(name));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("-ci")]
    [InlineData("with space")]
    [InlineData("slash/name")]
    [InlineData("ci\n")]
    [InlineData("me@work")]
    public void Name_OtherwiseIsRefused(string? name) => Assert.NotNull(ApiKeys.NameError(name));

    [Fact]
    public void Name_Of64Characters_IsRefused()
    {
        Assert.Null(ApiKeys.NameError(new string('a', 63)));
        Assert.NotNull(ApiKeys.NameError(new string('a', 64)));
    }

    [Theory]
    [InlineData("read", ApiKeyScope.Read)]
    [InlineData("READ", ApiKeyScope.Read)]
    [InlineData("write", ApiKeyScope.Write)]
    public void Scope_ReadOrWrite_IsParsed(string text, ApiKeyScope scope) => Assert.Equal(scope, ApiKeys.ParseScope(text));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("admin")]
    [InlineData("read,write")]
    public void Scope_OtherwiseIsNone(string? text) => Assert.Null(ApiKeys.ParseScope(text));

    [Theory]
    [InlineData("GET", true)]
    [InlineData("HEAD", true)]
    [InlineData("get", true)]
    [InlineData("POST", false)]
    [InlineData("PUT", false)]
    [InlineData("PATCH", false)]
    [InlineData("DELETE", false)]
    [InlineData("OPTIONS", false)]
    public void ReadKey_MayOnlyLook(string method, bool permitted) => Assert.Equal(permitted, ApiKeys.Permits(ApiKeyScope.Read, method));

    [Theory]
    [InlineData("GET")]
    [InlineData("POST")]
    [InlineData("DELETE")]
    [InlineData("PATCH")]
    public void WriteKey_MayDoAnything(string method) => Assert.True(ApiKeys.Permits(ApiKeyScope.Write, method));

    [Fact]
    public void Expired_AtTheInstantOfExpiry_AndNeverWithoutOne()
    {
        Assert.False(ApiKeys.Expired(null, Now));
        Assert.False(ApiKeys.Expired(Now.AddTicks(1), Now));
        Assert.True(ApiKeys.Expired(Now, Now));
        Assert.True(ApiKeys.Expired(Now.AddDays(-1), Now));
    }

    [Fact]
    public void Key_IsToldByItsPrefix()
    {
        Assert.True(ApiKeys.LooksLikeKey("vk_abc"));
        Assert.False(ApiKeys.LooksLikeKey("abc"));
        Assert.False(ApiKeys.LooksLikeKey("VK_abc"));
    }
}
