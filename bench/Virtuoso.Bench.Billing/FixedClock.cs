namespace Virtuoso.Bench.Billing;

/// <summary>A clock stopped at one instant, so that the set of machines with a charge due is exact.</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
