using Virtuoso.Core.Market;

namespace Virtuoso.Core.Tests.Market;

/// <summary>Issue 18: every mismatch reason as a stable code and as a sentence a buyer understands.</summary>
public sealed class MismatchTextTests
{
    private static readonly HostPricing Virt13 = new(1000, 0.00001m, 4, 0.000001m, 3600, 100, 0.1m, 30); // $30/month, $0.3744/h
    private static readonly MachineSpec Busybox = new(new Bogomips(4000), new Megabytes(256), new Megabytes(1000));

    // Free: 3000 bogomips, 128 MB, 500 MB; offline.
    private static readonly HostOffer Cramped = new("beta", false,
        new HostCapacity(new MachineSpec(new Bogomips(10000), new Megabytes(4096), new Megabytes(20000)),
            new MachineSpec(new Bogomips(7000), new Megabytes(3968), new Megabytes(19500))), Virt13);

    private static readonly Bids Low = new(new Money(3m), new Money(0.3m));

    private static HostMatch Match => Matching.Judge(Cramped, Busybox, Low);

    [Theory]
    [InlineData(MismatchReason.Offline, "offline")]
    [InlineData(MismatchReason.NotEnoughSpeed, "not-enough-speed")]
    [InlineData(MismatchReason.NotEnoughMemory, "not-enough-memory")]
    [InlineData(MismatchReason.NotEnoughStorage, "not-enough-storage")]
    [InlineData(MismatchReason.OverStorageBid, "over-storage-bid")]
    [InlineData(MismatchReason.OverRunningBid, "over-running-bid")]
    public void Code_IsTheStableCode(MismatchReason reason, string code)
    {
        Assert.Equal(code, MismatchText.Code(reason));
    }

    [Theory]
    [InlineData(MismatchReason.Offline, "This host is offline: its provider's agent has not answered lately.")]
    [InlineData(MismatchReason.NotEnoughSpeed, "This host has 3000 bogomips of processor speed free; the machine needs 4000.")]
    [InlineData(MismatchReason.NotEnoughMemory, "This host has 128 MB of memory free; the machine needs 256 MB.")]
    [InlineData(MismatchReason.NotEnoughStorage, "This host has 500 MB of disk free; the machine needs 1000 MB.")]
    [InlineData(MismatchReason.OverStorageBid, "Your storage bid ($3/month) is below this host's price ($30/month).")]
    [InlineData(MismatchReason.OverRunningBid, "Your running bid ($0.3/hour) is below this host's price ($0.3744/hour).")]
    public void Sentence_SaysWhyWithTheFigures(MismatchReason reason, string sentence)
    {
        Assert.Contains(reason, Match.Reasons); // the host really fails for this reason
        Assert.Equal(sentence, MismatchText.Sentence(reason, Match, Busybox, Low));
    }

    [Fact]
    public void EveryReason_HasACodeAndASentence_AllDistinct()
    {
        var reasons = Enum.GetValues<MismatchReason>();

        Assert.Equal(reasons.Length, reasons.Select(MismatchText.Code).Distinct().Count());
        Assert.Equal(reasons.Length, reasons.Select(r => MismatchText.Sentence(r, Match, Busybox, Low)).Distinct().Count());
        // No internal code leaks into a sentence ("offline" is a plain word, the hyphenated ones are not).
        Assert.All(reasons.Where(r => MismatchText.Code(r).Contains('-')),
            r => Assert.DoesNotContain(MismatchText.Code(r), MismatchText.Sentence(r, Match, Busybox, Low)));
    }

    [Fact]
    public void Sentence_OverReservedHost_SaysNoneFreeRatherThanANegativeAmount()
    {
        var over = Cramped with { Capacity = new HostCapacity(Busybox, new MachineSpec(new Bogomips(5000), new Megabytes(0), new Megabytes(0))) };
        var match = Matching.Judge(over, Busybox, Low);

        Assert.Equal("This host has 0 bogomips of processor speed free; the machine needs 4000.",
            MismatchText.Sentence(MismatchReason.NotEnoughSpeed, match, Busybox, Low));
    }
}
