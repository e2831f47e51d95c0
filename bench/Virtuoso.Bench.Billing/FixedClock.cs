namespace Virtuoso.Bench.Billing;

/// <summary>A clock stopped at one instant, so that the set of machines with a charge due is exact.</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}

/// <summary>
/// The benchmark's buyers can pay every charge, so a pass must never suspend a machine through its agent. Should
/// it try, the run fails loudly instead of timing an HTTP timeout.
/// </summary>
internal sealed class NoAgents : IHttpClientFactory
{
    public HttpClient CreateClient(string name) =>
        throw new InvalidOperationException("the billing pass called an agent: a buyer could not pay and a machine was being suspended");
}
