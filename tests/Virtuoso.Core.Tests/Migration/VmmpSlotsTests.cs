using Virtuoso.Core.Migration;
using static Virtuoso.Core.Migration.VmmpAdmission;

namespace Virtuoso.Core.Tests.Migration;

/// <summary>Issue 20: who gets a VMMP connection slot (<see cref="VmmpAdmission"/>), and the slots that act on it.</summary>
public sealed class VmmpSlotsTests
{
    private static readonly VmmpLimits Limits = new(MaxConnections: 4, MaxPerPeer: 2);

    public static TheoryData<string, Held[], string, Verdict> Cases => new()
    {
        { "room: admitted", [new("a", false, 1)], "b", new(true, null) },
        { "its address full of pending: its own oldest pending makes room", [new("a", true, 1), new("a", false, 2)], "a", new(true, 2) },
        { "its address full, oldest first", [new("a", false, 3), new("a", false, 2)], "a", new(true, 2) },
        { "its address full of proven: refused", [new("a", true, 1), new("a", true, 2)], "a", new(false, null) },
        { "all full: the oldest pending of anyone", [new("a", true, 1), new("b", false, 5), new("c", false, 4), new("d", true, 2)], "e", new(true, 4) },
        { "all full of proven: refused", [new("a", true, 1), new("b", true, 2), new("c", true, 3), new("d", true, 4)], "e", new(false, null) },
        { "its address full but another's pending would be free: still its own", [new("a", true, 1), new("a", true, 2), new("b", false, 3)], "a", new(false, null) },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decide(string name, Held[] held, string peer, Verdict expected)
    {
        Assert.True(expected == VmmpAdmission.Decide(held, peer, Limits), name);
    }

    [Fact]
    public void Slots_EvictTheOldestUnproven_AndNeverAProvenOne()
    {
        var slots = new VmmpSlots(new VmmpLimits(MaxConnections: 3, MaxPerPeer: 3));
        var proven = slots.TryAdmit("front-end")!;
        proven.MarkProven();
        var stranger1 = slots.TryAdmit("x")!;
        var stranger2 = slots.TryAdmit("y")!;

        var newcomer = slots.TryAdmit("front-end");

        Assert.NotNull(newcomer);
        Assert.True(stranger1.WasEvicted);
        Assert.False(stranger2.WasEvicted || proven.WasEvicted);
        Assert.Equal(3, slots.Count);
        stranger1.Dispose(); // its connection ends later: the slot it no longer holds stays counted once
        Assert.Equal(3, slots.Count);
        newcomer!.Dispose();
        Assert.Equal(2, slots.Count);
    }

    [Theory]
    [InlineData(0, 1, "the connection limit must be at least 1")]
    [InlineData(4, 0, "the per-peer connection limit must be at least 1")]
    [InlineData(4, 5, "the per-peer connection limit cannot exceed the connection limit")]
    [InlineData(4, 4, null)]
    public void Limits_AreChecked(int max, int perPeer, string? error)
    {
        Assert.Equal(error, new VmmpLimits(max, perPeer).Check());
    }
}
