using Virtuoso.Core.Accounts;

namespace Virtuoso.Core.Tests.Accounts;

public sealed class LoginBackoffTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    private static TimeSpan Wait(int failures, double secondsSinceLast, int fromAddress = 0, double oldestAgo = 0, int perAddress = 30) =>
        LoginBackoff.WaitBeforeAttempt(failures, failures == 0 ? null : Now.AddSeconds(-secondsSinceLast), fromAddress,
            fromAddress == 0 ? null : Now.AddSeconds(-oldestAgo), perAddress, Now);

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void The_first_failures_are_free(int failures) => Assert.Equal(TimeSpan.Zero, Wait(failures, 0));

    [Theory]
    [InlineData(5, 0, 30)]
    [InlineData(5, 10, 20)]
    [InlineData(5, 30, 0)]
    [InlineData(6, 0, 60)]
    [InlineData(7, 0, 120)]
    [InlineData(9, 0, 480)]
    [InlineData(10, 0, 900)]
    [InlineData(25, 0, 900)]
    [InlineData(1000, 0, 900)]
    public void Then_each_failure_doubles_the_wait_up_to_fifteen_minutes(int failures, double since, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), Wait(failures, since));

    [Fact]
    public void An_address_with_too_many_failures_in_a_minute_waits_until_the_oldest_is_a_minute_old()
    {
        Assert.Equal(TimeSpan.Zero, Wait(0, 0, fromAddress: 29, oldestAgo: 10));
        Assert.Equal(TimeSpan.FromSeconds(50), Wait(0, 0, fromAddress: 30, oldestAgo: 10));
        Assert.Equal(TimeSpan.FromSeconds(50), Wait(5, 25, fromAddress: 30, oldestAgo: 10)); // the longer of the two
    }

    [Fact]
    public void The_refusal_says_how_long_to_wait_in_plain_words() =>
        Assert.Equal("too many failed log-ins: try again in 1 min", LoginBackoff.Say(TimeSpan.FromSeconds(59.2)));
}
