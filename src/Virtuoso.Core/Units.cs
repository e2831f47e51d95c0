namespace Virtuoso.Core;

/// <summary>An amount of money in dollars. Exact (<see cref="decimal"/>), shown unrounded (design §4).</summary>
public readonly record struct Money(decimal Dollars) : IComparable<Money>
{
    public static readonly Money Zero = new(0m);
    public static Money operator +(Money a, Money b) => new(a.Dollars + b.Dollars);
    public static Money operator -(Money a, Money b) => new(a.Dollars - b.Dollars);
    public static Money operator -(Money a) => new(-a.Dollars);
    public static Money operator *(Money a, decimal k) => new(a.Dollars * k);
    public static bool operator <(Money a, Money b) => a.Dollars < b.Dollars;
    public static bool operator >(Money a, Money b) => a.Dollars > b.Dollars;
    public static bool operator <=(Money a, Money b) => a.Dollars <= b.Dollars;
    public static bool operator >=(Money a, Money b) => a.Dollars >= b.Dollars;
    public int CompareTo(Money other) => Dollars.CompareTo(other.Dollars);
    /// <summary>Invariant, unrounded, without trailing zeros: 2.448, 0.3744, 1E-09 as 0.000000001.</summary>
    public override string ToString() => Format(Dollars);
    public static string Format(decimal d) => d.ToString("0.############################", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A size in megabytes (memory or disk).</summary>
public readonly record struct Megabytes(long Value)
{
    public override string ToString() => $"{Value} MB";
}

/// <summary>A processor speed in bogomips (§6.1.6 footnote 23).</summary>
public readonly record struct Bogomips(long Value)
{
    public override string ToString() => $"{Value} bogomips";
}

/// <summary>What a machine needs from a host: speed, memory and disk.</summary>
public sealed record MachineSpec(Bogomips Speed, Megabytes Memory, Megabytes Disk);
