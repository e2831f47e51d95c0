using Virtuoso.Core.Billing;

namespace Virtuoso.Core.Tests.Billing;

/// <summary>Design §4: each charge has a unique key (machine, kind, period), numbered per stay on a host.</summary>
public sealed class ChargeKeyTests
{
    private static readonly Guid Machine = Guid.Parse("0123456789abcdef0123456789abcdef");
    private static readonly Guid Other = Guid.Parse("fedcba9876543210fedcba9876543210");

    [Fact]
    public void Keys_AreStable()
    {
        // Keys are stored in the ledger's unique index: changing their text would bill periods twice.
        Assert.Equal("machine:0123456789abcdef0123456789abcdef:stay:1:storage:0", ChargeKey.Storage(Machine, 1, 0));
        Assert.Equal("machine:0123456789abcdef0123456789abcdef:stay:2:running:3", ChargeKey.Running(Machine, 2, 3));
        Assert.Equal("machine:0123456789abcdef0123456789abcdef:registration-fee", ChargeKey.RegistrationFee(Machine));
        Assert.Equal("account:alice:opening-credit", ChargeKey.OpeningCredit("alice"));
    }

    [Fact]
    public void Keys_DifferByMachineKindStayAndPeriod()
    {
        var keys = new[]
        {
            ChargeKey.Storage(Machine, 1, 1),
            ChargeKey.Storage(Machine, 1, 2),
            ChargeKey.Storage(Machine, 2, 1),
            ChargeKey.Storage(Other, 1, 1),
            ChargeKey.Running(Machine, 1, 1),
            ChargeKey.Running(Machine, 1, 2),
            ChargeKey.Running(Machine, 2, 1),
            ChargeKey.Running(Other, 1, 1),
            ChargeKey.RegistrationFee(Machine),
            ChargeKey.RegistrationFee(Other),
        };

        Assert.Equal(keys.Length, keys.Distinct().Count());
    }

    [Fact]
    public void Keys_ForTheSameCharge_AreEqual()
    {
        Assert.Equal(ChargeKey.Running(Machine, 4, 7), ChargeKey.Running(Machine, 4, 7));
    }

    [Fact]
    public void Keys_StayAndPeriod_CannotBeConfused()
    {
        // stay 1 period 12 vs stay 11 period 2: the separators keep them apart.
        Assert.NotEqual(ChargeKey.Storage(Machine, 1, 12), ChargeKey.Storage(Machine, 11, 2));
    }
}
